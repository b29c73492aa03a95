/**
 * Fuzzing the control socket: for a fixed time, many connections send
 * random lengths, random bytes, random JSON shapes (known operations with
 * fields of every type) and descriptors of every kind (pipes, files,
 * sockets, taps, /dev/null, directories), and hang up at random points.
 * Afterwards the daemon forwards, answers, and its RSS and fd count are
 * back within bounds. The daemon runs in its own network namespace, so a
 * `host-add` or `vxlan-add` the fuzzer happens to get right stays there.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient, MAX_FRAME, closeFd, encodeFrame, native, openTap, sendWithFd, socketFd } from '@containet/common';
import { Cleanup, makeNetns, pingFrom, sleep, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { node, startDaemon } from './helpers.js';

const FUZZ_MS = 12_000;
const WORKERS = 24;
const OPS = ['hello', 'attach', 'detach', 'ports', 'macs', 'status', 'subscribe', 'capture', 'host-add', 'vxlan-show', 'vxlan-add', 'vxlan-remote-add', 'vxlan-remote-del', 'frobnicate', '', '__proto__', 'constructor'];

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function rss(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0) * 1024;
}

function pick<T>(list: readonly T[]): T {
  return list[randomInt(list.length)]!;
}

/** A random JSON value, nested up to `depth`. */
function value(depth: number): unknown {
  switch (randomInt(depth > 0 ? 10 : 7)) {
    case 0: return null;
    case 1: return randomInt(2) === 0;
    case 2: return pick([0, -1, 1, 2 ** 31, 2 ** 53 + 1, 1e308, -0.5, 3.7, randomInt(1_000_000)]);
    case 3: return randomBytes(randomInt(1, 24)).toString('base64');
    case 4: return 'x'.repeat(pick([0, 15, 16, 64, 65, 4096, 60_000]));
    case 5: return pick(['all', 'eth0', '10.0.0.1/24', '127.0.0.1:4789', '02:00:00:00:00:01', '../etc', 'a'.repeat(63), '0.0.0.0', '224.0.0.1', '1']);
    case 6: return pick(OPS);
    case 7: return Array.from({ length: randomInt(pick([3, 70, 200])) }, () => value(depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = randomInt(6); i > 0; i--) o[pick(['op', 'id', 'node', 'port', 'mac', 'addresses', 'persist', 'snaplen', 'address', 'nat', 'vni', 'local', 'remote', 'remotes', 'mtu', 'macs', 'counters', '__proto__'])] = value(depth - 1);
      return o;
    }
  }
}

/** A request-like object: mostly a known op with random fields, never a detach of `keep`. */
function requestLike(keep: Set<string | number>): unknown {
  const r = value(2);
  if (randomInt(4) === 0 || r === null || typeof r !== 'object' || Array.isArray(r)) return r;
  const o = r as Record<string, unknown>;
  o['op'] = pick(OPS);
  if (randomInt(4) !== 0) o['id'] = randomInt(1000);
  if (o['op'] === 'detach' && keep.has(o['port'] as string | number)) o['port'] = 'nobody';
  if (o['op'] === 'host-add') o['address'] = pick(['10.250.0.1/24', 'bad', '300.1.1.1/8']);
  return o;
}

/** Bytes to send: a frame of random JSON, of random bytes, a bad length, or a piece of one. */
function payload(keep: Set<string | number>): Buffer {
  switch (randomInt(6)) {
    case 0: return randomBytes(randomInt(1, 2048));
    case 1: {
      const body = randomBytes(randomInt(0, 512));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      return Buffer.concat([len, body]);
    }
    case 2: {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(pick([MAX_FRAME + 1, 0xffffffff, 1 << 30]));
      return len;
    }
    default: {
      let frame: Buffer;
      try {
        frame = encodeFrame(requestLike(keep));
      } catch {
        frame = encodeFrame({ op: 'status', id: 1 });
      }
      return randomInt(8) === 0 ? frame.subarray(0, randomInt(frame.length)) : frame;
    }
  }
}

