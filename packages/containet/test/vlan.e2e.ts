/**
 * 802.1Q VLANs in the switch: access ports keep VLANs apart, a trunk port
 * carries several to a namespace running kernel VLAN interfaces, a VXLAN
 * uplink carries them between two switches, a node with several
 * interfaces is named NODE:IFNAME, and bad memberships are refused with
 * the port unchanged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Cleanup, killAndWait, makeNetns, pingFrom, run, sh, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import type { PortInfo } from '@containet/common';
import { BIN, attach, node, portInfo, ports, request, startDaemon } from './helpers.js';
import * as portsCmd from '../src/commands/ports.js';

const root = whyNoRoot();
const DEMUX = fileURLToPath(new URL('./fixtures/vlan-demux.js', import.meta.url));
const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.js', import.meta.url));

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

/** Send `mib` MiB over TCP from namespace `from` to `ip` (in `to`); what was sent and what arrived. */
async function transfer(cleanup: Cleanup, from: string, to: string, ip: string, mib: number): Promise<Array<{ bytes: number; sha256: string }>> {
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
  return [sent, JSON.parse(await received) as { bytes: number; sha256: string }];
}

/** `containet port set ARGS... -s SOCK` as a user runs it. */
function portSet(socket: string, ...args: string[]) {
  return run(process.execPath, [BIN, 'port', 'set', ...args, '-s', socket]);
}

testIf(test, root, 'two VLANs on one switch: same-VLAN pairs ping, cross-VLAN pairs do not; MACs are learned per VLAN', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    // One subnet for all four: only the switch keeps the VLANs apart.
    const a1 = await node(cleanup, d.socket, '10.81.0.1/24', ['--vlan', '10']);
    const a2 = await node(cleanup, d.socket, '10.81.0.2/24', ['--vlan', '10']);
    const b1 = await node(cleanup, d.socket, '10.81.0.3/24');
    const b2 = await node(cleanup, d.socket, '10.81.0.4/24');
    for (const b of [b1, b2]) {
      const r = await portSet(d.socket, String(b.att.port), '--vlan', '20');
      assert.is(r.code, 0, r.stderr);
    }
    assert.equal((await portInfo(d.socket, a1.att.port))!.vlan, { mode: 'access', vlan: 10 });
    assert.equal((await portInfo(d.socket, b1.att.port))!.vlan, { mode: 'access', vlan: 20 });
    assert.ok((await pingFrom(a1.ns, a2.ip, 3)) >= 2, 'VLAN 10 pair');
    assert.ok((await pingFrom(b1.ns, b2.ip, 3)) >= 2, 'VLAN 20 pair');
    assert.is(await pingFrom(a1.ns, b1.ip, 2, 1), 0, 'VLAN 10 -> VLAN 20');
    assert.is(await pingFrom(b2.ns, a2.ip, 2, 1), 0, 'VLAN 20 -> VLAN 10');
    // Had a1's ARP request reached b1, b1 would have answered and noted a1.
    const neigh = await sh('ip', '-n', b1.ns, 'neigh', 'show', a1.ip);
    assert.not.match(neigh, /lladdr/, `b1 never heard from a1: ${neigh}`);
    const macs = (await request(d.socket, { op: 'macs' })).macs;
    assert.ok(macs.some((m) => m.port === a1.att.port && m.vlan === 10), 'a1 learned in VLAN 10');
    assert.ok(macs.some((m) => m.port === b1.att.port && m.vlan === 20), 'b1 learned in VLAN 20');
    const table = await portsCmd.handler({ socket: d.socket });
    assert.match(table, /VLAN/);
    // Back to VLAN 1 with the others: the VLAN 20 port can reach nobody in 10.
    const r = await portSet(d.socket, String(b1.att.port), '--vlan', '10');
    assert.is(r.code, 0, r.stderr);
    assert.ok((await pingFrom(b1.ns, a1.ip, 3)) >= 2, 'moved to VLAN 10: reaches a1');
  } finally {
    await cleanup.run();
  }
});

