/**
 * Capture filters in pcap-filter(7) syntax, compiled by libpcap and run in
 * the datapath: `capture PORT -w FILE icmp` while the port pings and makes
 * a TCP connection holds only ICMP frames, `'tcp port 5001'` only that
 * connection's; a filter that does not compile is a usage error and starts
 * no capture.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, killAndWait, pingFrom, run, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, request, startDaemon } from './helpers.js';
import { checkCaptureFilter } from '../src/capture-filter.js';

const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.js', import.meta.url));
const why = whyNoRoot() ?? whyMissing('tcpdump', 'ping');

async function startCapture(cleanup: Cleanup, socket: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'capture', '-s', socket, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanup.add('capture', () => killAndWait(child));
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`capture exited ${child.exitCode}: ${err}`);
    return err.includes('capturing');
  }, 'capture to start');
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, exited, stderr: () => err };
}

/** tcpdump -r's one line per frame. */
async function frames(file: string): Promise<string[]> {
  const r = await run('tcpdump', ['-nn', '-r', file]);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('libpcap compiles pcap-filter(7) expressions; a bad one is CN_BAD_FILTER with its message', () => {
  assert.ok(checkCaptureFilter('icmp') > 0);
  assert.ok(checkCaptureFilter('tcp port 80 and host 10.0.0.2') > 0);
  try {
    checkCaptureFilter('tcp port');
    assert.unreachable('compiled');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CN_BAD_FILTER');
    assert.match((err as Error).message, /^invalid capture filter "tcp port": .*syntax error/);
  }
});

testIf(test, why, 'capture ... icmp holds only ICMP, ... tcp port 5001 only that connection, while a port pings and talks TCP', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.84.0.1/24');
    const b = await node(cleanup, d.socket, '10.84.0.2/24');
    const icmpFile = join(tmpdir(), `${uniqueName('cnicmp')}.pcap`);
    const tcpFile = join(tmpdir(), `${uniqueName('cntcp')}.pcap`);
    const allFile = join(tmpdir(), `${uniqueName('cnall')}.pcap`);
    cleanup.add('pcap files', () => [icmpFile, tcpFile, allFile].forEach((f) => rmSync(f, { force: true })));
    const icmp = await startCapture(cleanup, d.socket, [String(a.att.port), '-w', icmpFile, 'icmp']);
    const tcp = await startCapture(cleanup, d.socket, [String(a.att.port), '-w', tcpFile, 'tcp', 'port', '5001']);
    const all = await startCapture(cleanup, d.socket, [String(a.att.port), '-w', allFile]);

    // ARP first (the neighbour is new), then ICMP, then a TCP connection to 5001.
    assert.ok((await pingFrom(a.ns, b.ip, 3)) >= 2);
    const server = spawn('ip', ['netns', 'exec', b.ns, process.execPath, XFER, 'serve', '5001'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add('server', () => killAndWait(server));
    await new Promise((r) => server.stdout.once('data', r));
    const sent = await run('ip', ['netns', 'exec', a.ns, process.execPath, XFER, 'send', b.ip, '5001', '1']);
    assert.is(sent.code, 0, sent.stderr);
    await new Promise((r) => setTimeout(r, 300));
    const { status } = await request(d.socket, { op: 'status' });
    for (const cap of [icmp, tcp, all]) process.kill(cap.child.pid!, 'SIGINT');
    await Promise.all([icmp.exited, tcp.exited, all.exited]);

    const everything = await frames(allFile);
    assert.ok(everything.some((l) => / ARP, /.test(l)), 'ARP went by');
    assert.ok(everything.some((l) => /ICMP echo/.test(l)) && everything.some((l) => /\.5001[ :]/.test(l)), 'ICMP and TCP went by');

    const onlyIcmp = await frames(icmpFile);
    assert.ok(onlyIcmp.length >= 4, `${onlyIcmp.length} ICMP frames`);
    for (const l of onlyIcmp) assert.match(l, /: ICMP echo (request|reply)/);
    const onlyTcp = await frames(tcpFile);
    assert.ok(onlyTcp.length >= 6, `${onlyTcp.length} TCP frames`);
    for (const l of onlyTcp) assert.match(l, /IP 10\.84\.0\.[12]\.\d+ > 10\.84\.0\.[12]\.\d+: Flags/);
    for (const l of onlyTcp) assert.match(l, /\.5001[ :]/);
    // Filtered in the datapath: what the datapath wrote for each capture is what the file holds.
    const written = status.captures.map((c) => c.written).sort((x, y) => x - y);
    assert.ok(written.includes(onlyIcmp.length), `written ${written.join(',')} vs ${onlyIcmp.length} ICMP frames`);
    assert.ok(written.includes(onlyTcp.length), `written ${written.join(',')} vs ${onlyTcp.length} TCP frames`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, why, 'a filter that does not compile: libpcap\'s message, exit 2, no capture starts', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.83.0.1/24');
    const file = join(tmpdir(), `${uniqueName('cnbad')}.pcap`);
    cleanup.add('pcap file', () => rmSync(file, { force: true }));
    const r = await run(process.execPath, [BIN, 'capture', '-s', d.socket, String(a.att.port), '-w', file, 'tcp', 'port', 'eleventy'], { timeoutMs: 10_000 });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /^containet: invalid capture filter "tcp port eleventy": .+\ncontainet: hint: .*pcap-filter\(7\)/);
    assert.equal((await request(d.socket, { op: 'status' })).status.captures, []);
    // The daemon refuses it too, for a client that did not check.
    const c = await import('@containet/common');
    const pair = new Int32Array(2);
    c.check(Number(c.native().cn_capture_pair(pair)), 'socketpair');
    try {
      await request(d.socket, { op: 'capture', port: a.att.port, filter: 'udp and' }, pair[1]!);
      assert.unreachable('accepted');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CN_BAD_FILTER');
    } finally {
      c.closeFd(pair[0]!);
      c.closeFd(pair[1]!);
    }
    assert.equal((await request(d.socket, { op: 'status' })).status.captures, []);
  } finally {
    await cleanup.run();
  }
});

test.run();
