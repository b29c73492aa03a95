/**
 * Bad input to ADD: the spec's error JSON (code, msg, details) on stdout,
 * a non-zero exit, and nothing left behind: no tap in the namespace, no
 * port on the switch, no host-local lease, no record.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, linkExists, makeNetns, sh, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import { containerId, leases, netConf, ports, privateDirs, runPlugin, startSwitch, type PluginRun } from './helpers.js';

const reason = whyNoRoot() ?? (existsSync('/usr/lib/cni/host-local') ? null : 'needs /usr/lib/cni/host-local (Debian containernetworking-plugins)');

/** A unix socket served by something that is not containet. */
async function foreignSocket(cleanup: Cleanup, onConnection: (s: import('node:net').Socket) => void): Promise<string> {
  const path = join(tmpdir(), `${uniqueName('cnifor')}.sock`);
  const open = new Set<import('node:net').Socket>();
  const server: Server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  cleanup.add(`close ${path}`, () => {
    for (const s of open) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  cleanup.add(`rm ${path}`, () => rmSync(path, { force: true }));
  return path;
}

testIf(test, reason, 'bad input: the error JSON names what is wrong, exit non-zero, nothing left behind', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const nsName = await makeNetns(cleanup, 'cnibad');
    const att = { containerId: containerId(), netns: `/run/netns/${nsName}`, ifname: 'eth0' };
    const good = netConf('cnibad', sw.socket, ipamData, '10.94.0.0/24');
    const sockets: string[] = [];

    async function expectError(what: string, r: PluginRun, code: number, msg: RegExp): Promise<void> {
      if (process.env['CNI_TEST_TRACE']) console.log('case:', what, r.status, r.stdout.trim());
      assert.is.not(r.status, 0, `${what}: exit status`);
      assert.ok(r.json, `${what}: error JSON on stdout: ${r.stdout}`);
      assert.is(r.json!['code'], code, `${what}: code (${r.stdout})`);
      assert.match(String(r.json!['msg']), msg, what);
      assert.type(r.json!['cniVersion'], 'string');
      assert.not.ok(await linkExists(nsName, 'eth0'), `${what}: no tap left`);
      for (const s of sockets) assert.equal(await ports(s), [], `${what}: no port left`);
      assert.equal(leases(ipamData, 'cnibad'), [], `${what}: no lease left`);
      assert.equal(existsSync(join(state, 'cnibad')) ? readdirSync(join(state, 'cnibad')) : [], [], `${what}: no record`);
    }
    sockets.push(sw.socket);

    const { socket: _s, ...noSocket } = good;
    await expectError('no socket', await runPlugin({ command: 'ADD', att, state }, noSocket), 7, /no "socket"/);

    // Something that answers the hello with bytes that are no frame.
    const http = await foreignSocket(cleanup, (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    let r = await runPlugin({ command: 'ADD', att, state }, { ...good, socket: http });
    await expectError('a socket speaking HTTP', r, 7, /is not a containet switch/);
    assert.ok(r.json!['details'], 'details say why');
    // Something that accepts and never answers.
    const mute = await foreignSocket(cleanup, () => {});
    await expectError('a socket that never answers', await runPlugin({ command: 'ADD', att, state }, { ...good, socket: mute }), 7, /is not a containet switch/);
    // A file that is no socket at all, and a path with nothing.
    const file = join(tmpdir(), `${uniqueName('cnifile')}`);
    writeFileSync(file, 'not a socket');
    cleanup.add(`rm ${file}`, () => rmSync(file, { force: true }));
    await expectError('a plain file as socket', await runPlugin({ command: 'ADD', att, state }, { ...good, socket: file }), 50, /no containet switch answers/);
    await expectError('no such socket', await runPlugin({ command: 'ADD', att, state }, { ...good, socket: `${file}.none` }), 50, /no containet switch answers/);

    for (const v of ['0.4.0', '2.0.0', 'latest']) {
      r = await runPlugin({ command: 'ADD', att, state }, { ...good, cniVersion: v });
      await expectError(`cniVersion ${v}`, r, 1, new RegExp(`CNI version ${v} is not supported`));
      assert.match(String(r.json!['details']), /1\.0\.0, 1\.1\.0/);
    }

    r = await runPlugin({ command: 'ADD', att: { ...att, netns: '/run/netns/cni-no-such-namespace' }, state }, good);
    await expectError('a netns path that does not exist', r, 3, /network namespace \/run\/netns\/cni-no-such-namespace does not exist/);

    // An interface of that name is there already: refused, and left alone.
    await sh('ip', '-n', nsName, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
    r = await runPlugin({ command: 'ADD', att: { ...att, ifname: 'eth1' }, state }, good);
    assert.is(r.json?.['code'], 100, r.stdout);
    assert.match(String(r.json?.['msg']), /interface eth1 already exists in \/run\/netns\//, r.stdout);
    assert.match(String(r.json?.['details']), /File exists/);
    assert.ok(await linkExists(nsName, 'eth1'), 'the existing interface is untouched');
    assert.match(await sh('ip', '-n', nsName, '-d', 'link', 'show', 'eth1'), /veth/);
    await expectError('an existing interface name', r, 100, /already exists/);

    // Environment and stdin.
    await expectError('no CNI_NETNS', await runPlugin({ command: 'ADD', att: { ...att, netns: '' }, state }, good), 4, /ADD needs CNI_NETNS/);
    await expectError('unknown CNI_COMMAND', await runPlugin({ command: 'ATTACH', att, state }, good), 4, /CNI_COMMAND must be one of/);
    await expectError('stdin not JSON', await runPlugin({ command: 'ADD', att, state }, '{"cniVersion": '), 6, /not JSON/);
    await expectError('an IPAM plugin not in CNI_PATH', await runPlugin({ command: 'ADD', att, state }, { ...good, ipam: { type: 'no-such-ipam' } }), 7, /failed to find plugin "no-such-ipam"/);
    await expectError('a bad mtu', await runPlugin({ command: 'ADD', att, state }, { ...good, mtu: 10 }), 7, /"mtu" must be/);

    // After all that, the same attachment still works.
    r = await runPlugin({ command: 'ADD', att, state }, good);
    assert.is(r.status, 0, r.stdout);
    assert.is((await ports(sw.socket)).length, 1);
    r = await runPlugin({ command: 'DEL', att, state }, good);
    assert.is(r.status, 0, r.stdout);
    assert.equal(await ports(sw.socket), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'an address the namespace cannot take undoes the tap and the lease', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const nsName = await makeNetns(cleanup, 'cnibad');
    const att = { containerId: containerId(), netns: `/run/netns/${nsName}`, ifname: 'eth0' };
    // A route whose gateway is on no subnet of the interface: RTM_NEWROUTE fails after the tap and the lease exist.
    const conf = netConf('cnibad2', sw.socket, ipamData, '10.95.0.0/24');
    (conf['ipam'] as Record<string, unknown>)['routes'] = [{ dst: '192.0.2.0/24', gw: '198.51.100.1' }];
    const r = await runPlugin({ command: 'ADD', att, state }, conf);
    assert.is.not(r.status, 0);
    assert.is(r.json?.['code'], 100, r.stdout);
    assert.match(String(r.json?.['details']), /route add/);
    assert.not.ok(await linkExists(nsName, 'eth0'));
    assert.equal(await ports(sw.socket), []);
    assert.equal(leases(ipamData, 'cnibad2'), []);
  } finally {
    await cleanup.run();
  }
});

test.run();
