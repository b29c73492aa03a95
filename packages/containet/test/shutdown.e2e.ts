/**
 * SIGTERM and SIGINT end `containet -s SOCK` within 2 s whatever it is doing:
 * idle, with ports, while a port floods it, with hundreds of control clients
 * (some never reading), with captures whose readers never read, with
 * dashboard clients, with a host port and NAT rules. It exits 0, removes its
 * socket and leaves no process or rule.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { encodeFrame } from '@containet/common';
import { Cleanup, inNetns, killAndWait, makeNetns, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, portInfo, startDaemon, type RunningDaemon } from './helpers.js';

const INJECT = fileURLToPath(new URL('./fixtures/inject.js', import.meta.url));
const root = whyNoRoot();

// The host-port daemon keeps its gateway record in a private state directory,
// never among the machine's own.
process.env['CONTAINET_STATE'] = mkdtempSync(join(tmpdir(), 'cn-state-'));
process.on('exit', () => rmSync(process.env['CONTAINET_STATE']!, { recursive: true, force: true }));

/** Pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Send `signal` and check the daemon is gone within 2 s: exit status 0, its
 * socket removed, its threads (the datapath's, the pollers') and any child
 * gone with it.
 */
async function signalAndCheck(d: RunningDaemon, signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  const pid = d.child.pid!;
  const names = readdirSync(`/proc/${pid}/task`).map((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  });
  assert.ok(names.includes('cn-switch') && names.includes('cn-poll'), `the datapath and poll threads run before the signal: ${names.join(', ')}`);
  const children = childrenOf(pid);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => d.child.once('exit', (code, sig) => resolve({ code, signal: sig })));
  const started = Date.now();
  process.kill(pid, signal);
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
  const result = await Promise.race([exited, timeout]);
  const ms = Date.now() - started;
  if (result === 'timeout') {
    const stack = (() => {
      try {
        return readFileSync(`/proc/${pid}/stack`, 'utf8');
      } catch {
        return '';
      }
    })();
    assert.unreachable(`still running 5 s after ${signal} (${readdirSync(`/proc/${pid}/task`).length} threads; ${stack.split('\n')[0]}); log: ${d.log()}`);
    return;
  }
  assert.ok(ms < 2000, `${signal} took ${ms} ms to end the daemon; log: ${d.log()}`);
  assert.equal(result, { code: 0, signal: null }, `exit after ${signal}; log: ${d.log()}`);
  assert.match(d.log(), `${signal}: shutting down`);
  assert.not.ok(existsSync(d.socket), 'socket removed');
  assert.not.ok(existsSync(`/proc/${pid}`), 'the process and all its threads are gone');
  for (const c of children) assert.not.ok(existsSync(`/proc/${c}`), `child ${c} of the daemon is gone`);
}

/** A raw control connection: connected, sends nothing. */
function idleClient(cleanup: Cleanup, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(path, () => resolve(sock));
    sock.on('error', reject);
    cleanup.add('idle control client', () => sock.destroy());
  });
}

