/**
 * The pure parts of the plugin: the CNI environment and configuration
 * decoded into their types or the spec's error codes, port identities that
 * the switch accepts for any container id, routes as ADD applies them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateIdentity } from '@containet/common';
import { attachmentMac, CniError, portIdentity } from '@containet/cni';
import { portShaping } from '../src/bandwidth.js';
import { parseNetConf } from '../src/config.js';
import { runDelegate } from '../src/delegate.js';
import { readEnvironment } from '../src/environment.js';
import { routesToApply } from '../src/commands/add.js';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return undefined;
}

const ID = 'a'.repeat(64);

test('environment: required variables per command, named when missing (code 4)', () => {
  const env = readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: ID, CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/a:/b', CNI_ARGS: 'IgnoreUnknown=1;MAC=02:00:00:00:00:01' });
  assert.equal(env.path, ['/a', '/b']);
  assert.is(env.args.get('MAC'), '02:00:00:00:00:01');
  try {
    readEnvironment({ CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' });
    assert.unreachable();
  } catch (err) {
    assert.is((err as CniError).code, 4);
    assert.match((err as CniError).message, /CNI_CONTAINERID, CNI_NETNS/);
  }
  // DEL needs no CNI_NETNS; VERSION nothing.
  assert.is(readEnvironment({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: ID, CNI_IFNAME: 'eth0' }).netns, '');
  assert.is(readEnvironment({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
  assert.is(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-bad', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' })), 4);
  assert.is(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: ID, CNI_NETNS: '/x', CNI_IFNAME: 'a-name-too-long-for-linux' })), 4);
  assert.is(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: ID, CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'novalue' })), 4);
});

test('configuration: versions (code 1), JSON (6), fields (7)', () => {
  const base = { cniVersion: '1.1.0', name: 'net1', type: 'containet', socket: '/run/c.sock', ipam: { type: 'host-local' } };
  const conf = parseNetConf(JSON.stringify({ ...base, runtimeConfig: { mac: '02:11:22:33:44:55' } }));
  assert.is(conf.socket, '/run/c.sock');
  assert.is(conf.ipamType, 'host-local');
  assert.is(conf.mac, '02:11:22:33:44:55');
  assert.is(parseNetConf(JSON.stringify({ ...base, cniVersion: '1.0.0' })).cniVersion, '1.0.0');
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, cniVersion: '0.4.0' }))), 1);
  assert.is(codeOf(() => parseNetConf('{')), 6);
  assert.is(codeOf(() => parseNetConf('[]')), 6);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, socket: 'relative.sock' }))), 7);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, mtu: 70000 }))), 7);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, mac: 'zz' }))), 7);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, name: '-x' }))), 7);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, ipam: { type: '../x' } }))), 7);
  assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, 'cni.dev/valid-attachments': [{ containerID: 1 }] }))), 7);
  const gc = parseNetConf(JSON.stringify({ ...base, 'cni.dev/valid-attachments': [{ containerID: ID, ifname: 'eth0' }] }));
  assert.equal(gc.validAttachments, [{ containerID: ID, ifname: 'eth0' }]);
});

test('bandwidth: runtimeConfig.bandwidth or the same fields in the config, as the bandwidth plugin reads them; ingress is the switch\'s out', () => {
  const base = { cniVersion: '1.0.0', name: 'net1', type: 'containet', socket: '/run/c.sock' };
  const bandwidth = { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 2_000_000, egressBurst: 16_000 };
  const conf = parseNetConf(JSON.stringify({ ...base, runtimeConfig: { bandwidth } }));
  assert.equal(conf.bandwidth, bandwidth);
  // tbf's limit as the plugin sets it: burst + 25 ms at the rate, in bytes.
  assert.equal(portShaping(conf.bandwidth!), {
    in: { rateBps: 2_000_000, queueLimitBytes: 2000 + 6250 },
    out: { rateBps: 8_000_000, queueLimitBytes: 10_000 + 25_000 },
  });
  // Fields in the configuration win over the capability's.
  assert.equal(parseNetConf(JSON.stringify({ ...base, egressRate: 1000, egressBurst: 800, runtimeConfig: { bandwidth } })).bandwidth, { ingressRate: 0, ingressBurst: 0, egressRate: 1000, egressBurst: 800 });
  assert.equal(portShaping(parseNetConf(JSON.stringify({ ...base, egressRate: 1000, egressBurst: 800 })).bandwidth!), { in: { rateBps: 1000, queueLimitBytes: 103 } });
  assert.is(parseNetConf(JSON.stringify({ ...base, runtimeConfig: { bandwidth: {} } })).bandwidth, undefined);
  assert.is(parseNetConf(JSON.stringify(base)).bandwidth, undefined);
  for (const bad of [{ ingressRate: 1000 }, { egressBurst: 1000 }, { ingressRate: -1, ingressBurst: 1 }, { egressRate: 1.5, egressBurst: 8 }, { ingressRate: 1, ingressBurst: 2 ** 35 }, 'fast']) {
    assert.is(codeOf(() => parseNetConf(JSON.stringify({ ...base, runtimeConfig: { bandwidth: bad } }))), 7, JSON.stringify(bad));
  }
});

test('a delegated plugin that exits without reading its configuration: its status decides, not the broken pipe', () => {
  // More than a pipe holds (64 KiB), so the write meets the closed pipe every time.
  const big = { cniVersion: '1.0.0', name: 'n', pad: 'x'.repeat(256 * 1024) };
  assert.equal(runDelegate('true', 'DEL', big, ['/bin', '/usr/bin']), { output: undefined });
  assert.is(codeOf(() => runDelegate('false', 'DEL', big, ['/bin', '/usr/bin'])), 103);
});

test('port identities: valid on the switch for 64-hex and odd ids, distinct per interface, stable', () => {
  for (const id of [ID, 'x', 'a.b.c', 'A_b-c.'.repeat(20)]) {
    const node = portIdentity(id, 'eth0');
    assert.is(validateIdentity(node), node);
    assert.ok(node.length <= 63);
  }
  assert.is.not(portIdentity(ID, 'eth0'), portIdentity(ID, 'eth1'));
  assert.is(portIdentity(ID, 'eth0'), portIdentity(ID, 'eth0'));
  assert.match(portIdentity(ID, 'eth0'), /^cni-aaaaaaaaaaaa-[0-9a-f]{10}$/);
  // Locally administered, unicast (IEEE 802: first octet bits 1 and 0).
  for (let i = 0; i < 50; i++) {
    const mac = attachmentMac(`c${i}`, 'eth0');
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.is(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02);
  }
});

test('routes: a route without gw takes the gateway of its family, as the bridge plugin applies them', () => {
  const routes = routesToApply({
    cniVersion: '1.0.0',
    ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }, { address: 'fd00::2/64', gateway: 'fd00::1' }],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }, { dst: '192.0.2.0/24', gw: '10.0.0.254' }],
  });
  assert.equal(routes, [
    ['0.0.0.0/0', '10.0.0.1'],
    ['::/0', 'fd00::1'],
    ['192.0.2.0/24', '10.0.0.254'],
  ]);
  assert.equal(routesToApply({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }], routes: [{ dst: '10.1.0.0/16' }] }), [['10.1.0.0/16', '']]);
});

test.run();
