/**
 * Topology files read and planned without root: containerlab's fields and
 * inheritance, the refusals (each names FILE:LINE:COL and the field, and
 * says what is supported), management addresses, link vars and the graph.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseSubnet, parseRate, parseSubnet, parseTime, parseTopologyText, planLab, renderGraph, shellWords, TopologyError } from '@containet/containet';

function refusal(text: string): TopologyError {
  try {
    parseTopologyText(text, 'lab.clab.yml');
  } catch (err) {
    assert.instance(err, TopologyError);
    return err as TopologyError;
  }
  throw new Error('accepted a file it should refuse');
}

const SMALL = `name: t1
topology:
  defaults:
    env: {A: "1"}
  kinds:
    linux:
      env: {B: "2"}
  groups:
    routers:
      sysctls:
        net.ipv4.ip_forward: 1
  nodes:
    r1: {kind: linux, group: routers, env: {A: "9"}, mgmt-ipv4: 172.20.20.10, memory: 256MB, cpu: 0.5, exec: ["ip addr add 10.0.0.1/24 dev eth1"]}
    h1: {kind: linux, cmd: "sh -c 'sleep 1000'"}
    sw: {kind: bridge}
  links:
    - endpoints: ["r1:eth1", "h1:eth1"]
    - type: veth
      endpoints:
        - {node: r1, interface: eth2, mac: "02:00:00:00:00:12"}
        - {node: sw, interface: p1}
      vars: {delay: 20ms, jitter: 5ms, loss: 1%, rate: 100mbit, vlan: 10}
`;

test('containerlab fields resolve node, group, kind, defaults in that order', () => {
  const t = parseTopologyText(SMALL);
  const r1 = t.nodes.find((n) => n.name === 'r1')!;
  assert.equal(r1.env, { A: '9', B: '2' });
  assert.equal(r1.sysctls, { 'net.ipv4.ip_forward': '1' });
  assert.is(r1.memory, 256 * 1024 * 1024);
  assert.is(r1.cpu, 0.5);
  assert.equal(r1.exec, ['ip addr add 10.0.0.1/24 dev eth1']);
  assert.is(t.prefix, 'clab');
  const ext = t.links[1]!;
  assert.is(ext.endpoints[0].mac, '02:00:00:00:00:12');
  assert.equal(ext.vars, { impair: { delayUs: 20000, jitterUs: 5000, lossPercent: 1, rateBps: 100e6 }, vlan: 10 });
});

test('the plan: switches per bridge and point-to-point link, addresses, ports, /etc/hosts', () => {
  const plan = planLab(parseTopologyText(SMALL), parseSubnet('172.20.20.0/24'));
  assert.equal(
    plan.switches.map((s) => `${s.id}:${s.kind}`),
    ['mgmt:mgmt', 'bridge-1:bridge', 'links:link'],
  );
  assert.is(plan.switches[0]!.hostAddress, '172.20.20.1/24');
  const r1 = plan.nodes.find((n) => n.name === 'r1')!;
  const h1 = plan.nodes.find((n) => n.name === 'h1')!;
  assert.is(r1.container, 'clab-t1-r1');
  assert.is(r1.mgmtAddress, '172.20.20.10/24');
  // h1 takes the first free address (.2: .0 network, .1 the host).
  assert.is(h1.mgmtAddress, '172.20.20.2/24');
  assert.equal(r1.interfaces.map((i) => `${i.ifname}@${i.switchId}`), ['eth1@links', 'eth2@bridge-1']);
  // The point-to-point link is VLAN 2 on the links switch, for both its ends.
  assert.is(r1.interfaces[0]!.vlan, 2);
  assert.is(h1.interfaces[0]!.vlan, 2);
  assert.is(r1.interfaces[1]!.vlan, 10);
  assert.is(r1.interfaces[1]!.impair?.delayUs, 20000);
  assert.match(plan.hosts, /172\.20\.20\.10\tclab-t1-r1 r1\n/);
  assert.match(plan.hosts, /172\.20\.20\.2\tclab-t1-h1 h1\n/);
});

test('refusals name the place, the field and what is supported', () => {
  let e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux\n');
  assert.match(e.message, /^lab\.clab\.yml:\d+:\d+: not valid YAML/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: nokia_srlinux}\n');
  assert.match(e.message, /^lab\.clab\.yml:4:15: topology\.nodes\.a\.kind: unsupported kind "nokia_srlinux"/);
  assert.match(e.hint!, /linux, bridge, ovs-bridge, host/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n');
  assert.match(e.message, /^lab\.clab\.yml:6:29: topology\.links\[0\]\.endpoints\[1\]: no node "b"/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n    c: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["c:eth1", "a:eth1"]\n');
  assert.match(e.message, /^lab\.clab\.yml:9:29: .*interface a:eth1 is used twice \(first at lab\.clab\.yml:8:19\)/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux, colour: red}\n');
  assert.match(e.message, /^lab\.clab\.yml:4:30: topology\.nodes\.a\.colour: unknown field/);
  assert.match(e.hint!, /mgmt-ipv4/);
  e = refusal('name: x\nsettings: {}\ntopology:\n  nodes:\n    a: {kind: linux}\n');
  assert.match(e.message, /^lab\.clab\.yml:2:11: settings: unknown field/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n    - type: macvlan\n      endpoints: []\n');
  assert.match(e.message, /unsupported link type "macvlan"/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n      vars: {delay: soon}\n');
  assert.match(e.message, /^lab\.clab\.yml:8:21: topology\.links\[0\]\.vars\.delay: bad delay "soon"/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n    - endpoints: ["a:eth0", "b:eth1"]\n');
  assert.match(e.message, /a:eth0 is the management interface/);
  e = refusal('name: x\ntopology:\n  nodes:\n    br: {kind: bridge, image: alpine}\n');
  assert.match(e.message, /topology\.nodes\.br\.image: a bridge node takes no image/);
  e = refusal('name: x\ntopology:\n  nodes:\n    a:\n');
  assert.match(e.message, /topology\.nodes\.a: no `kind`/);
});

test('mgmt-ipv4 outside the management subnet or taken twice is refused', () => {
  const t = parseTopologyText('name: x\ntopology:\n  nodes:\n    a: {kind: linux, mgmt-ipv4: 10.9.9.9}\n', 'f.yml');
  assert.throws(() => planLab(t, parseSubnet('172.20.20.0/24')), /f\.yml:4:8: topology\.nodes\.a\.mgmt-ipv4: 10\.9\.9\.9 is not a host address/);
  const u = parseTopologyText('name: x\ntopology:\n  nodes:\n    a: {kind: linux, mgmt-ipv4: 172.20.20.5}\n    b: {kind: linux, mgmt-ipv4: 172.20.20.5}\n', 'f.yml');
  assert.throws(() => planLab(u, parseSubnet('172.20.20.0/24')), /172\.20\.20\.5 is also a's/);
});

test('a free management subnet skips routes and other labs', () => {
  assert.equal(chooseSubnet([]), parseSubnet('172.20.20.0/24'));
  assert.equal(chooseSubnet([parseSubnet('172.20.20.0/24'), parseSubnet('172.20.21.128/25')]), parseSubnet('172.20.22.0/24'));
  assert.equal(chooseSubnet([parseSubnet('172.16.0.0/12')]), undefined);
});

test('tc units and shell words', () => {
  assert.is(parseTime('20ms'), 20000);
  assert.is(parseTime('1.5s'), 1500000);
  assert.is(parseTime('250us'), 250);
  assert.is(parseTime('fast'), undefined);
  assert.is(parseRate('100mbit'), 100e6);
  assert.is(parseRate('1gbit'), 1e9);
  assert.is(parseRate('10mbps'), 80e6);
  assert.is(parseRate('512kbit'), 512e3);
  assert.equal(shellWords(`sh -c 'echo "a b"; sleep 9' x\\ y "q\\"z"`), ['sh', '-c', 'echo "a b"; sleep 9', 'x y', 'q"z']);
});

test('the graph is one self-contained page', () => {
  const html = renderGraph(parseTopologyText(SMALL));
  assert.match(html, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const name of ['r1', 'h1', 'sw', 'eth1', 'p1']) assert.ok(html.includes(`>${name}<`), name);
  assert.ok(html.includes('>delay 20ms±5ms, loss 1%, rate 100mbit, vlan 10<'));
  assert.not.match(html, /<script|src=|href=|@import|url\(/);
});

test.run();
