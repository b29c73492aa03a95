/**
 * Published ports (-p): containet with --host inside a namespace standing
 * for the host, a container started by containode in that namespace (no
 * -r: the host's files and node are visible), and the relay carrying HTTP
 * from the host's loopback and from another namespace joined by veth, and
 * UDP datagrams both ways; after the container exits the ports are closed.
 * Also --mtu on eth0.
 */
import { test } from 'uvu';
import { mkdtempSync, rmSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, inNetns, run, killAndWait, makeNetns, testIf, uniqueName, vethPair, waitFor, whyNoRoot } from '@containet/common/testing';
import { CONTAINET, CONTAINODE, containode, recordIds, tempDir } from './helpers.js';

const reason = whyNoRoot();

// Daemons started here keep their gateway records (and containers theirs) in
// a private state directory, so a test that kills one never leaves a record
// behind for the machine's real daemons.
process.env['CONTAINET_STATE'] = mkdtempSync(join(tmpdir(), 'cn-state-'));
process.on('exit', () => rmSync(process.env['CONTAINET_STATE']!, { recursive: true, force: true }));

/** containet --host 10.89.0.1/24 inside `ns`. */
async function switchIn(c: Cleanup, ns: string): Promise<string> {
  const socket = join(tmpdir(), `${uniqueName('cnpub')}.sock`);
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CONTAINET, '-s', socket, '--host', '10.89.0.1/24'], { stdio: ['ignore', 'ignore', 'pipe'] });
  c.add('containet', () => killAndWait(child));
  let log = '';
  child.stderr!.on('data', (d) => (log += String(d)));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`containet exited ${child.exitCode}: ${log}`);
    return existsSync(socket) && log.includes('listening on');
  }, 'containet to listen', 8000);
  return socket;
}

/** containode in namespace `ns` (the host), in the background. */
function containodeIn(c: Cleanup, ns: string, args: string[]): { child: ChildProcess; exit: Promise<number>; err: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CONTAINODE, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  const exit = new Promise<number>((r) => child.once('exit', (code, sig) => r(code ?? (sig ? 128 : 0))));
  c.add(`containode ${child.pid}`, () => killAndWait(child));
  return { child, exit, err: () => err };
}

/** An HTTP GET from inside namespace `ns`: the body, or `ERR code`. */
async function httpGet(ns: string, url: string): Promise<string> {
  const r = await inNetns(ns, process.execPath, ['-e',
    `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(4000) }).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => process.stdout.write('ERR ' + (e.cause?.code ?? e.name)))`], { timeoutMs: 10_000 });
  return r.stdout;
}

/** One UDP datagram to `host:port` from inside `ns`, the reply or `timeout`. */
async function udpAsk(ns: string, host: string, port: number, text: string): Promise<string> {
  const r = await inNetns(ns, process.execPath, ['-e',
    `const s = require('dgram').createSocket('udp4'); s.on('message', (m) => { process.stdout.write(String(m)); process.exit(0); }); s.send(${JSON.stringify(text)}, ${port}, ${JSON.stringify(host)}); setTimeout(() => { process.stdout.write('timeout'); process.exit(0); }, 3000);`], { timeoutMs: 10_000 });
  return r.stdout;
}

/** The container's program: HTTP on 80 serving `page`, UDP echo (upper-cased) on 5353. */
function serverScript(page: string): string {
  return `const fs = require('fs');
require('http').createServer((q, s) => s.end(fs.readFileSync(${JSON.stringify(page)}))).listen(80);
const u = require('dgram').createSocket('udp4'); u.on('message', (m, r) => u.send(String(m).toUpperCase(), r.port, r.address)); u.bind(5353);
process.on('SIGTERM', () => process.exit(0));`;
}