testIf(test, whyNoRoot(), `fuzzing the control socket for ${FUZZ_MS / 1000} s: the daemon forwards, answers, and its memory and fds come back`, async () => {
  const cleanup = new Cleanup();
  try {
    const daemonNs = await makeNetns(cleanup, 'cnfz');
    const d = await startDaemon(cleanup, [], undefined, daemonNs);
    const pid = d.child.pid!;
    const a = await node(cleanup, d.socket, '10.92.0.1/24');
    const b = await node(cleanup, d.socket, '10.92.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const c0 = await ControlClient.connect(d.socket);
    const keepPorts = (await c0.request({ op: 'ports' })).ports;
    c0.close();
    const keep = new Set<string | number>(keepPorts.flatMap((p) => [p.port, String(p.port), p.node]));
    const fds0 = fdCount(pid);
    const rss0 = rss(pid);

    // Descriptors of every kind to pass along.
    const dir = join(tmpdir(), uniqueName('cnfuzz'));
    mkdirSync(dir);
    cleanup.add('fuzz dir', () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'file'), 'not a tap');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    // Taps are few: every one the daemon attaches and drops is a netdev
    // unregistered in close() (an RCU grace period on the closing thread).
    const makeFd = (): number => {
      switch (randomInt(randomInt(40) === 0 ? 6 : 5)) {
        case 0: return openSync(join(dir, 'file'), 'r');
        case 1: return openSync(join(dir, 'fifo'), 'r+'); // a pipe (O_RDWR on a FIFO)
        case 2: return openSync('/dev/null', 'r+');
        case 3: return openSync(dir, 'r');
        case 4: {
          const pair = new Int32Array(2);
          if (Number(native().cn_capture_pair(pair)) < 0) return openSync('/dev/null', 'r');
          closeFd(pair[0]!);
          return pair[1]!;
        }
        default: return openTap('', { vnetHdr: randomInt(2) === 0 }).fd;
      }
    };

    let sent = 0;
    let replies = 0;
    const deadline = Date.now() + FUZZ_MS;
    const worker = async () => {
      while (Date.now() < deadline) {
        const sock: Socket = connect(d.socket);
        sock.on('error', () => {});
        sock.on('data', () => replies++);
        const ok = await new Promise<boolean>((res) => {
          sock.once('connect', () => res(true));
          sock.once('error', () => res(false));
        });
        if (!ok) {
          await sleep(10);
          continue;
        }
        const rounds = randomInt(1, 12);
        for (let i = 0; i < rounds && !sock.destroyed; i++) {
          const bytes = payload(keep);
          if (randomInt(3) === 0) {
            const fd = makeFd();
            try {
              sendWithFd(socketFd(sock), bytes, fd, 100);
            } catch {
              // the daemon hung up or its buffer is full
            } finally {
              closeSync(fd);
            }
          } else sock.write(bytes);
          sent++;
          if (randomInt(4) === 0) await sleep(randomInt(20));
        }
        // Hang up at once, later, or after reading for a while.
        await sleep(pick([0, 0, 5, 50, 200]));
        sock.destroy();
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, () => worker()));
    const rssFuzz = rss(pid);

    // Ports a lucky request attached with persist: true stay by design; detach them.
    const c = await ControlClient.connect(d.socket, { timeoutMs: 20_000 }).catch((err: Error) => {
      const tasks = readdirSync(`/proc/${pid}/task`).map((t) => `${readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim()}:${readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8')}:${readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(' ')[2]}`);
      throw new Error(`${err.message}; daemon exit ${d.child.exitCode}; fds ${fdCount(pid)}; tasks ${tasks.join(' ')}; log:\n${d.log().split('\n').slice(-5).join('\n')}`);
    });
    for (const p of (await c.request({ op: 'ports' })).ports) if (!keep.has(p.port)) await c.request({ op: 'detach', port: p.port }).catch(() => {});
    const { status } = await c.request({ op: 'status' });
    c.close();
    assert.is(status.ports, 2, 'a and b still attached');
    assert.is(await pingFrom(a.ns, b.ip, 3), 3, 'a and b still talk');
    const fdKinds = () => {
      const kinds = new Map<string, number>();
      for (const f of readdirSync(`/proc/${pid}/fd`)) {
        let t = '?';
        try {
          t = readlinkSync(`/proc/${pid}/fd/${f}`).replace(/\d+/g, 'N');
        } catch {
          // gone meanwhile
        }
        kinds.set(t, (kinds.get(t) ?? 0) + 1);
      }
      return JSON.stringify([...kinds]);
    };
    await waitFor(() => fdCount(pid) <= fds0 + 1, `daemon fds back to ${fds0} (are ${fdCount(pid)}: ${fdKinds()})`, 10_000);
    const rssAfter = rss(pid);
    console.log(`  ${sent} fuzz messages, ${replies} reply chunks; daemon RSS ${(rss0 / 1048576).toFixed(1)} MiB before, ${(rssFuzz / 1048576).toFixed(1)} at the end of the fuzzing, ${(rssAfter / 1048576).toFixed(1)} after; fds ${fds0} -> ${fdCount(pid)}; ${status.clients.refused} refused, ${status.clients.dropped} dropped`);
    assert.ok(sent > 1000, `${sent} messages sent`);
    assert.ok(rssFuzz < 256 * 1048576, `RSS ${rssFuzz} within the budget`);
    assert.ok(rssAfter < rss0 + 64 * 1048576, `RSS ${rssAfter} back near ${rss0}`);
    assert.is(d.child.exitCode, null, 'the daemon is alive');
    assert.not.match(d.log(), /internal error/, 'no error reached the last line of defence');
  } finally {
    await cleanup.run();
  }
});

test.run();
