import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Cleanup, pingFrom, run, sh, testIf, whyNoRoot, waitFor } from '@containet/common/testing';
import type { MacEntry } from '@containet/common';
import { killAndWait, node, portInfo, ports, request, startDaemon } from './helpers.js';
import * as portsCmd from '../src/commands/ports.js';
import * as macsCmd from '../src/commands/macs.js';

const root = whyNoRoot();

testIf(test, root, 'three namespaces: ping all pairs; unicast stays off the third port; broadcast reaches all', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.77.0.1/24');
    const b = await node(cleanup, d.socket, '10.77.0.2/24');
    const c = await node(cleanup, d.socket, '10.77.0.3/24');
    for (const [from, to] of [[a, b], [a, c], [b, c], [b, a], [c, a], [c, b]] as const) {
      assert.ok((await pingFrom(from.ns, to.ip, 2)) >= 1, `${from.ip} -> ${to.ip}`);
    }
    // Learned: a <-> b unicast must not reach c.
    const before = (await portInfo(d.socket, c.att.port))!.counters.txPackets;
    const bBefore = (await portInfo(d.socket, b.att.port))!.counters.txPackets;
    assert.is(await pingFrom(a.ns, b.ip, 10), 10);
    const after = (await portInfo(d.socket, c.att.port))!.counters.txPackets;
    const bAfter = (await portInfo(d.socket, b.att.port))!.counters.txPackets;
    assert.is(after - before, 0, 'no frame of the a<->b exchange went to c');
    assert.ok(bAfter - bBefore >= 10, 'b got the echo requests');

    // Broadcast: an echo to 10.77.0.255 is flooded to b and c, both answer.
    for (const n of [b, c]) await sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_broadcasts=0');
    const txB = (await portInfo(d.socket, b.att.port))!.counters.txPackets;
    const txC = (await portInfo(d.socket, c.att.port))!.counters.txPackets;
    const r = await run('ip', ['netns', 'exec', a.ns, 'ping', '-b', '-n', '-c', '3', '-i', '0.2', '-W', '2', '10.77.0.255']);
    assert.ok((await portInfo(d.socket, b.att.port))!.counters.txPackets - txB >= 3, 'broadcast reached b');
    assert.ok((await portInfo(d.socket, c.att.port))!.counters.txPackets - txC >= 3, 'broadcast reached c');
    assert.match(r.stdout, /from 10\.77\.0\.2/);
    assert.match(r.stdout, /from 10\.77\.0\.3/);

    // What the management commands show.
    const table = await portsCmd.handler({ socket: d.socket });
    for (const n of [a, b, c]) assert.ok(table.includes(n.att.tap), `ports lists ${n.att.tap}`);
    const json = JSON.parse(await macsCmd.handler({ socket: d.socket, json: true })) as MacEntry[];
    assert.is(new Set(json.map((m) => m.port)).size, 3, 'a MAC learned on each port');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'MAC entries age out after --mac-age', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--mac-age', '1']);
    const a = await node(cleanup, d.socket, '10.78.0.1/24');
    const b = await node(cleanup, d.socket, '10.78.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const learned = await request(d.socket, { op: 'macs' });
    assert.ok(learned.macs.length >= 2, 'both stations learned');
    const t0 = Date.now();
    await waitFor(async () => (await request(d.socket, { op: 'macs' })).macs.length === 0, 'MAC table to empty', 4000);
    assert.ok(Date.now() - t0 < 3000, 'aged within aging time plus the sweep period');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1, 'forwarding goes on after aging (flood, relearn)');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a killed attachment disappears from the ports within a second; its MACs are flushed', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.79.0.1/24');
    const b = await node(cleanup, d.socket, '10.79.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const t0 = Date.now();
    await killAndWait(b.att.child, 'SIGKILL');
    await waitFor(async () => !(await portInfo(d.socket, b.att.port)), 'port to go', 3000, 20);
    assert.ok(Date.now() - t0 < 1000, `gone after ${Date.now() - t0} ms`);
    const { macs } = await request(d.socket, { op: 'macs' });
    assert.not.ok(macs.some((m) => m.port === b.att.port), 'no MAC left on the dead port');
    assert.match(d.log(), new RegExp(`port ${b.att.port} detached`));
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a port whose tap device is deleted is removed by the datapath within a second', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.80.0.1/24', ['--persist']);
    // The fixture exits: the port outlives its connection (persist) ...
    a.att.child.stdin!.end();
    await new Promise((r) => a.att.child.once('exit', r));
    assert.ok(await portInfo(d.socket, a.att.port), 'persistent port survives its connection');
    // ... until its tap goes away under it.
    const t0 = Date.now();
    await sh('ip', '-n', a.ns, 'link', 'del', 'eth0');
    await waitFor(async () => !(await portInfo(d.socket, a.att.port)), 'port to go', 3000, 20);
    assert.ok(Date.now() - t0 < 1000, `gone after ${Date.now() - t0} ms`);
    assert.match(d.log(), /tap closed/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'detach by id and by node identity', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.81.0.1/24');
    const b = await node(cleanup, d.socket, '10.81.0.2/24');
    const detachCmd = await import('../src/commands/detach.js');
    assert.match(await detachCmd.handler({ socket: d.socket }, [String(a.att.port)]), new RegExp(`detached port ${a.att.port}`));
    const nodeB = (await portInfo(d.socket, b.att.port))!.node;
    assert.match(await detachCmd.handler({ socket: d.socket }, [nodeB]), new RegExp(`detached port ${b.att.port}`));
    assert.is((await ports(d.socket)).length, 0);
    try {
      await detachCmd.handler({ socket: d.socket }, ['999']);
      assert.unreachable('detaching an unknown port must fail');
    } catch (err) {
      assert.is((err as { code: string }).code, 'CN_NO_SUCH_PORT');
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a port that cannot take frames (interface down) counts drops and never holds up the others', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.96.0.1/24');
    const b = await node(cleanup, d.socket, '10.96.0.2/24');
    const c = await node(cleanup, d.socket, '10.96.0.3/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    await sh('ip', '-n', c.ns, 'link', 'set', 'eth0', 'down');
    // Broadcasts are flooded to c too, where tun refuses them (EIO): drops.
    await run('ip', ['netns', 'exec', a.ns, 'ping', '-b', '-n', '-c', '5', '-i', '0.2', '-W', '1', '10.96.0.255']);
    const ci = (await portInfo(d.socket, c.att.port))!.counters;
    assert.ok(ci.drops >= 5, `drops counted on the down port: ${ci.drops}`);
    assert.is(await pingFrom(a.ns, b.ip, 10), 10, 'a and b unaffected');
    assert.ok(await portInfo(d.socket, c.att.port), 'a down interface is not a dead port');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'frames up to 64 KiB cross the switch, to vnet and to plain ports', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.95.0.1/24');
    const b = await node(cleanup, d.socket, '10.95.0.2/24');
    const p = await node(cleanup, d.socket, '10.95.0.3/24', ['--plain']);
    for (const n of [a, b, p]) await sh('ip', '-n', n.ns, 'link', 'set', 'eth0', 'mtu', '65521'); // tun's maximum
    // 65000 bytes of ICMP payload, never fragmented: one 65042-byte frame each way.
    for (const to of [b, p]) {
      const r = await run('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '65000', to.ip]);
      assert.match(r.stdout, /2 received/, `${to.ip}: ${r.stdout}${r.stderr}`);
    }
    const pi = (await portInfo(d.socket, p.att.port))!.counters;
    assert.ok(pi.rxBytes >= 2 * 65000, 'the plain port sent the large replies');
    assert.is(pi.errors, 0);
  } finally {
    await cleanup.run();
  }
});

test.run();
