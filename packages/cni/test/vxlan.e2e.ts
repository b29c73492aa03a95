/**
 * Two simulated hosts: network namespaces joined by a veth pair (the
 * underlay), each with its own containet switch run inside it and a VXLAN
 * uplink to the other, its own plugin state and host-local range of one
 * subnet. A container namespace on each is attached by the plugin run on
 * its host; the containers ping each other across the uplinks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { Cleanup, makeNetns, pingFrom, sh, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import { containerId, leases, netConf, ports, privateDirs, runPlugin, startSwitch } from './helpers.js';

const reason = whyNoRoot() ?? (existsSync('/usr/lib/cni/host-local') ? null : 'needs /usr/lib/cni/host-local (Debian containernetworking-plugins)');

testIf(test, reason, 'two hosts joined over VXLAN: a container attached by the plugin on each pings the other', async () => {
  const cleanup = new Cleanup();
  try {
    const underlay = ['192.0.2.1', '192.0.2.2'] as const;
    const hosts = [await makeNetns(cleanup, 'cnivh'), await makeNetns(cleanup, 'cnivh')] as const;
    const va = uniqueName('cniva');
    const vb = uniqueName('cnivb');
    await sh('ip', 'link', 'add', va, 'netns', hosts[0], 'type', 'veth', 'peer', 'name', vb, 'netns', hosts[1]);
    await sh('ip', '-n', hosts[0], 'addr', 'add', `${underlay[0]}/24`, 'dev', va);
    await sh('ip', '-n', hosts[1], 'addr', 'add', `${underlay[1]}/24`, 'dev', vb);
    await sh('ip', '-n', hosts[0], 'link', 'set', va, 'up');
    await sh('ip', '-n', hosts[1], 'link', 'set', vb, 'up');

    const network = 'cnivx';
    const pods: Array<{ ns: string; ip: string; state: string; ipamData: string; socket: string; att: { containerId: string; netns: string; ifname: string }; conf: Record<string, unknown> }> = [];
    for (let h = 0; h < 2; h++) {
      const sw = await startSwitch(cleanup, ['--vxlan', '42', '--vxlan-local', underlay[h]!, '--vxlan-remote', underlay[1 - h]!], undefined, hosts[h]);
      const { state, ipamData } = privateDirs(cleanup);
      // One subnet across hosts, a range of it per host (as flannel hands out
      // a slice per node); MTU 1450 leaves room for VXLAN's 50 bytes.
      const conf = netConf(network, sw.socket, ipamData, '10.100.0.0/24', { mtu: 1450 });
      const ipam = conf['ipam'] as Record<string, unknown>;
      ipam['rangeStart'] = h === 0 ? '10.100.0.10' : '10.100.0.100';
      ipam['rangeEnd'] = h === 0 ? '10.100.0.99' : '10.100.0.199';
      const ns = await makeNetns(cleanup, 'cnivp');
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const r = await runPlugin({ command: 'ADD', att, state, ns: hosts[h] }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      cleanup.add(`DEL on host ${h}`, () => runPlugin({ command: 'DEL', att, state, ns: hosts[h] }, conf));
      const ip = ((r.json as { ips: Array<{ address: string }> }).ips[0]!.address).split('/')[0]!;
      pods.push({ ns, ip, state, ipamData, socket: sw.socket, att, conf });
    }
    assert.match(pods[0]!.ip, /^10\.100\.0\.\d\d$/);
    assert.match(pods[1]!.ip, /^10\.100\.0\.1\d\d$/);
    assert.is(await pingFrom(pods[0]!.ns, pods[1]!.ip, 3, 3), 3, 'host A container -> host B container');
    assert.is(await pingFrom(pods[1]!.ns, pods[0]!.ip, 3, 3), 3, 'host B container -> host A container');
    // A payload that fills the 1450-byte MTU crosses too (no fragmentation, nothing too big).
    const big = await sh('ip', 'netns', 'exec', pods[0]!.ns, 'ping', '-n', '-c', '2', '-M', 'do', '-s', '1422', '-W', '2', pods[1]!.ip);
    assert.match(big, /2 received/);
    for (const p of pods) {
      const r = await runPlugin({ command: 'DEL', att: p.att, state: p.state, ns: hosts[pods.indexOf(p)] }, p.conf);
      assert.is(r.status, 0, r.stdout);
      assert.equal((await ports(p.socket)).filter((x) => x.node.startsWith('cni-')), []);
      assert.equal(leases(p.ipamData, network), []);
    }
  } finally {
    await cleanup.run();
  }
});

test.run();
