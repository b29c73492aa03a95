/**
 * containet --host / --nat, run inside a namespace standing for the host
 * (rules, addresses and ip_forward are per namespace), with a second one
 * standing for "the outside" joined to it by veth.
 */
import { test } from 'uvu';
import { mkdtempSync, rmSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, inNetns, killAndWait, makeNetns, pingFrom, sh, testIf, uniqueName, vethPair, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, ports, startDaemon } from './helpers.js';

const reason = whyNoRoot() ?? whyMissing('iptables', 'ping');

// Daemons started here keep their gateway records (and containers theirs) in
// a private state directory, so a test that kills one never leaves a record
// behind for the machine's real daemons.
process.env['CONTAINET_STATE'] = mkdtempSync(join(tmpdir(), 'cn-state-'));
process.on('exit', () => rmSync(process.env['CONTAINET_STATE']!, { recursive: true, force: true }));

interface Host {
  ns: string;
  socket: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** containet inside namespace `ns`, with ARGS; stopped by SIGTERM. */
async function startIn(cleanup: Cleanup, ns: string, args: string[], socket = join(tmpdir(), `${uniqueName('cnhs')}.sock`)): Promise<Host> {
  const d = await startDaemon(cleanup, args, socket, ns);
  return { ns, socket, log: d.log, stop: () => killAndWait(d.child) };
}

async function ipForward(ns: string): Promise<string> {
  return (await inNetns(ns, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout.trim();
}

async function setIpForward(ns: string, value: '0' | '1'): Promise<void> {
  await sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.ip_forward=${value}`);
}

/** A namespace "outside": veth to the host namespace, 10.201.0.2 on its end. */
async function outside(cleanup: Cleanup, hostNs: string): Promise<string> {
  const out = await makeNetns(cleanup, 'cnout');
  await vethPair(hostNs, '10.201.0.1/24', out, '10.201.0.2/24');
  return out;
}

testIf(test, reason, 'the host reaches a container through its port; --nat masquerades to the outside even with FORWARD policy DROP; shutdown leaves nothing', async () => {
  const cleanup = new Cleanup();
  try {
    const hostNs = await makeNetns(cleanup, 'cnhst');
    const out = await outside(cleanup, hostNs);
    // What Docker does to a host: forwarded traffic is dropped by default.
    await sh('ip', 'netns', 'exec', hostNs, 'iptables', '-P', 'FORWARD', 'DROP');
    // A new namespace may inherit the host's ip_forward (net.core.devconf_inherit_init_net): set it.
    await setIpForward(hostNs, '0');
    const forwardBefore = await ipForward(hostNs);

    const host = await startIn(cleanup, hostNs, ['--host', '10.88.0.1/24', '--nat']);
    assert.match(host.log(), /masquerading 10\.88\.0\.0\/24 \(FORWARD policy is DROP/);
    const hostPort = (await ports(host.socket)).find((p) => p.node === 'host');
    assert.ok(hostPort, 'the host port is listed');
    assert.equal(hostPort!.addresses, ['10.88.0.1/24']);

    const c = await node(cleanup, host.socket, '10.88.0.2/24');
    await sh('ip', '-n', c.ns, 'route', 'add', 'default', 'via', '10.88.0.1');

    // The host pings the container through its port, and the reverse.
    assert.ok((await pingFrom(hostNs, '10.88.0.2', 3)) >= 2, 'host -> container');
    assert.ok((await pingFrom(c.ns, '10.88.0.1', 2)) >= 1, 'container -> host');

    // The container reaches "the outside", which sees the host's address.
    const server = spawn('ip', ['netns', 'exec', out, process.execPath, '-e',
      "require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(8181, '10.201.0.2', () => console.log('up'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add('outside server', () => killAndWait(server));
    await new Promise((r) => server.stdout!.once('data', r));
    const reply = await inNetns(c.ns, process.execPath, ['-e',
      "const s = require('net').connect(8181, '10.201.0.2'); let d = ''; s.on('data', (x) => (d += x)); s.on('end', () => { process.stdout.write(d); }); s.on('error', (e) => { console.error(e.message); process.exitCode = 1; }); setTimeout(() => process.exit(3), 5000).unref();"], { timeoutMs: 10_000 });
    assert.is(reply.code, 0, reply.stderr);
    assert.is(reply.stdout.trim(), '10.201.0.1', 'the outside sees the host address (masqueraded)');
    assert.is(await ipForward(hostNs), '1');

    await host.stop();
    const rules = (await inNetns(hostNs, 'iptables-save', [])).stdout;
    assert.not.match(rules, /containet:/, 'no rule left');
    assert.is(await ipForward(hostNs), forwardBefore, 'ip_forward restored');
    const links = (await sh('ip', '-n', hostNs, '-o', 'addr')).toString();
    assert.not.match(links, /10\.88\.0\.1/, 'no address left');
    assert.not.match((await sh('ip', '-n', hostNs, 'link')).toString(), /cnhost/, 'no device left');
    assert.not.ok(existsSync(host.socket), 'socket removed');
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'a crashed daemon\'s rules are removed by the next start on the same socket', async () => {
  const cleanup = new Cleanup();
  try {
    const hostNs = await makeNetns(cleanup, 'cnhst');
    await setIpForward(hostNs, '0');
    const forwardBefore = await ipForward(hostNs);
    const first = await startIn(cleanup, hostNs, ['--host', '10.89.0.1/24', '--nat']);
    // SIGKILL: no chance to clean up.
    const pid = Number((await sh('ip', 'netns', 'pids', hostNs)).trim().split('\n')[0]);
    assert.ok(pid > 0);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await sh('ip', 'netns', 'pids', hostNs)).trim(), 'the daemon to die', 3000);
    assert.match((await inNetns(hostNs, 'iptables-save', [])).stdout, /containet:/, 'the crash left rules');
    // The same socket path: the stale socket is replaced, the rules recognised by their tag.
    const second = await startIn(cleanup, hostNs, ['--host', '10.89.0.1/24', '--nat'], first.socket);
    await second.stop();
    assert.not.match((await inNetns(hostNs, 'iptables-save', [])).stdout, /containet:/, 'none after restart + stop');
    assert.is(await ipForward(hostNs), forwardBefore, 'ip_forward as it was before the first start');
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'bad --host/--nat values are refused with a usage error', async () => {
  for (const args of [['--nat'], ['--host', '10.0.0.300/24'], ['--host', 'x']]) {
    const res = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, '-s', join(tmpdir(), `${uniqueName('cnbad')}.sock`), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.on('exit', (code) => resolve({ code, err }));
    });
    assert.is(res.code, 2, args.join(' '));
    assert.match(res.err, /^containet: /);
    assert.is(res.err.trim().split('\n').filter((l) => !l.includes('hint')).length, 1, 'one line plus hint');
  }
});

test.run();