testIf(test, reason, '-p relays TCP (HTTP) and UDP from the host\'s loopback and another namespace to the container; closed after it exits', async () => {
  const c = new Cleanup();
  try {
    const hostNs = await makeNetns(c, 'cnph');
    const client = await makeNetns(c, 'cnpc');
    await vethPair(hostNs, '10.202.0.1/24', client, '10.202.0.2/24');
    const socket = await switchIn(c, hostNs);

    const dir = tempDir(c, 'cnode-www');
    writeFileSync(join(dir, 'index.html'), 'the container\'s page\n');
    const id = uniqueName('pub');
    const ctr = containodeIn(c, hostNs, ['-s', socket, '-4', '10.89.0.2/24', '-g', '10.89.0.1', '-i', id,
      '-p', '18080:80', '-p', '127.0.0.1:18053:5353/udp', process.execPath, '-e', serverScript(join(dir, 'index.html'))]);
    await waitFor(async () => {
      if (ctr.child.exitCode !== null) throw new Error(`containode exited: ${ctr.err()}`);
      return (await httpGet(hostNs, 'http://127.0.0.1:18080/')) === 'the container\'s page\n';
    }, 'the published port to serve the page', 15_000, 200);

    assert.is(await httpGet(client, 'http://10.202.0.1:18080/'), 'the container\'s page\n', 'from another namespace');
    assert.is(await udpAsk(hostNs, '127.0.0.1', 18053, 'ping over udp'), 'PING OVER UDP');
    // The UDP port was published on loopback only.
    assert.is(await udpAsk(client, '10.202.0.1', 18053, 'x'), 'timeout');

    const stop = await containode(['stop', id]);
    assert.is(stop.code, 0, stop.stderr);
    assert.is(await ctr.exit, 0, ctr.err());
    assert.is(await httpGet(hostNs, 'http://127.0.0.1:18080/'), 'ERR ECONNREFUSED', 'the port is closed after the container exits');
    const ss = await inNetns(hostNs, 'ss', ['-Htuln']);
    assert.not.match(ss.stdout, /:18080\b|:18053\b/);
  } finally {
    await c.run();
  }
});

testIf(test, reason, '-p: bad values and a taken host port are refused with nothing left behind', async () => {
  const c = new Cleanup();
  try {
    const hostNs = await makeNetns(c, 'cnph');
    const socket = await switchIn(c, hostNs);
    for (const [args, what] of [
      [['-p', '8080:80', '/bin/true'], /-p needs -s and -4/],
      [['-s', socket, '-p', '8080:80', '/bin/true'], /-p needs -4/],
      [['-s', socket, '-4', '10.89.0.3/24', '-p', '8080:99999', '/bin/true'], /invalid container port/],
      [['-s', socket, '-4', '10.89.0.3/24', '-p', '8080:80/sctp', '/bin/true'], /invalid protocol/],
      [['-s', socket, '-4', '10.89.0.3/24', '-p', '8080:80', '-p', '8080:81', '/bin/true'], /published twice/],
    ] as const) {
      const r = await containode([...args]);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, what);
    }

    // A port something else listens on.
    const holder = spawn('ip', ['netns', 'exec', hostNs, process.execPath, '-e', "require('net').createServer().listen(18081, () => console.log('up'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    c.add('holder', () => killAndWait(holder));
    await new Promise((r) => holder.stdout!.once('data', r));
    const before = recordIds();
    const id = uniqueName('pubx');
    const r = await inNetns(hostNs, process.execPath, [CONTAINODE, '-s', socket, '-4', '10.89.0.4/24', '-i', id, '-p', '18081:80', '/bin/true'], { timeoutMs: 20_000 });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot publish 0\.0\.0\.0:18081\/tcp: EADDRINUSE/);
    assert.match(r.stderr, /pick another host port/);
    assert.equal(recordIds(), before, 'no record');
    const ports = await run(process.execPath, [CONTAINET, 'ports', '-s', socket]);
    assert.is(ports.code, 0, ports.stderr);
    assert.not.match(ports.stdout, new RegExp(id), 'no switch port');
  } finally {
    await c.run();
  }
});

testIf(test, reason, '--mtu sets eth0\'s MTU; out-of-range values are refused', async () => {
  const c = new Cleanup();
  try {
    const hostNs = await makeNetns(c, 'cnph');
    const socket = await switchIn(c, hostNs);
    const r = await inNetns(hostNs, process.execPath, [CONTAINODE, '-s', socket, '-4', '10.89.0.5/24', '--mtu', '1450', 'ip', '-o', 'link', 'show', 'eth0'], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /eth0: .* mtu 1450 /);
    for (const bad of ['67', '65536', 'big', '1e3']) {
      const e = await containode(['-s', socket, '-4', '10.89.0.5/24', '--mtu', bad, '/bin/true']);
      assert.is(e.code, 2, e.stderr);
      assert.match(e.stderr, /invalid --mtu/);
    }
    const noSwitch = await containode(['--mtu', '1450', '/bin/true']);
    assert.is(noSwitch.code, 2);
    assert.match(noSwitch.stderr, /--mtu needs -s/);
  } finally {
    await c.run();
  }
});

test.run();
