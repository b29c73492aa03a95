/**
 * VXLAN uplinks (RFC 7348) across "hosts": network namespaces joined by
 * veth pairs, each running its own containet, with containers attached
 * through the attach-tap fixture.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, inNetns, killAndWait, makeNetns, pingFrom, run, sh, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, portInfo, request, startDaemon } from './helpers.js';
import type { VxlanShow } from '../src/vxlan.js';

const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.js', import.meta.url));
const SEND = fileURLToPath(new URL('./fixtures/udp-send.js', import.meta.url));

interface Host {
  ns: string;
  socket: string;
  child: ChildProcess;
  log: () => string;
}

/** Two namespaces joined by a veth pair with `a` and `b` (ADDR/24) on its ends. */
async function underlay(cleanup: Cleanup, a: string, b: string): Promise<[string, string]> {
  const nsA = await makeNetns(cleanup, 'cnvh');
  const nsB = await makeNetns(cleanup, 'cnvh');
  const va = uniqueName('cnva');
  const vb = uniqueName('cnvb');
  await sh('ip', 'link', 'add', va, 'netns', nsA, 'type', 'veth', 'peer', 'name', vb, 'netns', nsB);
  await sh('ip', '-n', nsA, 'addr', 'add', `${a}/24`, 'dev', va);
  await sh('ip', '-n', nsB, 'addr', 'add', `${b}/24`, 'dev', vb);
  await sh('ip', '-n', nsA, 'link', 'set', va, 'up');
  await sh('ip', '-n', nsB, 'link', 'set', vb, 'up');
  return [nsA, nsB];
}

/** containet run inside host namespace `ns` with `args`. */
async function daemonIn(cleanup: Cleanup, ns: string, args: string[]): Promise<Host> {
  const d = await startDaemon(cleanup, args, join(tmpdir(), `${uniqueName('cnvx')}.sock`), ns);
  return { ns, ...d };
}

async function show(socket: string): Promise<VxlanShow> {
  const v = (await request(socket, { op: 'vxlan-show' })).vxlan;
  if (!v) throw new Error('the daemon has no uplink');
  return v;
}

/** A container: a namespace with a tap on the switch, `addr` on it, MTU `mtu`. */
async function container(cleanup: Cleanup, socket: string, addr: string, mtu = 1450) {
  const c = await node(cleanup, socket, addr);
  await sh('ip', '-n', c.ns, 'link', 'set', 'eth0', 'mtu', String(mtu));
  return c;
}