/**
 * A trunk's namespace with VLAN interfaces TRUNK.ID: kernel ones where
 * the kernel has 802.1Q, else the vlan-demux fixture, which relays the
 * same frames in user space. Returns the interface of untagged frames.
 */
async function vlanInterfaces(cleanup: Cleanup, ns: string, trunk: string, ids: string[]): Promise<string> {
  const probe = await run('ip', ['-n', ns, 'link', 'add', 'link', trunk, 'name', `${trunk}.${ids[0]}`, 'type', 'vlan', 'id', ids[0]!]);
  if (probe.code === 0) {
    for (const id of ids.slice(1)) await sh('ip', '-n', ns, 'link', 'add', 'link', trunk, 'name', `${trunk}.${id}`, 'type', 'vlan', 'id', id);
    await sh('ip', '-n', ns, 'link', 'set', trunk, 'up');
    return trunk;
  }
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, DEMUX, trunk, ...ids], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add(`vlan-demux ${child.pid}`, () => killAndWait(child));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`vlan-demux exited ${c}: ${out}`)));
  });
  return `${trunk}.u`;
}

testIf(test, root, 'a trunk port reaches two VLANs through VLAN interfaces; its native VLAN is untagged', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.82.10.1/24', ['--vlan', '10']);
    const b = await node(cleanup, d.socket, '10.82.20.1/24', ['--vlan', '20']);
    const c = await node(cleanup, d.socket, '10.82.1.1/24'); // VLAN 1
    const ns = await makeNetns(cleanup, 'cnvl');
    await sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    const t = await attach(cleanup, d.socket, ns, uniqueName('n'), 'eth0', ['--trunk', '10,20']);
    const untagged = await vlanInterfaces(cleanup, ns, 'eth0', ['10', '20']);
    for (const [dev, net] of [['eth0.10', '10'], ['eth0.20', '20'], [untagged, '1']] as const) {
      await sh('ip', '-n', ns, 'addr', 'add', `10.82.${net}.2/24`, 'dev', dev);
      await sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    }
    assert.ok((await pingFrom(ns, a.ip, 3)) >= 2, 'trunk -> VLAN 10');
    assert.ok((await pingFrom(ns, b.ip, 3)) >= 2, 'trunk -> VLAN 20');
    assert.ok((await pingFrom(a.ns, '10.82.10.2', 3)) >= 2, 'VLAN 10 -> trunk');
    // No native VLAN: the trunk's untagged frames reach nobody in VLAN 1.
    assert.is(await pingFrom(ns, c.ip, 2, 1), 0, 'untagged frames of a trunk without a native VLAN are dropped');
    assert.ok((await portInfo(d.socket, t.port))!.counters.vlanDrops! > 0, 'counted as VLAN drops');
    const r = await portSet(d.socket, String(t.port), '--trunk', '10,20', '--native', '1', '--json');
    assert.is(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as PortInfo).vlan, { mode: 'trunk', allowed: [10, 20], native: 1 });
    // The first exchange resolves ARP again after the failed attempts above
    // (through the user-space relay on a loaded machine): one reply of five suffices.
    assert.ok((await pingFrom(ns, c.ip, 5, 3)) >= 1, 'native VLAN 1 untagged');
    assert.ok((await pingFrom(ns, a.ip, 3)) >= 2, 'VLAN 10 still tagged');
    // A large frame from a vnet tap (a partial checksum moves with the pushed tag).
    const big = await run('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1400', '10.82.10.2']);
    assert.match(big.stdout, /[1-3] received/, big.stdout);
    // A capture of the trunk shows its wire: the echo request leaving tagged
    // (pushed on the way out) and the reply coming in tagged.
    const cap = spawn(process.execPath, [BIN, 'capture', '-s', d.socket, String(t.port), '-w', '-', '-c', '2', 'vlan 10 and icmp'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.add('capture', () => killAndWait(cap));
    const chunks: Buffer[] = [];
    let capErr = '';
    cap.stdout!.on('data', (x: Buffer) => chunks.push(x));
    cap.stderr!.on('data', (x) => (capErr += String(x)));
    const capExit = new Promise<number | null>((resolve) => cap.once('exit', (code) => resolve(code)));
    await waitFor(() => capErr.includes('capturing'), 'the capture to start', 10_000);
    assert.ok((await pingFrom(a.ns, '10.82.10.2', 1)) === 1, 'ping through the captured trunk');
    assert.is(await capExit, 0, capErr);
    const pcap = Buffer.concat(chunks);
    for (let at = 24, n = 0; n < 2; n++) {
      assert.is(pcap.readUInt16BE(at + 16 + 12), 0x8100, `record ${n} is tagged`);
      assert.is(pcap.readUInt16BE(at + 16 + 14) & 0xfff, 10, `record ${n} is in VLAN 10`);
      at += 16 + pcap.readUInt32LE(at + 8);
    }
    // TCP both ways: GSO frames from the access port get their tag pushed in the write's iovecs.
    const [sent, got] = await transfer(cleanup, a.ns, ns, '10.82.10.2', 4);
    assert.equal(got, sent, 'access -> trunk: every byte arrived intact');
    const [sent2, got2] = await transfer(cleanup, ns, a.ns, a.ip, 4);
    assert.equal(got2, sent2, 'trunk -> access: every byte arrived intact');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a node with two interfaces: NODE alone is ambiguous, NODE:IFNAME names one; attaching one interface twice is refused', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const ns = await makeNetns(cleanup, 'cnvl');
    const name = uniqueName('n');
    const e0 = await attach(cleanup, d.socket, ns, name, 'eth0');
    const e1 = await attach(cleanup, d.socket, ns, name, 'eth1');
    assert.is.not(e0.port, e1.port);
    const amb = await portSet(d.socket, name, '--vlan', '30');
    assert.is.not(amb.code, 0);
    assert.match(amb.stderr, /has 2 ports \(eth0, eth1\)/);
    const ok = await portSet(d.socket, `${name}:eth1`, '--vlan', '30');
    assert.is(ok.code, 0, ok.stderr);
    assert.equal((await portInfo(d.socket, e1.port))!.vlan, { mode: 'access', vlan: 30 });
    assert.equal((await portInfo(d.socket, e0.port))!.vlan, { mode: 'access', vlan: 1 });
    const ns2 = await makeNetns(cleanup, 'cnvl');
    const err = await attach(cleanup, d.socket, ns2, name, 'eth1').catch((e: Error & { code?: string }) => e);
    assert.is((err as { code?: string }).code, 'CN_DUPLICATE_NODE');
    // Detaching one interface permanently refuses that interface only.
    const det = await run(process.execPath, [BIN, 'detach', '--permanent', `${name}:eth1`, '-s', d.socket]);
    assert.is(det.code, 0, det.stderr);
    const ns3 = await makeNetns(cleanup, 'cnvl');
    const refused = await attach(cleanup, d.socket, ns3, name, 'eth1').catch((e: Error & { code?: string }) => e);
    assert.is((refused as { code?: string }).code, 'CN_DETACHED_PERMANENTLY');
    const e2 = await attach(cleanup, d.socket, ns3, name, 'eth2');
    assert.ok(e2.port > 0, 'another interface of the node attaches');
    await run(process.execPath, [BIN, 'undetach', `${name}:eth1`, '-s', d.socket]);
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'bad VLAN settings: exit 2 naming the value, refused by the daemon too, the port unchanged', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.83.0.1/24', ['--vlan', '10']);
    const before = JSON.stringify((await portInfo(d.socket, a.att.port))!.vlan);
    for (const [args, pattern] of [
      [['--vlan', '4095'], /4095.*outside 1\.\.4094/],
      [['--vlan', '0'], /outside 1\.\.4094/],
      [['--trunk', '10,20,10'], /VLAN 10 is listed twice/],
      [['--trunk', '10', '--native', '5000'], /5000.*outside/],
      [['--native', '3'], /--native goes with --trunk/],
    ] as const) {
      const r = await portSet(d.socket, String(a.att.port), ...args);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, pattern);
      assert.is(JSON.stringify((await portInfo(d.socket, a.att.port))!.vlan), before, `${args.join(' ')} left the port as it was`);
    }
    // A protocol client other than the CLI gets CN_BAD_REQUEST.
    for (const vlan of [{ mode: 'access' as const, vlan: 4095 }, { mode: 'trunk' as const, allowed: [7, 7] }]) {
      const err = await request(d.socket, { op: 'port-set', port: a.att.port, vlan }).catch((e: Error & { code?: string }) => e);
      assert.is((err as { code?: string }).code, 'CN_BAD_REQUEST');
    }
    assert.is(JSON.stringify((await portInfo(d.socket, a.att.port))!.vlan), before);
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a VXLAN uplink carries two VLANs between two switches', async () => {
  const cleanup = new Cleanup();
  try {
    const hA = await makeNetns(cleanup, 'cnvh');
    const hB = await makeNetns(cleanup, 'cnvh');
    const va = uniqueName('cnva');
    const vb = uniqueName('cnvb');
    await sh('ip', 'link', 'add', va, 'netns', hA, 'type', 'veth', 'peer', 'name', vb, 'netns', hB);
    await sh('ip', '-n', hA, 'addr', 'add', '192.168.84.1/24', 'dev', va);
    await sh('ip', '-n', hB, 'addr', 'add', '192.168.84.2/24', 'dev', vb);
    await sh('ip', '-n', hA, 'link', 'set', va, 'up');
    await sh('ip', '-n', hB, 'link', 'set', vb, 'up');
    const a = await startDaemon(cleanup, ['--vxlan', '84', '--vxlan-local', '192.168.84.1', '--vxlan-remote', '192.168.84.2'], join(tmpdir(), `${uniqueName('cnvx')}.sock`), hA);
    const b = await startDaemon(cleanup, ['--vxlan', '84', '--vxlan-local', '192.168.84.2', '--vxlan-remote', '192.168.84.1'], join(tmpdir(), `${uniqueName('cnvx')}.sock`), hB);
    // One subnet again: VLAN 10 and VLAN 20 must stay apart across the uplink.
    const a10 = await node(cleanup, a.socket, '10.84.0.1/24', ['--vlan', '10']);
    const a20 = await node(cleanup, a.socket, '10.84.0.2/24', ['--vlan', '20']);
    const b10 = await node(cleanup, b.socket, '10.84.0.3/24', ['--vlan', '10']);
    const b20 = await node(cleanup, b.socket, '10.84.0.4/24', ['--vlan', '20']);
    for (const n of [a10, a20, b10, b20]) await sh('ip', '-n', n.ns, 'link', 'set', 'eth0', 'mtu', '1446');
    assert.ok((await pingFrom(a10.ns, b10.ip, 3)) >= 2, 'VLAN 10 across the uplink');
    assert.ok((await pingFrom(a20.ns, b20.ip, 3)) >= 2, 'VLAN 20 across the uplink');
    assert.is(await pingFrom(a10.ns, b20.ip, 2, 1), 0, 'VLAN 10 -> VLAN 20 across the uplink');
    // TCP in VLAN 10 across the uplink: GSO frames tagged, segmented to its MTU, merged and untagged again.
    const [sent, got] = await transfer(cleanup, a10.ns, b10.ns, b10.ip, 8);
    assert.equal(got, sent, 'every byte arrived intact');
    const uplink = (await ports(b.socket)).find((p) => p.ifname === 'vxlan')!;
    const macs = (await request(b.socket, { op: 'macs' })).macs.filter((m) => m.port === uplink.port);
    assert.ok(macs.some((m) => m.vlan === 10) && macs.some((m) => m.vlan === 20), 'the remote MACs were learned in their VLANs');
  } finally {
    await cleanup.run();
  }
});

test.run();
