/**
 * `containet host del` and `containet vxlan del` on a running switch leave
 * what a shutdown leaves: no host tap or address, no NAT rules, ip_forward
 * as it was, no record; no VXLAN socket. Each runs in a namespace standing
 * for the host.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayRecordPath, gatewayTag } from '@containet/common';
import { Cleanup, inNetns, linkExists, makeNetns, pingFrom, run, sh, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, ports, startDaemon } from './helpers.js';

process.env['CONTAINET_STATE'] = mkdtempSync(join(tmpdir(), 'cn-state-'));
process.on('exit', () => rmSync(process.env['CONTAINET_STATE']!, { recursive: true, force: true }));

const reason = whyNoRoot() ?? whyMissing('iptables', 'ping', 'ss');

function cli(ns: string, args: string[]) {
  return run('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args], { timeoutMs: 15_000 });
}

async function natRules(ns: string, tag: string): Promise<string[]> {
  const out = (await inNetns(ns, 'iptables-save', [])).stdout;
  return out.split('\n').filter((l) => l.includes(`containet:${tag}`));
}

testIf(test, reason, 'host del removes the host tap, its address, the NAT rules and puts ip_forward back; host add works again', async () => {
  const cleanup = new Cleanup();
  try {
    const hostNs = await makeNetns(cleanup, 'cnhd');
    await sh('ip', 'netns', 'exec', hostNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
    const socket = join(tmpdir(), `${uniqueName('cnhd')}.sock`);
    const tag = gatewayTag(socket);
    const ifname = `cnhost${tag.slice(0, 6)}`;
    const rulesBefore = await natRules(hostNs, tag);
    await startDaemon(cleanup, ['--host', '10.89.0.1/24', '--nat'], socket, hostNs);
    const c = await node(cleanup, socket, '10.89.0.2/24');
    assert.ok((await pingFrom(hostNs, '10.89.0.2', 2)) >= 1, 'the host port works');
    assert.ok(await linkExists(hostNs, ifname));
    assert.ok((await natRules(hostNs, tag)).length > 0, 'NAT rules installed');
    assert.is((await inNetns(hostNs, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1');

    let r = await cli(hostNs, ['host', 'del', '-s', socket, '--json']);
    assert.is(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout) as { port: number; ifname: string; address: string };
    assert.is(reply.ifname, ifname);
    assert.is(reply.address, '10.89.0.1/24');
    assert.not.ok(await linkExists(hostNs, ifname), 'the host tap is gone');
    assert.not.match((await inNetns(hostNs, 'ip', ['-4', 'addr'])).stdout, /10\.89\.0\.1/);
    assert.equal(await natRules(hostNs, tag), rulesBefore, 'no rule of ours left');
    assert.is((await inNetns(hostNs, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '0', 'ip_forward back to 0');
    assert.not.ok(existsSync(gatewayRecordPath(tag)), 'no gateway record');
    assert.equal((await ports(socket)).map((p) => p.port), [c.att.port], "only the container's port is left");

    r = await cli(hostNs, ['host', 'del', '-s', socket]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^containet: the host has no port on this switch\n/);

    r = await cli(hostNs, ['host', 'add', '10.89.0.1/24', '--nat', '-s', socket]);
    assert.is(r.code, 0, r.stderr);
    assert.ok((await pingFrom(hostNs, '10.89.0.2', 2)) >= 1, 'a new host port works');
    assert.ok((await natRules(hostNs, tag)).length > 0, 'NAT rules installed again');

    // A plain detach of the host port undoes the same.
    r = await cli(hostNs, ['detach', 'host', '-s', socket]);
    assert.is(r.code, 0, r.stderr);
    await waitFor(async () => (await natRules(hostNs, tag)).length === rulesBefore.length && !existsSync(gatewayRecordPath(tag)), 'rules and record gone', 5000);
    assert.not.ok(await linkExists(hostNs, ifname), 'the host tap is gone');
    assert.is((await inNetns(hostNs, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim(), '0', 'ip_forward back to 0');
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'vxlan del removes the uplink and closes its UDP socket; vxlan add works again', async () => {
  const cleanup = new Cleanup();
  try {
    const hostNs = await makeNetns(cleanup, 'cnvd');
    await sh('ip', '-n', hostNs, 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', hostNs, 'addr', 'add', '192.168.74.1/32', 'dev', 'lo');
    const socket = join(tmpdir(), `${uniqueName('cnvd')}.sock`);
    await startDaemon(cleanup, ['--vxlan', '4300', '--vxlan-local', '192.168.74.1', '--vxlan-remote', '192.168.74.9'], socket, hostNs);
    const udp = async () => (await inNetns(hostNs, 'ss', ['-Huln'])).stdout;
    assert.match(await udp(), /192\.168\.74\.1:4789/);

    let r = await cli(hostNs, ['vxlan', 'del', '-s', socket]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^VXLAN uplink VNI 4300 \(port \d+\) removed\n/);
    assert.not.match(await udp(), /:4789/, 'the UDP socket is closed');
    assert.is((await ports(socket)).length, 0, 'no uplink port');
    r = await cli(hostNs, ['vxlan', 'show', '-s', socket, '--json']);
    assert.is(r.stdout, 'null\n');
    r = await cli(hostNs, ['vxlan', 'del', '-s', socket]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^containet: this switch has no VXLAN uplink\n/);

    r = await cli(hostNs, ['vxlan', 'add', '4301', '--local', '192.168.74.1', '-s', socket]);
    assert.is(r.code, 0, r.stderr);
    assert.match(await udp(), /192\.168\.74\.1:4789/);
  } finally {
    await cleanup.run();
  }
});

test.run();
