/**
 * --net values as the engine gets them: keys, trunk lists in both forms,
 * interface naming after -s's eth0, gateways per interface, and the
 * refusals (UsageError, exit status 2) naming the key and value.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nameInterfaces, parseNetOption } from '../src/container/net-option.js';
import { parseRunOptions } from '../src/container/options.js';

function usage(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CN_USAGE', String(err));
    assert.is((err as { exitCode?: number }).exitCode, 2);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected a refusal matching ${message}`);
}

test('--net keys: addresses v4 first, MAC normalised, MTU, access and trunk VLANs', () => {
  const o = parseNetOption('/tmp/a.sock,if=lan1,ip6=fd00:1::2/64,ip=10.0.1.2/24,ip=10.0.2.2/24,mac=02-AA-00-00-00-01,mtu=1450,vlan=10');
  assert.equal(o, {
    socket: '/tmp/a.sock',
    ifname: 'lan1',
    addresses: ['10.0.1.2/24', '10.0.2.2/24', 'fd00:1::2/64'],
    mac: '02:aa:00:00:00:01',
    mtu: 1450,
    vlan: { mode: 'access', vlan: 10 },
  });
  assert.equal(parseNetOption('/tmp/a.sock,trunk=10:20:4094').vlan, { mode: 'trunk', allowed: [10, 20, 4094] });
  assert.equal(parseNetOption('/tmp/a.sock,trunk=10,20,native=30,ip=10.0.0.1/24').vlan, { mode: 'trunk', allowed: [10, 20], native: 30 }, 'a bare number continues the trunk list');
  assert.equal(parseNetOption('/tmp/a.sock,trunk=10:20,30').vlan, { mode: 'trunk', allowed: [10, 20, 30] });
  assert.equal(parseNetOption('rel.sock').socket, `${process.cwd()}/rel.sock`, 'the socket is made absolute');
  assert.is(parseNetOption('/tmp/a.sock').ifname, undefined);
});

test('--net refusals name the key and value', () => {
  const cases: [string, RegExp][] = [
    ['', /first field must be the switch's control socket/],
    ['ip=10.0.0.1/24', /first field must be the switch's control socket/],
    ['/s,colour=blue', /unknown key colour=blue/],
    ['/s,20', /"20" is not KEY=VALUE/],
    ['/s,if=', /invalid if=/],
    ['/s,if=a/b', /invalid if=a\/b/],
    ['/s,if=abcdefghijklmnop', /invalid if=abcdefghijklmnop/],
    ['/s,ip=10.0.0.1/33', /invalid ip=10\.0\.0\.1\/33/],
    ['/s,ip6=zz::1/64', /invalid ip6=zz::1\/64/],
    ['/s,mac=02:00:00:00:00:0g', /invalid mac=02:00:00:00:00:0g/],
    ['/s,mac=ff:ff:ff:ff:ff:ff', /multicast/],
    ['/s,mac=00:00:00:00:00:00', /all zeros/],
    ['/s,mtu=65536', /invalid mtu=65536/],
    ['/s,mtu=1x', /invalid mtu=1x/],
    ['/s,vlan=0', /invalid vlan=0/],
    ['/s,vlan=4095', /invalid vlan=4095/],
    ['/s,trunk=', /invalid trunk=: VLAN \(empty\)/],
    ['/s,trunk=10:5000', /invalid trunk=10:5000: VLAN 5000/],
    ['/s,trunk=10,10', /lists VLAN 10 twice/],
    ['/s,native=5', /native=5 needs trunk=/],
    ['/s,vlan=5,trunk=6', /vlan= and trunk= both given/],
    ['/s,vlan=5,vlan=6', /vlan= is given twice/],
  ];
  for (const [text, message] of cases) usage(() => parseNetOption(text), message);
});

test('interface names: eth0 of -s first, then the lowest free ethN; a name twice is refused', () => {
  const names = (eth0: boolean, nets: string[]) =>
    nameInterfaces(eth0 ? { socket: '/s', ifname: 'eth0', addresses: [], mac: undefined, mtu: undefined, vlan: undefined } : undefined, nets).map((i) => i.ifname);
  assert.equal(names(false, ['/a', '/b', '/b']), ['eth0', 'eth1', 'eth2']);
  assert.equal(names(true, ['/a', '/b']), ['eth0', 'eth1', 'eth2']);
  assert.equal(names(false, ['/a', '/b,if=eth0', '/c']), ['eth1', 'eth0', 'eth2'], 'a named one keeps its place in the order');
  assert.equal(names(false, ['/a,if=wan', '/b']), ['wan', 'eth0']);
  usage(() => names(true, ['/a,if=eth0']), /if=eth0 names a second interface eth0 \(-s makes eth0\)/);
  usage(() => names(false, ['/a,if=x', '/b,if=x']), /if=x names a second interface x/);
});

test('run options: -s with --net, gateways by subnet, -4 without -s, -N, -p to the first IPv4 address', () => {
  const o = parseRunOptions({ socket: '/s', ipv4: '10.0.0.2/24', netIf: ['/t,ip=10.0.1.2/24', '/t,ip6=fd00::2/64'], gateway: ['10.0.1.1', 'fd00::1'] }, ['sh']);
  assert.equal(o.interfaces.map((i) => [i.ifname, i.socket, i.addresses]), [
    ['eth0', '/s', ['10.0.0.2/24']],
    ['eth1', '/t', ['10.0.1.2/24']],
    ['eth2', '/t', ['fd00::2/64']],
  ]);
  assert.equal(o.routes, [{ ifname: 'eth1', gateway: '10.0.1.1' }, { ifname: 'eth2', gateway: 'fd00::1' }], 'each gateway via the interface that can reach it');
  assert.equal(parseRunOptions({ netIf: ['/t,ip=10.0.1.2/24'], gateway: ['192.168.0.1'] }, ['sh']).routes, [{ ifname: 'eth0', gateway: '192.168.0.1' }], 'else the first of its family');
  usage(() => parseRunOptions({ netIf: ['/t'], gateway: ['10.0.0.1'] }, ['sh']), /gateway 10\.0\.0\.1 needs an IPv4 \(-4 or ip=\) address on one of the interfaces/);
  usage(() => parseRunOptions({ ipv4: '10.0.0.2/24', netIf: ['/t'] }, ['sh']), /-4 needs -s.*a --net interface takes ip=/);
  usage(() => parseRunOptions({ mtu: '1400', netIf: ['/t'] }, ['sh']), /--mtu needs -s.*mtu=/);
  usage(() => parseRunOptions({ net: false, netIf: ['/t'] }, ['sh']), /-N \(host network\) cannot be combined with --net/);
  usage(() => parseRunOptions({ netIf: Array.from({ length: 17 }, () => '/t') }, ['sh']), /17 interfaces: a container has at most 16/);
  const p = parseRunOptions({ netIf: ['/t,ip6=fd00::2/64', '/t,ip=10.0.3.2/24'], publish: ['8080:80'] }, ['sh']);
  assert.is(p.publish.length, 1, '-p with a --net IPv4 address');
  usage(() => parseRunOptions({ netIf: ['/t,ip6=fd00::2/64'], publish: ['8080:80'] }, ['sh']), /-p needs -4 \(or ip= on a --net interface\)/);
});

test.run();
