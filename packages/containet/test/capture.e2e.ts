import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, closeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, closeFd, ControlClient, native } from '@containet/common';
import { Cleanup, killAndWait, pingFrom, run, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, request, startDaemon } from './helpers.js';

const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.js', import.meta.url));
const why = whyNoRoot() ?? whyMissing('tcpdump');

/** Frame lengths of the records of a pcap file. */
function pcapRecords(buf: Buffer): number[] {
  assert.is(buf.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  assert.is(buf.readUInt32LE(20), 1, 'link type ethernet');
  const out: number[] = [];
  for (let at = 24; at + 16 <= buf.length; ) {
    const incl = buf.readUInt32LE(at + 8);
    out.push(buf.readUInt32LE(at + 12));
    at += 16 + incl;
  }
  return out;
}

/** Start `containet capture ...` and wait until it says it is capturing. */
async function startCapture(cleanup: Cleanup, socket: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'capture', '-s', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.add('capture', () => killAndWait(child));
  let err = '';
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => chunks.push(d));
  child.stderr!.on('data', (d) => (err += String(d)));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`capture exited ${child.exitCode}: ${err}`);
    return err.includes('capturing');
  }, 'capture to start');
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, exited, stderr: () => err, stdout: () => Buffer.concat(chunks) };
}

function capturePair(): [number, number] {
  const pair = new Int32Array(2);
  check(Number(native().cn_capture_pair(pair)), 'socketpair');
  return [pair[0]!, pair[1]!];
}

