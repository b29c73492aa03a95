/**
 * One control connection, as the daemon sees it: who is on the other end
 * (SO_PEERCRED), what it has asked, and the bounded queue of what we send
 * it. Nothing sent here can throw or grow without bound: a message too big
 * for a frame becomes an error reply, a listing goes out in parts only as
 * fast as the peer takes them, and a peer that lets more than
 * `queuedBytes` pile up is reported to the server, which drops it.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, MAX_FRAME, closeFd, frameJson, type ErrorBody, type PeerCred } from '@containet/common';

export interface Connection {
  readonly id: number;
  readonly cred: PeerCred;
  readonly closed: boolean;
  /** Send a reply or an event. Never throws; see ControlConnection. */
  send(message: object): void;
  /** Send an event already turned into JSON (one encoding for many subscribers). */
  sendJson(json: string): void;
  /** "connection 7 (pid 123, uid 0)", for log lines. */
  readonly name: string;
}

/** A listing sent in parts: the list is made only once the listing may start. */
export class Listing {
  constructor(
    readonly key: string,
    readonly items: () => readonly unknown[],
  ) {}
}

export interface ConnectionLimits {
  /** Bytes of replies and events a peer may leave unread before it is dropped. */
  queuedBytes: number;
  /** The next part of a listing is written once less than this is queued. */
  listingLowWater: number;
}

/** The JSON of a listing's part is kept under this (the frame's other fields fit in the rest). */
const PART_BYTES = MAX_FRAME - 1024;

export class ControlConnection implements Connection {
  readonly id: number;
  readonly cred: PeerCred;
  readonly fd: number;
  readonly sock: Socket;
  readonly decoder = new FrameDecoder(closeFd);
  readonly name: string;
  readonly openedAt = Date.now();
  /** When the last request came; 0 before the first. */
  lastRequestAt = 0;
  /** Requests whose replies are not yet sent. */
  inFlight = 0;
  /** Frames read while a listing was being sent: handled once it is done. */
  backlog: Array<{ message: unknown; fd: number }> = [];
  /** Its fd is in the poller. */
  watched = false;
  /** A turn of the event loop is booked to handle more of the backlog. */
  turnScheduled = false;
  /** A listing waits for its turn (ListingGate). */
  listingQueued = false;
  /** When the listing being sent last made progress; 0 with none. */
  listingSince = 0;
  closed = false;
  readonly #limits: ConnectionLimits;
  readonly #overflow: (conn: ControlConnection, why: string) => void;
  readonly #log: (line: string) => void;

  constructor(
    id: number,
    sock: Socket,
    fd: number,
    cred: PeerCred,
    limits: ConnectionLimits,
    overflow: (conn: ControlConnection, why: string) => void,
    log: (line: string) => void,
  ) {
    this.id = id;
    this.sock = sock;
    this.fd = fd;
    this.cred = cred;
    this.name = `connection ${id} (pid ${cred.pid}, uid ${cred.uid})`;
    this.#limits = limits;
    this.#overflow = overflow;
    this.#log = log;
  }

  send(message: object): void {
    if (this.closed) return;
    let json: string;
    try {
      json = JSON.stringify(message);
    } catch (err) {
      this.#log(`control: ${this.name}: cannot encode a message: ${(err as Error).message}`);
      return;
    }
    if (Buffer.byteLength(json) > MAX_FRAME) {
      const reply = message as { id?: unknown; ok?: unknown };
      this.#log(`control: ${this.name}: a ${String((message as { event?: unknown }).event ?? 'reply')} of ${Buffer.byteLength(json)} bytes exceeds the frame limit`);
      if (typeof reply.id === 'number' && 'ok' in reply) {
        this.send({ id: reply.id, ok: false, error: { code: 'CN_PROTO_TOO_LARGE', message: `the reply would exceed ${MAX_FRAME} bytes` } satisfies ErrorBody });
      }
      return;
    }
    this.#write(frameJson(json));
  }

  sendJson(json: string): void {
    if (this.closed) return;
    let frame: Buffer;
    try {
      frame = frameJson(json);
    } catch {
      this.#log(`control: ${this.name}: an event of ${Buffer.byteLength(json)} bytes exceeds the frame limit; not sent`);
      return;
    }
    this.#write(frame);
  }

  /**
   * Send `items` as the reply to request `id` in parts of at most one
   * frame, each written once the peer has taken enough of the previous
   * ones. Resolves when the last part is queued or the connection closed.
   */
  sendListing(id: number, key: string, items: readonly unknown[]): Promise<void> {
    const head = `{"id":${id},"ok":true,`;
    let at = 0;
    let skipped = 0;
    this.listingSince = Date.now();
    return new Promise<void>((resolve) => {
      const onClose = () => {
        this.listingSince = 0;
        resolve();
      };
      this.sock.once('close', onClose);
      const pump = () => {
        while (!this.closed) {
          if (this.sock.writableLength >= this.#limits.listingLowWater) {
            this.sock.once('drain', pump);
            return;
          }
          this.listingSince = Date.now();
          const parts: string[] = [];
          let size = 0;
          while (at < items.length) {
            const json = JSON.stringify(items[at]) ?? 'null';
            const bytes = Buffer.byteLength(json);
            if (bytes > PART_BYTES) {
              skipped++; // cannot happen for ports and MAC entries, whose fields are bounded
              at++;
              continue;
            }
            if (size + bytes + 1 > PART_BYTES) break;
            parts.push(json);
            size += bytes + 1;
            at++;
          }
          const last = at >= items.length;
          this.#write(frameJson(`${head}${last ? '' : '"more":true,'}${JSON.stringify(key)}:[${parts.join(',')}]}`));
          if (last) break;
        }
        if (skipped) this.#log(`control: ${this.name}: ${skipped} ${key} entries too big for a frame left out of a listing`);
        this.sock.off('close', onClose);
        this.listingSince = 0;
        resolve();
      };
      pump();
    });
  }

  #write(frame: Buffer): void {
    this.sock.write(frame);
    if (this.sock.writableLength > this.#limits.queuedBytes) {
      this.#overflow(this, `left ${this.sock.writableLength} bytes of replies and events unread (limit ${this.#limits.queuedBytes})`);
    }
  }
}