function lineOf(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code} before answering: ${out}`)));
  });
}

/** Send `mib` MiB from namespace `from` to `ip` in `to`; both digests. */
async function transfer(cleanup: Cleanup, from: string, to: string, ip: string, mib: number): Promise<[{ bytes: number; sha256: string }, { bytes: number; sha256: string }]> {
  const server = spawn('ip', ['netns', 'exec', to, process.execPath, XFER, 'serve', '5201'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add('tcp-xfer server', () => killAndWait(server));
  assert.is(await lineOf(server, 'server'), 'ready');
  const received = new Promise<string>((resolve) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += String(d);
      if (out.endsWith('}\n')) resolve(out.trim().split('\n').pop()!);
    });
  });
  const client = spawn('ip', ['netns', 'exec', from, process.execPath, XFER, 'send', ip, '5201', String(mib)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add('tcp-xfer client', () => killAndWait(client));
  const sent = JSON.parse(await lineOf(client, 'client')) as { bytes: number; sha256: string };
  const got = JSON.parse(await received) as { bytes: number; sha256: string };
  return [sent, got];
}

testIf(test, whyNoRoot(), 'two containet hosts over VXLAN: ping and a TCP transfer across, GSO segmented to the uplink MTU, MACs learned against the VTEP', async () => {
  const cleanup = new Cleanup();
  try {
    const [hA, hB] = await underlay(cleanup, '192.168.71.1', '192.168.71.2');
    const a = await daemonIn(cleanup, hA, ['--vxlan', '4242', '--vxlan-local', '192.168.71.1', '--vxlan-remote', '192.168.71.2']);
    const b = await daemonIn(cleanup, hB, ['--vxlan', '4242', '--vxlan-local', '192.168.71.2', '--vxlan-remote', '192.168.71.1:4789']);
    const ca = await container(cleanup, a.socket, '10.71.0.1/24');
    const cb = await container(cleanup, b.socket, '10.71.0.2/24');

    assert.is(await pingFrom(ca.ns, cb.ip, 3), 3, 'ping A -> B across the tunnel');
    assert.is(await pingFrom(cb.ns, ca.ip, 2), 2, 'ping B -> A');

    // B's MAC is learned on A's uplink against B's VTEP.
    const macB = (await sh('ip', '-n', cb.ns, '-br', 'link', 'show', 'eth0')).split(/\s+/)[2]!;
    const macs = (await request(a.socket, { op: 'macs' })).macs;
    const upA = await show(a.socket);
    const entry = macs.find((m) => m.mac === macB);
    assert.ok(entry, `A learned ${macB}`);
    assert.is(entry!.port, upA.port);
    assert.is(entry!.vtep, '192.168.71.2:4789');
    assert.is(upA.remotes[0]!.macs, 1);

    const [sent, got] = await transfer(cleanup, ca.ns, cb.ns, cb.ip, 32);
    assert.is(got.bytes, sent.bytes);
    assert.is(got.sha256, sent.sha256, 'A -> B bytes intact');
    const [sent2, got2] = await transfer(cleanup, cb.ns, ca.ns, ca.ip, 8);
    assert.is(got2.sha256, sent2.sha256, 'B -> A bytes intact');

    const after = await show(a.socket);
    assert.ok(after.txSegmented > 0, `GSO frames were segmented (${after.txSegmented})`);
    assert.ok(after.txBytes / after.txPackets <= 1450 + 14, `every datagram fits the underlay (mean inner frame ${Math.round(after.txBytes / after.txPackets)})`);
    assert.is(after.txBadGso + after.rxMalformed + after.rxBadVni + after.rxUnknownRemote, 0);
    const inA = (await portInfo(a.socket, ca.att.port))!.counters;
    assert.ok(inA.rxBytes / inA.rxPackets > 3000, 'the container sent GSO frames');
    const toB = (await portInfo(b.socket, cb.att.port))!.counters;
    console.log(`    mean frame written to B's container: ${Math.round(toB.txBytes / toB.txPackets)} bytes`);
    assert.ok(toB.txBytes / toB.txPackets > 3000, `received segments were merged into GSO frames (mean ${Math.round(toB.txBytes / toB.txPackets)} bytes)`);
    assert.is(toB.errors + toB.drops, 0);

    // A frame too big for the uplink and not segmentable is dropped and counted, not truncated.
    await sh('ip', '-n', ca.ns, 'link', 'set', 'eth0', 'mtu', '1500');
    assert.is(await pingFrom(ca.ns, cb.ip, 1), 1, 'small frames still pass at MTU 1500');
    const before = (await show(a.socket)).txTooBig;
    const big = await inNetns(ca.ns, 'ping', ['-n', '-c', '1', '-W', '1', '-M', 'do', '-s', '1472', cb.ip]);
    assert.match(big.stdout, /0 received/);
    assert.is((await show(a.socket)).txTooBig, before + 1, 'the 1514-byte frame is counted as too big');

    // Removing the remote flushes the MACs behind it and stops traffic.
    const cli = await run(process.execPath, [BIN, 'vxlan', 'del-remote', '192.168.71.2', '-s', a.socket, '--json']);
    assert.is(cli.code, 0, cli.stderr);
    const shown = JSON.parse(cli.stdout) as VxlanShow;
    assert.is(shown.remotes.length, 0);
    const macs2 = (await request(a.socket, { op: 'macs' })).macs;
    assert.not.ok(macs2.some((m) => m.mac === macB), 'B flushed with its VTEP');
    assert.is(await pingFrom(ca.ns, cb.ip, 1, 1), 0);
    const add = await run(process.execPath, [BIN, 'vxlan', 'add-remote', '192.168.71.2', '-s', a.socket]);
    assert.is(add.code, 0, add.stderr);
    assert.match(add.stdout, /192\.168\.71\.2:4789/);
    assert.is(await pingFrom(ca.ns, cb.ip, 2), 2, 'back after add-remote');
  } finally {
    await cleanup.run();
  }
});

