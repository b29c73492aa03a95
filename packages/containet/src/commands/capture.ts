/**
 * `containet capture PORT|all -w FILE|- [FILTER...]`: mirror a port's
 * frames (both directions; `all`: every frame once) into a pcap file or
 * stdout, only those a pcap-filter(7) expression matches when one is given
 * (run in the datapath: capture-filter.ts). The
 * daemon's datapath writes the pcap stream straight into a socket we pass
 * it, so a slow or vanished reader only loses records, never slows the
 * switch.
 */
import { createWriteStream } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { check, closeFd, ControlClient, DEFAULT_SOCKET, native, UsageError } from '@containet/common';
import { checkCaptureFilter } from '../capture-filter.js';

export const commandNames = ['capture'];

export const help =
  'Capture the frames of a port (id or node identity; "all" for every frame) into a pcap file (-w FILE) or stdout (-w -), readable by tcpdump -r and tshark; with FILTER (pcap-filter(7), as tcpdump takes it: icmp, tcp port 80, host 10.0.0.2) only the frames it matches, filtered in the datapath. Large TCP (GSO) frames are written (and filtered) as the segments on the wire. Stops on Ctrl-C, after -c frames, or when the port goes.';

export interface CaptureOptions {
  socket?: string;
  write?: string;
  count?: string | number;
  snaplen?: string | number;
  /** Called once the switch is capturing, with its capture id. */
  onReady?: (capture: number, port: number) => void;
}

const PCAP_GLOBAL = 24;
const PCAP_RECORD = 16;

/**
 * Passes a pcap stream through until `limit` records have gone by, then
 * reports done; counts records either way.
 */
export class PcapCounter {
  records = 0;
  #need = PCAP_GLOBAL;
  #inHeader = true;
  #global = true;
  #hdr = Buffer.alloc(PCAP_RECORD);
  #hdrFill = 0;
  readonly #limit: number;

  constructor(limit = Infinity) {
    this.#limit = limit;
  }

  get done(): boolean {
    return this.records >= this.#limit;
  }

  /** The part of `chunk` to keep: everything up to the end of the last wanted record. */
  push(chunk: Buffer): Buffer {
    let at = 0;
    while (at < chunk.length) {
      if (this.#global) {
        const take = Math.min(this.#need, chunk.length - at);
        at += take;
        this.#need -= take;
        if (this.#need === 0) {
          this.#global = false;
          this.#inHeader = true;
          this.#hdrFill = 0;
        }
        continue;
      }
      if (this.#inHeader) {
        if (this.records >= this.#limit) return chunk.subarray(0, at);
        const take = Math.min(PCAP_RECORD - this.#hdrFill, chunk.length - at);
        chunk.copy(this.#hdr, this.#hdrFill, at, at + take);
        this.#hdrFill += take;
        at += take;
        if (this.#hdrFill === PCAP_RECORD) {
          this.#inHeader = false;
          this.#need = this.#hdr.readUInt32LE(8);
        }
        continue;
      }
      const take = Math.min(this.#need, chunk.length - at);
      at += take;
      this.#need -= take;
      if (this.#need === 0) {
        this.records++;
        this.#inHeader = true;
        this.#hdrFill = 0;
      }
    }
    return chunk;
  }
}

function wholeNumber(v: string | number | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const text = String(v);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`invalid ${name}: ${JSON.stringify(text)}`, `give a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** Runs until stopped; resolves with the summary line (for stderr). */
export async function handler(opts: CaptureOptions, args: string[], stop?: Promise<unknown>): Promise<string> {
  const [which, ...words] = args;
  if (which === undefined || which === '') throw new UsageError('capture takes one PORT: a port id, a node identity or "all"', 'see containet capture --help');
  // As tcpdump: the words after the port are one expression. A bad one is a usage error before anything starts.
  const filter = words.join(' ').trim();
  if (filter !== '') checkCaptureFilter(filter);
  if (opts.write === undefined || opts.write === '') throw new UsageError('capture needs -w FILE (or -w - for stdout)');
  const limit = wholeNumber(opts.count, '-c', 1, Number.MAX_SAFE_INTEGER);
  const snaplen = wholeNumber(opts.snaplen, '--snaplen', 64, 262144);
  const port = which === 'all' ? 'all' : /^\d+$/.test(which) ? Number(which) : which;

  const pair = new Int32Array(2);
  check(Number(native().cn_capture_pair(pair)), 'socketpair');
  const [readFd, writeFd] = [pair[0]!, pair[1]!];
  let ended!: (why: string) => void;
  const finished = new Promise<string>((resolve) => (ended = resolve));
  let client: ControlClient;
  try {
    client = await ControlClient.connect(opts.socket ?? DEFAULT_SOCKET, { onClose: () => ended('the switch closed the connection') });
    try {
      const reply = await client.request({ op: 'capture', port, ...(snaplen ? { snaplen } : {}), ...(filter ? { filter } : {}) }, writeFd);
      opts.onReady?.(reply.capture, reply.port);
    } catch (err) {
      client.close();
      throw err;
    }
  } catch (err) {
    closeFd(readFd);
    throw err;
  } finally {
    closeFd(writeFd);
  }

  const out: Writable = opts.write === '-' ? process.stdout : createWriteStream(opts.write);
  const counter = new PcapCounter(limit);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  reader.on('data', (chunk: Buffer) => {
    const keep = counter.push(chunk);
    if (keep.length) out.write(keep);
    if (counter.done) ended('count reached');
  });
  reader.on('end', () => ended('the port went away'));
  reader.on('error', (err) => ended(err.message));
  out.on('error', () => ended('output closed'));
  const onSignal = () => ended('interrupted');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  stop?.then(() => ended('stopped'));

  await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  reader.destroy();
  client.close();
  if (out !== process.stdout) await new Promise<void>((resolve) => out.end(resolve));
  return `${counter.records} frames captured\n`;
}