testIf(test, root, 'SIGTERM ends an idle daemon within 2 s', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    await signalAndCheck(d, 'SIGTERM');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a daemon whose stderr reader went away keeps serving, idle, and SIGTERM still ends it within 2 s', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    // The starter is gone: its end of the daemon's stderr pipe is closed.
    d.child.stderr!.destroy();
    const pid = d.child.pid!;
    const cpu = (): number => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
    };
    // Log lines now meet EPIPE: a node attaching and leaving writes some.
    await node(cleanup, d.socket, '10.97.9.1/24');
    const before = cpu();
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(cpu() - before < 50, `the daemon stays idle with nowhere to log (${cpu() - before} ticks in 1 s)`);
    const exited = new Promise<number | null>((resolve) => d.child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    process.kill(pid, 'SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref())]);
    assert.is(code, 0, `SIGTERM ended it (${Date.now() - started} ms)`);
    assert.ok(Date.now() - started < 2000, `SIGTERM took ${Date.now() - started} ms`);
    assert.not.ok(existsSync(d.socket), 'socket removed');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'SIGINT ends a daemon with attached ports within 2 s', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    await node(cleanup, d.socket, '10.97.0.1/24');
    await node(cleanup, d.socket, '10.97.0.2/24', ['--plain']);
    await signalAndCheck(d, 'SIGINT');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root ?? whyMissing('tc'), 'SIGTERM ends a daemon within 2 s while a port floods it with new source MACs and a subscriber watches them', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--mac-table-size', '1024']);
    const a = await node(cleanup, d.socket, '10.97.1.1/24');
    const f = await node(cleanup, d.socket, '10.97.1.3/24');
    const flood = spawn('ip', ['netns', 'exec', f.ns, process.execPath, INJECT, 'inj0', 'eth0', '100000000'], { stdio: 'ignore' });
    cleanup.add('flood', () => killAndWait(flood, 'SIGKILL'));
    const ping = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-q', '-f', '10.97.1.3'], { stdio: 'ignore' });
    cleanup.add('ping flood', () => killAndWait(ping, 'SIGINT'));
    // A subscriber to MAC events: every learned/evicted MAC goes through the control plane.
    const sub = await idleClient(cleanup, d.socket);
    sub.write(encodeFrame({ id: 1, op: 'subscribe', macs: true, counters: true }));
    sub.resume();
    await waitFor(async () => ((await portInfo(d.socket, f.att.port))?.counters.rxPackets ?? 0) > 20_000, 'the flood to reach the switch', 20_000);
    await signalAndCheck(d, 'SIGTERM');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'SIGTERM ends a daemon within 2 s with 300 control clients: idle, busy, and one that never reads', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    await node(cleanup, d.socket, '10.97.2.1/24');
    for (let i = 0; i < 280; i++) await idleClient(cleanup, d.socket);
    // Busy clients: a request as soon as the previous reply came.
    let replies = 0;
    for (let i = 0; i < 19; i++) {
      const sock = await idleClient(cleanup, d.socket);
      let id = 0;
      const ask = () => sock.write(encodeFrame({ id: ++id, op: i % 2 ? 'ports' : 'status' }));
      sock.on('data', () => {
        replies++;
        ask();
      });
      sock.on('error', () => {});
      ask();
    }
    // One that writes requests and never reads its replies.
    const greedy = await idleClient(cleanup, d.socket);
    greedy.pause();
    greedy.on('error', () => {});
    const request = encodeFrame({ id: 1, op: 'ports' });
    const timer = setInterval(() => {
      for (let i = 0; i < 200 && !greedy.destroyed && greedy.writableLength < 1 << 20; i++) greedy.write(request);
    }, 5);
    cleanup.add('greedy writer', () => clearInterval(timer));
    await waitFor(() => replies > 500, 'busy clients to get replies', 10_000);
    await signalAndCheck(d, 'SIGTERM');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'SIGTERM ends a daemon within 2 s with captures running, one into a pipe nobody reads', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.97.3.1/24');
    const b = await node(cleanup, d.socket, '10.97.3.2/24');
    const ping = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-q', '-f', '-s', '1400', b.ip], { stdio: 'ignore' });
    cleanup.add('ping flood', () => killAndWait(ping, 'SIGINT'));
    const captures: ChildProcess[] = [];
    for (const args of [['all', '-w', '-'], [String(a.att.port), '-w', '/dev/null']]) {
      // stdout is a pipe this test never reads: the datapath's writes to it fill up and drop.
      const cap = spawn(process.execPath, [BIN, 'capture', '-s', d.socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      cleanup.add('capture', () => killAndWait(cap, 'SIGKILL'));
      let err = '';
      cap.stderr!.on('data', (c) => (err += String(c)));
      await waitFor(() => {
        if (cap.exitCode !== null) throw new Error(`capture exited ${cap.exitCode}: ${err}`);
        return err.includes('capturing');
      }, 'capture to start');
      captures.push(cap);
    }
    await waitFor(async () => ((await portInfo(d.socket, a.att.port))?.counters.rxPackets ?? 0) > 2000, 'traffic to be captured', 10_000);
    await signalAndCheck(d, 'SIGTERM');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'SIGTERM ends a daemon within 2 s with dashboard clients: watching, not reading, and a half-sent HTTP request', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--listen', '127.0.0.1:0']);
    const a = await node(cleanup, d.socket, '10.97.4.1/24');
    await node(cleanup, d.socket, '10.97.4.2/24');
    const ping = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-q', '-i', '0.01', '10.97.4.2'], { stdio: 'ignore' });
    cleanup.add('ping', () => killAndWait(ping, 'SIGINT'));
    const url = new URL(/dashboard on (http:\/\/\S+)/.exec(d.log())![1]!);
    let messages = 0;
    for (let i = 0; i < 20; i++) {
      const ws = new WebSocket(`ws://${url.host}/ws`);
      cleanup.add('ws client', () => ws.terminate());
      ws.on('error', () => {});
      ws.on('message', () => messages++);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      // Half of them stop reading: the daemon's writes to them back up.
      if (i % 2) (ws as unknown as { _socket: Socket })._socket.pause();
    }
    // A connection that started an HTTP request and never finished it, one that sent nothing.
    const slow = connect(Number(url.port), url.hostname);
    slow.on('error', () => {});
    cleanup.add('slow http client', () => slow.destroy());
    slow.write(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n`);
    const silent = connect(Number(url.port), url.hostname);
    silent.on('error', () => {});
    cleanup.add('silent tcp client', () => silent.destroy());
    await waitFor(() => messages > 20, 'dashboard clients to get events', 10_000);
    await signalAndCheck(d, 'SIGTERM');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root ?? whyMissing('iptables', 'iptables-save'), 'SIGTERM ends a daemon with a host port and NAT within 2 s, and its rules go with it', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup, 'cnsht');
    const d = await startDaemon(cleanup, ['--host', '10.97.5.1/24', '--nat'], join(tmpdir(), `${uniqueName('cnsw')}.sock`), ns);
    await node(cleanup, d.socket, '10.97.5.2/24');
    assert.match((await inNetns(ns, 'iptables-save', [])).stdout, /containet:/, 'NAT rules in place');
    await signalAndCheck(d, 'SIGTERM');
    assert.not.match((await inNetns(ns, 'iptables-save', [])).stdout, /containet:/, 'no rule left');
  } finally {
    await cleanup.run();
  }
});

test.run();
