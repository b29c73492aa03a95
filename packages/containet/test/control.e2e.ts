import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient, encodeFrame, openTap, closeFd, socketFd, sendWithFd } from '@containet/common';
import { Cleanup, pingFrom, run, testIf, uniqueName, waitFor, whyNoRoot, killAndWait } from '@containet/common/testing';
import { BIN, node, ports, startDaemon, type RunningDaemon } from './helpers.js';

const root = whyNoRoot();

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Connect raw, write `bytes`, return the first reply frame (or null if the daemon hung up silently). */
function rawExchange(path: string, bytes: Buffer, fd = -1): Promise<{ reply: Record<string, unknown> | null; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(path);
    let buf = Buffer.alloc(0);
    let reply: Record<string, unknown> | null = null;
    sock.on('error', reject);
    sock.on('connect', () => {
      if (fd >= 0) sendWithFd(socketFd(sock), bytes, fd);
      else sock.write(bytes);
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!reply && buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        reply = JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString()) as Record<string, unknown>;
      }
    });
    sock.on('close', () => resolve({ reply, closed: true }));
    setTimeout(() => {
      sock.destroy();
      resolve({ reply, closed: false });
    }, 3000);
  });
}

function codeOf(reply: Record<string, unknown> | null): string | undefined {
  return (reply?.['error'] as { code?: string } | undefined)?.code;
}

async function expectRefusal(d: RunningDaemon, body: Record<string, unknown>, fd: number, code: string): Promise<void> {
  const c = await ControlClient.connect(d.socket);
  try {
    await c.requestUnchecked(body, fd);
    assert.unreachable(`${JSON.stringify(body)} must be refused`);
  } catch (err) {
    assert.is((err as { code: string }).code, code, (err as Error).message);
  } finally {
    c.close();
  }
}