testIf(test, why, 'a capture of a ping, to a file and to stdout, decodes with tcpdump -r', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.85.0.1/24');
    const b = await node(cleanup, d.socket, '10.85.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1, 'ARP resolved before capturing');

    const file = join(tmpdir(), `${uniqueName('cncap')}.pcap`);
    cleanup.add('pcap file', () => rmSync(file, { force: true }));
    const cap = await startCapture(cleanup, d.socket, [String(a.att.port), '-w', file]);
    assert.is(await pingFrom(a.ns, b.ip, 2), 2);
    process.kill(cap.child.pid!, 'SIGINT');
    assert.is(await cap.exited, 0);
    assert.match(cap.stderr(), /\d+ frames captured/);
    const shown = await run('tcpdump', ['-n', '-r', file]);
    assert.is(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /10\.85\.0\.1 > 10\.85\.0\.2: ICMP echo request/);
    assert.match(shown.stdout, /10\.85\.0\.2 > 10\.85\.0\.1: ICMP echo reply/);

    // -w - with -c: the stream on stdout ends after exactly that many frames.
    const cap2 = await startCapture(cleanup, d.socket, ['all', '-w', '-', '-c', '4']);
    await pingFrom(a.ns, b.ip, 3);
    assert.is(await cap2.exited, 0);
    assert.is(pcapRecords(cap2.stdout()).length, 4);
    const tcpdump = spawn('tcpdump', ['-n', '-r', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let text = '';
    tcpdump.stdout.on('data', (x) => (text += String(x)));
    tcpdump.stdin.end(cap2.stdout());
    await new Promise((r) => tcpdump.once('exit', r));
    assert.match(text, /ICMP echo request/);
    assert.match(text, /ICMP echo reply/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, why, 'GSO frames are captured as wire-size segments with correct checksums', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.86.0.1/24');
    const b = await node(cleanup, d.socket, '10.86.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const file = join(tmpdir(), `${uniqueName('cncap')}.pcap`);
    cleanup.add('pcap file', () => rmSync(file, { force: true }));
    const cap = await startCapture(cleanup, d.socket, [String(a.att.port), '-w', file]);
    const server = spawn('ip', ['netns', 'exec', b.ns, process.execPath, XFER, 'serve', '5201'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add('server', () => killAndWait(server));
    await new Promise((r) => server.stdout.once('data', r));
    const sent = await run('ip', ['netns', 'exec', a.ns, process.execPath, XFER, 'send', b.ip, '5201', '2']);
    assert.is(sent.code, 0);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(cap.child.pid!, 'SIGINT');
    await cap.exited;
    const lengths = pcapRecords(readFileSync(file));
    assert.ok(lengths.length > 1400, `2 MiB took ${lengths.length} frames`);
    assert.ok(Math.max(...lengths) <= 1514, `largest frame ${Math.max(...lengths)} bytes`);
    const shown = await run('tcpdump', ['-n', '-vv', '-r', file, 'tcp and greater 1000']);
    assert.match(shown.stdout, /cksum 0x[0-9a-f]+ \(correct\)/);
    assert.not.match(shown.stdout, /incorrect/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, why, 'a capture reader that never reads or goes away never slows forwarding', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.87.0.1/24');
    const b = await node(cleanup, d.socket, '10.87.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const fdsBefore = readdirSync(`/proc/${d.child.pid}/fd`).length;

    // A reader that never reads: the capture's socket fills, records drop.
    const [rd, wr] = capturePair();
    cleanup.add('capture read end', () => closeFd(rd));
    const client = await ControlClient.connect(d.socket);
    cleanup.add('capture client', () => client.close());
    const { capture } = await client.request({ op: 'capture', port: 'all' }, wr);
    closeFd(wr);
    const server = spawn('ip', ['netns', 'exec', b.ns, process.execPath, XFER, 'serve', '5201'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add('server', () => killAndWait(server));
    await new Promise((r) => server.stdout.once('data', r));
    const t0 = Date.now();
    const sent = await run('ip', ['netns', 'exec', a.ns, process.execPath, XFER, 'send', b.ip, '5201', '64'], { timeoutMs: 30_000 });
    const secs = (Date.now() - t0) / 1000;
    assert.is(sent.code, 0);
    assert.ok(secs < 15, `64 MiB in ${secs} s with a stuck capture`);
    const st = (await request(d.socket, { op: 'status' })).status;
    const mine = st.captures.find((c) => c.capture === capture);
    assert.ok(mine && mine.dropped > 0, `records dropped, not waited for: ${JSON.stringify(mine)}`);
    assert.ok(await pingFrom(a.ns, b.ip, 2) === 2, 'still forwarding');

    // The reader goes away: the capture ends on the next write, nothing leaks.
    closeFd(rd);
    await pingFrom(a.ns, b.ip, 2);
    await waitFor(async () => (await request(d.socket, { op: 'status' })).status.captures.length === 0, 'capture to end');
    client.close();
    await waitFor(() => readdirSync(`/proc/${d.child.pid}/fd`).length === fdsBefore, 'fd count back to where it was');
  } finally {
    await cleanup.run().catch(() => {});
  }
});

testIf(test, why, 'capture requests with a bad fd or port are refused', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.88.0.1/24');
    const c = await ControlClient.connect(d.socket);
    cleanup.add('client', () => c.close());
    const expect = async (body: Record<string, unknown>, fd: number, code: string) => {
      try {
        await c.requestUnchecked(body, fd);
        assert.unreachable(`${JSON.stringify(body)} must be refused`);
      } catch (err) {
        assert.is((err as { code: string }).code, code);
      }
    };
    await expect({ op: 'capture', port: 'all' }, -1, 'CN_NO_FD');
    const fileFd = openSync('/dev/null', 'w');
    await expect({ op: 'capture', port: 'all' }, fileFd, 'CN_BAD_CAPTURE_FD');
    closeSync(fileFd);
    const [rd, wr] = capturePair();
    await expect({ op: 'capture', port: 4242 }, wr, 'CN_NO_SUCH_PORT');
    await expect({ op: 'capture', port: a.att.port, snaplen: 5 }, wr, 'CN_BAD_REQUEST');
    closeFd(wr);
    closeFd(rd);
    const cli = await run(process.execPath, [BIN, 'capture', '-s', d.socket, 'nosuchnode', '-w', '-']);
    assert.is(cli.code, 1);
    assert.match(cli.stderr, /no port for node nosuchnode/);
  } finally {
    await cleanup.run();
  }
});

test.run();
