/**
 * The plugin driven as the CNI spec says (CNI_* environment, config on
 * stdin) for network namespaces the test makes, on a containet switch it
 * starts: ADD, ping through the switch, CHECK, STATUS, VERSION, GC, DEL
 * (twice, and with the namespace gone), `containet-cni reattach`, a switch
 * restart after which the switch re-attaches the pods by itself.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '@containet/common';
import { Cleanup, killAndWait, linkExists, makeNetns, pingFrom, run, sh, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { portIdentity } from '@containet/cni';
import { containerId, leases, netConf, PLUGIN, ports, privateDirs, runPlugin, startSwitch, type Attachment } from './helpers.js';

const reason = whyNoRoot() ?? (existsSync('/usr/lib/cni/host-local') ? null : 'needs /usr/lib/cni/host-local (Debian containernetworking-plugins)');

async function detach(socket: string, node: string): Promise<void> {
  const c = await ControlClient.connect(socket);
  try {
    await c.request({ op: 'detach', port: node });
  } finally {
    c.close();
  }
}

testIf(test, reason, 'ADD two namespaces that ping each other; CHECK, STATUS, VERSION; DEL removes port, tap, lease and record; DEL again', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const conf = netConf('cnitest', sw.socket, ipamData, '10.91.0.0/24', { mtu: 1400 });
    const atts: Attachment[] = [];
    const results: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 2; i++) {
      const ns = await makeNetns(cleanup, 'cnicni');
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const r = await runPlugin({ command: 'ADD', att, state }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      atts.push(att);
      results.push(r.json!);
    }
    const [r0, r1] = results as [Record<string, any>, Record<string, any>];
    assert.is(r0['cniVersion'], '1.1.0');
    assert.equal(r0['interfaces'][0].name, 'eth0');
    assert.is(r0['interfaces'][0].sandbox, atts[0]!.netns);
    assert.is(r0['interfaces'][0].mtu, 1400);
    assert.match(r0['ips'][0].address, /^10\.91\.0\.\d+\/24$/);
    assert.is(r0['ips'][0].interface, 0);
    const ip1 = (r1['ips'][0].address as string).split('/')[0]!;
    const ns0 = atts[0]!.netns.split('/').pop()!;
    assert.is(await pingFrom(ns0, ip1, 3), 3, 'ping through containet');
    // What the interface is in the namespace: the tap, its MAC, MTU, address.
    const link = await sh('ip', '-n', ns0, '-d', 'link', 'show', 'eth0');
    assert.match(link, /tun type tap/);
    assert.match(link, /vnet_hdr on persist on/);
    assert.match(link, new RegExp(`link/ether ${r0['interfaces'][0].mac}`));
    assert.match(await sh('ip', '-n', ns0, 'route'), /default via 10\.91\.0\.1 dev eth0/);
    const sw0 = await ports(sw.socket);
    assert.is(sw0.length, 2);
    // Node identities derived from the 64-character ids; the record has the full id.
    const rec = JSON.parse(readFileSync(join(state, 'cnitest', `${atts[0]!.containerId}@eth0.json`), 'utf8')) as Record<string, unknown>;
    assert.is(rec['containerId'], atts[0]!.containerId);
    assert.ok(sw0.some((p) => p.node === rec['node']));
    assert.is(leases(ipamData, 'cnitest').length, 2);

    const withPrev = { ...conf, prevResult: r0 };
    let r = await runPlugin({ command: 'CHECK', att: atts[0], state }, withPrev);
    assert.is(r.status, 0, r.stdout);
    r = await runPlugin({ command: 'STATUS', state }, conf);
    assert.is(r.status, 0, r.stdout);
    r = await runPlugin({ command: 'VERSION', state }, { cniVersion: '1.0.0' });
    assert.equal(r.json, { cniVersion: '1.0.0', supportedVersions: ['1.0.0', '1.1.0'] });

    // CHECK fails when the port is not on the switch or the interface differs.
    await detach(sw.socket, rec['node'] as string);
    r = await runPlugin({ command: 'CHECK', att: atts[0], state }, withPrev);
    assert.is.not(r.status, 0);
    assert.is(r.json?.['code'], 102);
    assert.match(String(r.json?.['msg']), /not on the switch/);
    const re = await run(PLUGIN, ['reattach', '--socket', sw.socket], { env: { ...process.env, CONTAINET_CNI_STATE: state } });
    assert.is(re.code, 0, re.stderr);
    assert.match(re.stdout, new RegExp(`attached ${rec['node']}`));
    r = await runPlugin({ command: 'CHECK', att: atts[0], state }, withPrev);
    assert.is(r.status, 0, r.stdout);
    await sh('ip', '-n', ns0, 'addr', 'flush', 'dev', 'eth0');
    r = await runPlugin({ command: 'CHECK', att: atts[0], state }, withPrev);
    assert.is(r.json?.['code'], 102);
    assert.match(String(r.json?.['details']), /lacks address 10\.91\.0\.\d+\/24/);

    // DEL: port, tap, lease and record go; DEL again succeeds.
    for (const att of atts) {
      r = await runPlugin({ command: 'DEL', att, state }, conf);
      assert.is(r.status, 0, r.stdout);
      assert.not.ok(await linkExists(att.netns.split('/').pop()!, 'eth0'));
    }
    assert.equal(await ports(sw.socket), []);
    assert.equal(leases(ipamData, 'cnitest'), []);
    assert.equal(readdirSync(join(state, 'cnitest')), []);
    r = await runPlugin({ command: 'DEL', att: atts[0], state }, conf);
    assert.is(r.status, 0, r.stdout);
    // DEL with the namespace gone and no CNI_NETNS (the spec makes it optional for DEL).
    r = await runPlugin({ command: 'DEL', att: { containerId: atts[1]!.containerId, ifname: 'eth0' }, state }, conf);
    assert.is(r.status, 0, r.stdout);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'a switch restart: the persistent taps stay and the new switch re-attaches the recorded pods by itself; one it cannot is logged', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    // The switch finds the plugin's records where the plugin writes them.
    const env = { CONTAINET_CNI_STATE: state };
    let sw = await startSwitch(cleanup, [], undefined, undefined, env);
    const socket = sw.socket;
    const conf = netConf('cnirestart', socket, ipamData, '10.92.0.0/24');
    const nss: string[] = [];
    const ips: string[] = [];
    const nodes: string[] = [];
    for (let i = 0; i < 3; i++) {
      // The third namespace is removed while the switch is down, so its clean-up tolerates its absence.
      const ns = i < 2 ? await makeNetns(cleanup, 'cnicnr') : uniqueName('cnicnr');
      if (i === 2) {
        await sh('ip', 'netns', 'add', ns);
        cleanup.add(`ip netns del ${ns}`, () => run('ip', ['netns', 'del', ns]));
      }
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const r = await runPlugin({ command: 'ADD', att, state }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      cleanup.add(`DEL ${att.containerId}`, () => runPlugin({ command: 'DEL', att, state }, conf));
      nss.push(ns);
      ips.push(((r.json as any).ips[0].address as string).split('/')[0]!);
      nodes.push(portIdentity(att.containerId, 'eth0'));
    }
    assert.is(await pingFrom(nss[0]!, ips[1]!, 1), 1);
    await killAndWait(sw.child, 'SIGKILL');
    assert.ok(await linkExists(nss[0]!, 'eth0'), 'the tap outlives the switch');
    await sh('ip', 'netns', 'del', nss[2]!);
    sw = await startSwitch(cleanup, [], socket, undefined, env);
    // No manual step: the switch runs the plugin's reattach once it listens.
    await waitFor(async () => (await ports(socket)).length === 2, 'the switch to re-attach the two pods', 20_000);
    assert.equal((await ports(socket)).map((p) => p.node).sort(), nodes.slice(0, 2).sort());
    assert.is(await pingFrom(nss[0]!, ips[1]!, 3), 3, 'connectivity back after the restart');
    await waitFor(() => sw.log().includes('cni: re-attached 2 pod port(s)'), 'the outcome in the log', 10_000);
    assert.match(sw.log(), new RegExp(`cni: cannot re-attach ${nodes[2]}: `));
    assert.is(sw.child.exitCode, null, 'the switch carries on');
    // By hand, the same finds both present and the third still missing.
    const again = await run(PLUGIN, ['reattach', '--json', '--socket', socket], { env: { ...process.env, ...env } });
    assert.is(again.code, 1);
    const out = JSON.parse(again.stdout) as { attached: string[]; present: string[]; failed: Array<{ node: string }> };
    assert.equal(out.attached, []);
    assert.is(out.present.length, 2);
    assert.equal(out.failed.map((f) => f.node), [nodes[2]]);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'GC removes the port, tap, lease and record of every attachment not in cni.dev/valid-attachments', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const conf = netConf('cnigc', sw.socket, ipamData, '10.93.0.0/24');
    const atts: Attachment[] = [];
    for (let i = 0; i < 3; i++) {
      // The third namespace is removed before GC, so its clean-up tolerates its absence.
      const ns = i < 2 ? await makeNetns(cleanup, 'cnicng') : uniqueName('cnicng');
      if (i === 2) {
        await sh('ip', 'netns', 'add', ns);
        cleanup.add(`ip netns del ${ns}`, () => run('ip', ['netns', 'del', ns]));
      }
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const r = await runPlugin({ command: 'ADD', att, state }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      atts.push(att);
    }
    // The third one's namespace is gone already (GC may assume so, SPEC.md).
    await sh('ip', 'netns', 'del', atts[2]!.netns.split('/').pop()!);
    const keep = atts[0]!;
    const r = await runPlugin({ command: 'GC', state }, { ...conf, 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] });
    assert.is(r.status, 0, r.stdout);
    const left = await ports(sw.socket);
    assert.is(left.length, 1);
    assert.equal(readdirSync(join(state, 'cnigc')), [`${keep.containerId}@eth0.json`]);
    assert.is(leases(ipamData, 'cnigc').length, 1);
    assert.ok(await linkExists(keep.netns.split('/').pop()!, 'eth0'));
    assert.not.ok(await linkExists(atts[1]!.netns.split('/').pop()!, 'eth0'));
    const d = await runPlugin({ command: 'DEL', att: keep, state }, conf);
    assert.is(d.status, 0, d.stdout);
    assert.equal(await ports(sw.socket), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason ?? (existsSync('/usr/lib/cni/static') ? null : 'needs /usr/lib/cni/static'), 'static IPAM, IPv4 and IPv6: the addresses and routes it gives are applied; both families ping', async () => {
  const cleanup = new Cleanup();
  try {
    const { state } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const nss: string[] = [];
    for (let i = 0; i < 2; i++) {
      const ns = await makeNetns(cleanup, 'cnicns');
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const conf = {
        cniVersion: '1.0.0',
        name: 'cnistatic',
        type: 'containet',
        socket: sw.socket,
        ipam: {
          type: 'static',
          addresses: [
            { address: `10.96.1.${10 + i}/24`, gateway: '10.96.1.1' },
            { address: `fd00:96::${10 + i}/64`, gateway: 'fd00:96::1' },
          ],
          routes: [{ dst: '192.0.2.0/24' }, { dst: '2001:db8::/32' }],
        },
      };
      const r = await runPlugin({ command: 'ADD', att, state }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      cleanup.add(`DEL ${att.containerId}`, () => runPlugin({ command: 'DEL', att, state }, conf));
      const ips = (r.json as { ips: Array<{ address: string }> }).ips.map((ip) => ip.address);
      assert.equal(ips, [`10.96.1.${10 + i}/24`, `fd00:96::${10 + i}/64`]);
      const routes4 = await sh('ip', '-n', ns, 'route');
      assert.match(routes4, /192\.0\.2\.0\/24 via 10\.96\.1\.1 dev eth0/);
      const routes6 = await sh('ip', '-n', ns, '-6', 'route');
      assert.match(routes6, /2001:db8::\/32 via fd00:96::1 dev eth0/);
      nss.push(ns);
    }
    assert.is(await pingFrom(nss[0]!, '10.96.1.11', 2), 2);
    const r6 = await run('ip', ['netns', 'exec', nss[0]!, 'ping', '-6', '-n', '-c', '2', '-W', '2', '-i', '0.2', 'fd00:96::11']);
    assert.match(r6.stdout, /2 received/, r6.stdout + r6.stderr);
  } finally {
    await cleanup.run();
  }
});

test.run();