testIf(test, root, 'bad input on the control socket gets a clear error and forwarding goes on', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    assert.is(statSync(d.socket).mode & 0o777, 0o600, 'socket is 0600');
    const a = await node(cleanup, d.socket, '10.84.0.1/24');
    const b = await node(cleanup, d.socket, '10.84.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const pid = d.child.pid!;
    const baseline = fdCount(pid);

    // Malformed JSON: an error reply, then the connection is closed.
    const body = Buffer.from('{"op": "ports", ');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    let r = await rawExchange(d.socket, Buffer.concat([len, body]));
    assert.is(codeOf(r.reply), 'CN_PROTO_MALFORMED');
    assert.ok(r.closed, 'hung up after a malformed frame');

    // Oversized: refused from the length prefix alone.
    const big = Buffer.alloc(4);
    big.writeUInt32BE(10 * 1024 * 1024);
    r = await rawExchange(d.socket, big);
    assert.is(codeOf(r.reply), 'CN_PROTO_TOO_LARGE');

    // Valid JSON that is not a request.
    r = await rawExchange(d.socket, encodeFrame([1, 2, 3]));
    assert.is(codeOf(r.reply), 'CN_PROTO_INVALID');
    await expectRefusal(d, { op: 'frobnicate' }, -1, 'CN_PROTO_UNKNOWN_OP');

    // attach without an fd, with a regular file, with a socket, with a bad identity.
    await expectRefusal(d, { op: 'attach', node: 'x1', ifname: 'eth0' }, -1, 'CN_NO_FD');
    const file = join(tmpdir(), uniqueName('cnfile'));
    writeFileSync(file, 'not a tap');
    cleanup.add('temp file', () => rmSync(file, { force: true }));
    const fileFd = openSync(file, 'r');
    await expectRefusal(d, { op: 'attach', node: 'x2', ifname: 'eth0' }, fileFd, 'CN_NOT_A_TAP');
    closeSync(fileFd);
    const other = await ControlClient.connect(d.socket);
    const other2 = connect(d.socket);
    await new Promise((res) => other2.once('connect', res));
    await expectRefusal(d, { op: 'attach', node: 'x3', ifname: 'eth0' }, socketFd(other2), 'CN_NOT_A_TAP');
    other2.destroy();
    other.close();
    const tap = openTap('', { vnetHdr: true });
    cleanup.add('host tap', () => closeFd(tap.fd));
    await expectRefusal(d, { op: 'attach', node: '../etc', ifname: 'eth0' }, tap.fd, 'CN_BAD_REQUEST');

    // A node identity that is already attached.
    const existing = (await ports(d.socket)).find((p) => p.port === a.att.port)!.node;
    await expectRefusal(d, { op: 'attach', node: existing, ifname: 'eth0' }, tap.fd, 'CN_DUPLICATE_NODE');

    // A client that hangs up mid-message, with a tap fd in flight.
    const half = encodeFrame({ op: 'attach', node: 'halfway', ifname: 'eth0' }).subarray(0, 20);
    const s = connect(d.socket);
    await new Promise((res) => s.once('connect', res));
    sendWithFd(socketFd(s), half, tap.fd);
    s.destroy();
    await waitFor(() => d.log().includes('closed in the middle of a message'), 'the daemon to notice', 3000);

    // Nothing leaked (every passed fd closed), nothing attached, still forwarding.
    await waitFor(() => fdCount(pid) === baseline, `fd count back to ${baseline} (is ${fdCount(pid)})`, 3000);
    assert.is((await ports(d.socket)).length, 2);
    assert.is(await pingFrom(a.ns, b.ip, 2), 2, 'existing ports still forward');
    assert.is(d.child.exitCode, null, 'daemon still running');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'peers other than root and the owner are refused (SO_PEERCRED)', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const script = `const net = require('node:net');
      const s = net.connect(process.argv[1]);
      let buf = Buffer.alloc(0);
      let connected = false;
      s.on('connect', () => { connected = true; });
      s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
      s.on('error', (e) => { if (!connected) { console.log(JSON.stringify({ connectError: e.code })); process.exit(0); } });
      s.on('close', () => { console.log(buf.length > 4 ? buf.subarray(4, 4 + buf.readUInt32BE(0)).toString() : '{}'); });`;
    const asNobody = async () => {
      const child = spawn(process.execPath, ['-e', script, d.socket], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
      cleanup.add('nobody client', () => killAndWait(child));
      let out = '';
      child.stdout!.on('data', (x) => (out += String(x)));
      await new Promise((res) => child.once('exit', res));
      return JSON.parse(out.trim()) as { connectError?: string; error?: { code: string } };
    };
    // Mode 0600 keeps other users out at connect() already ...
    assert.is((await asNobody()).connectError, 'EACCES');
    // ... and were the mode widened, the credential check still refuses.
    chmodSync(d.socket, 0o666);
    const refused = await asNobody();
    assert.is(refused.error?.code, 'CN_PERMISSION');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'socket life: a live socket is refused, a stale one replaced, SIGTERM removes it', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const second = await run(process.execPath, [BIN, '-s', d.socket], { timeoutMs: 10_000 });
    assert.is(second.code, 1);
    assert.match(second.stderr, /another containet is already serving/);
    assert.ok(existsSync(d.socket), 'the live socket was left alone');

    // SIGKILL leaves the socket behind: the next daemon replaces it.
    await killAndWait(d.child, 'SIGKILL');
    assert.ok(existsSync(d.socket), 'stale socket left by a killed daemon');
    const d2 = await startDaemon(cleanup, [], d.socket);
    assert.match(d2.log(), /listening on/);

    // SIGTERM: clean exit, socket removed.
    const exited = new Promise<number | null>((res) => d2.child.once('exit', (c) => res(c)));
    process.kill(d2.child.pid!, 'SIGTERM');
    assert.is(await exited, 0);
    assert.not.ok(existsSync(d.socket), 'socket removed on shutdown');
    assert.match(d2.log(), /SIGTERM: shutting down/);

    // A path that is not a socket is never removed.
    const file = join(tmpdir(), `${uniqueName('cnnot')}.sock`);
    writeFileSync(file, 'precious');
    cleanup.add('temp file', () => rmSync(file, { force: true }));
    const r = await run(process.execPath, [BIN, '-s', file], { timeoutMs: 10_000 });
    assert.is(r.code, 1);
    assert.match(r.stderr, /exists and is not a socket/);
    assert.ok(existsSync(file));
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'invalid option values exit 2 with a one-line message', async () => {
  for (const args of [
    ['--mac-age', 'abc'],
    ['--mac-age', '-1'],
    ['--mac-table-size', '0'],
    ['--mac-table-size', '99999999'],
    ['--group', 'no-such-group-xyz'],
    ['--listen', 'nowhere'],
    ['--listen', '127.0.0.1:99999'],
    ['--listen', '127.0.0.1:0', '--token', 'short'],
  ]) {
    const r = await run(process.execPath, [BIN, '-s', join(tmpdir(), `${uniqueName('cnopt')}.sock`), ...args], { timeoutMs: 10_000 });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^containet: /);
    assert.not.match(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  }
  const sock = join(tmpdir(), 'no-such-containet.sock');
  for (const args of [
    ['capture', '-s', sock, 'all', '-w', '-', '-c', '0'],
    ['capture', '-s', sock, 'all', '-w', '-', '--snaplen', '10'],
    ['top', 'not-an-address'],
  ]) {
    const r = await run(process.execPath, [BIN, ...args], { timeoutMs: 10_000 });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^containet: invalid/);
  }
  const unreachable = await run(process.execPath, [BIN, 'ports', '-s', sock], { timeoutMs: 10_000 });
  assert.is(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot reach containet/);
});

test.run();