/** Hosts on one underlay LAN (a bridge in its own namespace), 192.168.N.(i+1)/24. */
async function lan(cleanup: Cleanup, n: number, count: number): Promise<string[]> {
  const hub = await makeNetns(cleanup, 'cnvl');
  await sh('ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
  await sh('ip', '-n', hub, 'link', 'set', 'br0', 'up');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = await makeNetns(cleanup, 'cnvh');
    await sh('ip', '-n', hub, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'u0', 'netns', ns);
    await sh('ip', '-n', hub, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
    await sh('ip', '-n', ns, 'addr', 'add', `192.168.${n}.${i + 1}/24`, 'dev', 'u0');
    await sh('ip', '-n', ns, 'link', 'set', 'u0', 'up');
    out.push(ns);
  }
  return out;
}

testIf(test, whyNoRoot(), 'head-end replication: broadcast goes to every remote, learned unicast only to its VTEP', async () => {
  const cleanup = new Cleanup();
  try {
    const [hA, hB, hC] = await lan(cleanup, 75, 3);
    const all = ['192.168.75.1', '192.168.75.2', '192.168.75.3'];
    const daemons = [];
    for (const [i, ns] of [hA!, hB!, hC!].entries()) {
      const remotes = all.filter((_, j) => j !== i).flatMap((r) => ['--vxlan-remote', r]);
      daemons.push(await daemonIn(cleanup, ns, ['--vxlan', '75', '--vxlan-local', all[i]!, ...remotes]));
    }
    const [a, b, c] = daemons as [Host, Host, Host];
    const ca = await container(cleanup, a.socket, '10.75.0.1/24');
    const cb = await container(cleanup, b.socket, '10.75.0.2/24');
    const cc = await container(cleanup, c.socket, '10.75.0.3/24');

    // The first ping's ARP request is broadcast: replicated to B and C.
    assert.is(await pingFrom(ca.ns, cb.ip, 1), 1);
    const txTo = async (addr: string) => (await show(a.socket)).remotes.find((r) => r.address === addr)!.txPackets;
    assert.ok((await txTo('192.168.75.3')) >= 1, 'C got the broadcast');
    const cRx = (await portInfo(c.socket, cc.att.port))!.counters.txPackets;
    assert.ok(cRx >= 1, "C's container saw the ARP request");

    // Now B's MAC is known behind B's VTEP: unicast goes only there.
    const toB = await txTo('192.168.75.2');
    const toC = await txTo('192.168.75.3');
    assert.is(await pingFrom(ca.ns, cb.ip, 5), 5);
    assert.ok((await txTo('192.168.75.2')) >= toB + 5, 'the echo requests went to B');
    assert.is(await txTo('192.168.75.3'), toC, 'none of them to C');
    // C's container has sent nothing yet: no MAC is learned behind C.
    assert.is((await show(a.socket)).remotes.find((r) => r.address === '192.168.75.3')!.macs, 0);
    assert.is(await pingFrom(cc.ns, cb.ip, 2), 2, 'C reaches B directly');
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot() ?? whyMissing('ethtool'), 'a Linux kernel vxlan device and containet interoperate: ping both ways and TCP across', async () => {
  const cleanup = new Cleanup();
  try {
    const [hA, hK] = await underlay(cleanup, '192.168.72.1', '192.168.72.2');
    const vx = uniqueName('cnvx');
    const r = await run('ip', ['-n', hK, 'link', 'add', vx, 'type', 'vxlan', 'id', '7000', 'remote', '192.168.72.1', 'local', '192.168.72.2', 'dstport', '4789']);
    if (r.code !== 0) throw new Error(`ip link add type vxlan failed: ${r.stderr}`);
    // Over veth the kernel leaves the inner checksums of what it
    // encapsulates to an offload that never happens (veth advertises
    // checksum offload), so a userspace VTEP would receive unfinished
    // checksums; a physical NIC computes them. Have the kernel compute
    // them in software instead.
    await sh('ip', 'netns', 'exec', hK, 'ethtool', '-K', vx, 'tx', 'off');
    await sh('ip', '-n', hK, 'addr', 'add', '10.72.0.9/24', 'dev', vx);
    await sh('ip', '-n', hK, 'link', 'set', vx, 'up');
    const a = await daemonIn(cleanup, hA, ['--vxlan', '7000', '--vxlan-local', '192.168.72.1', '--vxlan-remote', '192.168.72.2']);
    const ca = await container(cleanup, a.socket, '10.72.0.1/24');

    assert.is(await pingFrom(hK, ca.ip, 3), 3, 'kernel vxlan -> container through containet');
    assert.is(await pingFrom(ca.ns, '10.72.0.9', 3), 3, 'container -> kernel vxlan');
    const [sent, got] = await transfer(cleanup, ca.ns, hK, '10.72.0.9', 16);
    assert.is(got.sha256, sent.sha256, 'container -> kernel bytes intact');
    const [sent2, got2] = await transfer(cleanup, hK, ca.ns, ca.ip, 16);
    assert.is(got2.sha256, sent2.sha256, 'kernel -> container bytes intact');
    const v = await show(a.socket);
    assert.is(v.rxMalformed + v.rxBadVni + v.rxUnknownRemote + v.txBadGso, 0);
    assert.ok(v.remotes[0]!.rxPackets > 0 && v.remotes[0]!.macs === 1);
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot(), 'malformed, truncated, wrong-VNI and unknown-remote datagrams are counted and never forwarded', async () => {
  const cleanup = new Cleanup();
  try {
    const [hA, hR] = await underlay(cleanup, '192.168.73.1', '192.168.73.2');
    await sh('ip', '-n', hR, 'addr', 'add', '192.168.73.3/24', 'dev', (await sh('ip', '-n', hR, '-br', 'link', 'show', 'type', 'veth')).split(/[\s@]+/)[0]!);
    const a = await daemonIn(cleanup, hA, ['--vxlan', '42', '--vxlan-local', '192.168.73.1', '--vxlan-remote', '192.168.73.2']);
    const ca = await container(cleanup, a.socket, '10.73.0.1/24');
    await new Promise((r) => setTimeout(r, 300));
    const tx0 = (await portInfo(a.socket, ca.att.port))!.counters.txPackets;

    // udp-send FROM TO:PORT KIND...: one datagram per KIND.
    const send = async (from: string, ...kinds: string[]) => {
      const res = await inNetns(hR, process.execPath, [SEND, from, '192.168.73.1:4789', ...kinds]);
      assert.is(res.code, 0, res.stderr);
    };
    await send('192.168.73.2', 'short', 'no-inner', 'no-i-flag', 'vni:43');
    await send('192.168.73.3', 'vni:42');
    const v = (await waitFor(async () => {
      const s = await show(a.socket);
      return s.rxMalformed + s.rxBadVni + s.rxUnknownRemote >= 5 ? s : null;
    }, 'the drops to be counted', 3000))!;
    assert.is(v.rxMalformed, 3, 'truncated header, header without a frame, I flag clear');
    assert.is(v.rxBadVni, 1);
    assert.is(v.rxUnknownRemote, 1);
    assert.is(v.rxPackets, 0, 'nothing entered the switch');
    assert.is((await portInfo(a.socket, ca.att.port))!.counters.txPackets, tx0, 'the container got none of them');

    // The same frame, well formed and from the remote, is delivered.
    await send('192.168.73.2', 'vni:42');
    await waitFor(async () => (await portInfo(a.socket, ca.att.port))!.counters.txPackets === tx0 + 1, 'the good frame to reach the container', 3000);
    const v2 = await show(a.socket);
    assert.is(v2.remotes[0]!.rxPackets, 1);
    assert.is(v2.rxMalformed + v2.rxBadVni + v2.rxUnknownRemote, 5);
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot(), 'bad VXLAN settings get clear errors and leave nothing behind', async () => {
  const cleanup = new Cleanup();
  try {
    const cli = (...args: string[]) => run(process.execPath, [BIN, ...args]);
    const noLocal = await cli('-s', join(tmpdir(), `${uniqueName('cnvx')}.sock`), '--vxlan', '5');
    assert.is(noLocal.code, 2);
    assert.match(noLocal.stderr, /--vxlan needs --vxlan-local/);
    const badVni = await cli('-s', join(tmpdir(), `${uniqueName('cnvx')}.sock`), '--vxlan', '16777216', '--vxlan-local', '127.0.0.1');
    assert.is(badVni.code, 2);
    assert.match(badVni.stderr, /invalid VXLAN VNI/);
    const badRemote = await cli('-s', join(tmpdir(), `${uniqueName('cnvx')}.sock`), '--vxlan', '5', '--vxlan-local', '127.0.0.1', '--vxlan-remote', '239.1.1.1');
    assert.is(badRemote.code, 2);
    assert.match(badRemote.stderr, /invalid remote VTEP/);

    const [hA] = await underlay(cleanup, '192.168.74.1', '192.168.74.2');
    const a = await daemonIn(cleanup, hA, ['--vxlan', '5', '--vxlan-local', '192.168.74.1:4790', '--vxlan-remote', '192.168.74.2']);
    // A second uplink on the same UDP port: refused, the daemon exits and removes its socket.
    const sock2 = join(tmpdir(), `${uniqueName('cnvx')}.sock`);
    const inUse = await run('ip', ['netns', 'exec', hA, process.execPath, BIN, '-s', sock2, '--vxlan', '6', '--vxlan-local', '192.168.74.1:4790']);
    assert.is.not(inUse.code, 0);
    assert.match(inUse.stderr, /UDP port is in use/);
    assert.not.ok(existsSync(sock2), 'no socket left behind');
    const notMine = await run('ip', ['netns', 'exec', hA, process.execPath, BIN, '-s', sock2, '--vxlan', '6', '--vxlan-local', '192.0.2.55']);
    assert.match(notMine.stderr, /no such local address/);
    assert.not.ok(existsSync(sock2));

    const dup = await cli('vxlan', 'add-remote', '192.168.74.2', '-s', a.socket);
    assert.is(dup.code, 1);
    assert.match(dup.stderr, /already configured/);
    const missing = await cli('vxlan', 'del-remote', '192.168.74.9', '-s', a.socket);
    assert.match(missing.stderr, /no remote VTEP 192\.168\.74\.9/);
    const junk = await cli('vxlan', 'add-remote', 'not-an-address', '-s', a.socket);
    assert.is(junk.code, 2);
    const again = await cli('vxlan', 'add', '9', '--local', '192.168.74.1:4791', '-s', a.socket);
    assert.match(again.stderr, /already has a VXLAN uplink/);
    const v = await show(a.socket);
    assert.is(v.remotes.length, 1, 'the remotes are as they were');
    assert.is(v.vni, 5);
    const text = await cli('status', '-s', a.socket);
    assert.match(text.stdout, /VXLAN VNI 5 on port \d+: local 192\.168\.74\.1:4790/);
    assert.ok(a.child.exitCode === null, 'the daemon still runs');

    // A daemon started without an uplink gets one on request.
    const plain = await daemonIn(cleanup, hA, []);
    assert.match((await cli('vxlan', 'show', '-s', plain.socket)).stdout, /no VXLAN uplink/);
    const noUp = await cli('vxlan', 'add-remote', '192.168.74.2', '-s', plain.socket);
    assert.match(noUp.stderr, /has no VXLAN uplink/);
    const added = await cli('vxlan', 'add', '7', '--local', '192.168.74.1:4792', '--remote', '192.168.74.2', '--mtu', '9000', '-s', plain.socket, '--json');
    assert.is(added.code, 0, added.stderr);
    const up = JSON.parse(added.stdout) as VxlanShow;
    assert.is(up.vni, 7);
    assert.is(up.innerMtu, 8950);
    assert.equal(up.remotes.map((r) => `${r.address}:${r.port}`), ['192.168.74.2:4789']);
  } finally {
    await cleanup.run();
  }
});

test.run();
