/**
 * Many interfaces per container (--net), from the command line: a router
 * container with three interfaces on two switches forwards between a
 * container on each (IPv4 forwarding on in its own namespace only), in the
 * foreground and detached (`run -d`), where it keeps every interface
 * across a switch restart; a detached container that ends releases its
 * ports at once and `ps -a` still lists it; bad --net values are refused
 * with exit status 2 and nothing started.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { CONTAINET, containode, recordIds, startContainode } from './helpers.js';

const noRoot = whyNoRoot();
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-ifs-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

interface Port {
  port: number;
  node: string;
  ifname: string;
  addresses: string[];
}

async function startSwitch(cleanup: Cleanup, sock: string) {
  const sw = start(process.execPath, [CONTAINET, '-s', sock]);
  cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
  await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
  return sw;
}

async function ports(sock: string): Promise<Port[]> {
  const r = await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Port[];
}

/** node:ifname of every port of `node`, sorted. */
async function portsOf(sock: string, node: string): Promise<string[]> {
  return (await ports(sock)).filter((p) => p.node === node).map((p) => `${p.ifname} ${p.addresses.join(',')}`).sort();
}

function removeAfter(cleanup: Cleanup, id: string): void {
  cleanup.add(`rm ${id}`, async () => {
    await containode(['rm', '-f', id]).catch(() => undefined);
  });
}

const ipForward = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

/**
 * Two switches, a container on each with a default route via the router's
 * address on its switch; `router` (args) gets eth0 on A, eth1 and lan2 on B.
 */
function routerArgs(id: string, a: string, b: string): string[] {
  return ['--name', id, '--sysctl', 'net.ipv4.ip_forward=1', '--net', `${a},ip=10.71.1.1/24`, '--net', `${b},ip=10.71.2.1/24`, '--net', `${b},if=lan2,ip=10.71.3.1/24,mtu=1400`];
}

async function hosts(cleanup: Cleanup, a: string, b: string): Promise<[string, string]> {
  const h1 = uniqueName('ifh1');
  const h2 = uniqueName('ifh2');
  startContainode(cleanup, ['-i', h1, '-s', a, '-4', '10.71.1.2/24', '-g', '10.71.1.1', 'sleep', '120']);
  startContainode(cleanup, ['-i', h2, '-s', b, '-4', '10.71.2.2/24', '-g', '10.71.2.1', 'sleep', '120']);
  return [h1, h2];
}

const ping = (from: string, to: string) => containode(['exec', from, 'ping', '-c', '1', '-W', '1', to]);

testIf(test, noRoot ?? noContainet ?? whyMissing('ping', 'ip'), 'a router with three interfaces on two switches forwards between a container on each', async () => {
  const cleanup = new Cleanup();
  const forwardBefore = ipForward();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-ifs-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const a = join(dir, 'a.sock');
    const b = join(dir, 'b.sock');
    await startSwitch(cleanup, a);
    await startSwitch(cleanup, b);
    const r = uniqueName('ifr');
    const router = startContainode(cleanup, [...routerArgs(r, a, b), 'sh', '-c', 'ip -o link show lan2; sleep 120']);
    const [h1, h2] = await hosts(cleanup, a, b);
    await waitFor(async () => (await ping(h1, '10.71.2.2')).code === 0, 'h1 to reach h2 through the router', 15_000, 200);
    assert.is((await ping(h2, '10.71.1.2')).code, 0, 'and back');
    assert.is((await ping(h2, '10.71.3.1')).code, 0, 'the router answers on lan2');
    assert.equal(await portsOf(a, r), ['eth0 10.71.1.1/24']);
    assert.equal(await portsOf(b, r), ['eth1 10.71.2.1/24', 'lan2 10.71.3.1/24'], 'two ports of one node on one switch');
    assert.match(router.out(), /lan2: .* mtu 1400 /);
    const fwd = await containode(['exec', r, 'cat', '/proc/sys/net/ipv4/ip_forward']);
    assert.is(fwd.stdout.trim(), '1', 'forwarding on in the router');
    assert.is(ipForward(), forwardBefore, 'the host\'s forwarding as it was');
    const inspect = JSON.parse((await containode(['inspect', r])).stdout) as { interfaces: { ifname: string; addresses: string[]; port: number; mac: string }[] };
    assert.equal(inspect.interfaces.map((i) => `${i.ifname} ${i.addresses.join(',')}`), ['eth0 10.71.1.1/24', 'eth1 10.71.2.1/24', 'lan2 10.71.3.1/24']);
    assert.ok(inspect.interfaces.every((i) => i.port > 0 && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(i.mac)), 'ports and MACs recorded');
    const ps = (await containode(['ps'])).stdout;
    assert.match(ps, new RegExp(`${r} .*eth0=10\\.71\\.1\\.1/24,eth1=10\\.71\\.2\\.1/24,lan2=10\\.71\\.3\\.1/24`));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet ?? whyMissing('ping', 'ip'), 'a detached router keeps its interfaces across a switch restart, and releases its ports when stopped', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-ifs-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const a = join(dir, 'a.sock');
    const b = join(dir, 'b.sock');
    await startSwitch(cleanup, a);
    const swB = await startSwitch(cleanup, b);
    const r = uniqueName('ifdr');
    removeAfter(cleanup, r);
    const started = await containode(['run', '-d', ...routerArgs(r, a, b), '--restart', 'always', '--', 'sleep', '120']);
    assert.is(started.code, 0, started.stderr);
    assert.is(started.stdout, `${r}\n`);
    const [h1, h2] = await hosts(cleanup, a, b);
    await waitFor(async () => (await ping(h1, '10.71.2.2')).code === 0, 'h1 to reach h2 through the detached router', 15_000, 200);

    swB.kill('SIGKILL');
    await new Promise((res) => swB.once('exit', res));
    await startSwitch(cleanup, b);
    const back = Date.now();
    await waitFor(async () => (await ping(h1, '10.71.2.2')).code === 0, 'h1 to reach h2 through the new switch', 10_000, 100);
    const took = Date.now() - back;
    assert.ok(took < 5000, `traffic flows again ${took} ms after the switch is back`);
    assert.equal(await portsOf(b, r), ['eth1 10.71.2.1/24', 'lan2 10.71.3.1/24'], 'both interfaces re-attached by the supervisor');
    const h2Port = (await ports(b)).find((p) => p.node === h2)!.port;
    const h2Record = JSON.parse((await containode(['inspect', h2])).stdout) as { interfaces: { port: number }[] };
    assert.is(h2Record.interfaces[0]!.port, h2Port, 'a foreground container\'s record follows its re-attached port');
    assert.is((await ping(h2, '10.71.3.1')).code, 0);

    // stop: the container ends for good and its ports go with its supervisor.
    assert.is((await containode(['stop', '--time', '1', r])).code, 0);
    await waitFor(async () => (await portsOf(a, r)).length === 0 && (await portsOf(b, r)).length === 0, 'the ports to go', 2000);
    assert.match((await containode(['ps', '-a'])).stdout, new RegExp(`${r} .* exited`));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'a detached container that ends releases its ports at once; a restart keeps them; ps -a lists it', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-ifs-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const a = join(dir, 'a.sock');
    await startSwitch(cleanup, a);
    const id = uniqueName('ifend');
    removeAfter(cleanup, id);
    // Runs twice (on-failure:1): a second, then 5 s (time to look at the
    // ports while it runs again), each ending with status 3.
    const marker = join(dir, 'ran');
    const program = `if [ -s ${marker} ]; then echo >> ${marker}; sleep 5; exit 3; fi; echo >> ${marker}; sleep 1; exit 3`;
    const r = await containode(['run', '-d', '--name', id, '--restart', 'on-failure:1', '--net', `${a},ip=10.72.0.2/24`, '--net', `${a},ip=10.72.1.2/24`, '--', 'sh', '-c', program]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(await portsOf(a, id), ['eth0 10.72.0.2/24', 'eth1 10.72.1.2/24']);
    const firstPorts = (await ports(a)).filter((p) => p.node === id).map((p) => p.port).sort();
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').length === 2, 'the restart', 10_000);
    assert.equal((await ports(a)).filter((p) => p.node === id).map((p) => p.port).sort(), firstPorts, 'the same ports across the restart');
    const waited = await containode(['wait', id]);
    assert.is(waited.stdout, '3\n');
    const ended = Date.now();
    await waitFor(async () => (await portsOf(a, id)).length === 0, 'the ports to go', 2000, 20);
    assert.ok(Date.now() - ended < 2000, `ports released ${Date.now() - ended} ms after the end`);
    assert.match((await containode(['ps', '-a'])).stdout, new RegExp(`${id} .* exited \\(3\\)`));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'bad --net values, -s or -4 twice: one line naming the key and value, exit 2, nothing started', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-ifs-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const a = join(dir, 'a.sock');
    await startSwitch(cleanup, a);
    const records = recordIds();
    const marker = join(dir, 'ran');
    const cases: [string[], RegExp][] = [
      [['-s', a, '-s', a], /-s given twice/],
      [['-s', a, '-4', '10.73.0.1/24', '-4', '10.73.0.2/24'], /-4 given twice \(10\.73\.0\.1\/24 and 10\.73\.0\.2\/24\)/],
      [['--net', `${a},colour=blue`], /unknown key colour=blue/],
      [['--net', `${a},if=x1`, '--net', `${a},if=x1`], /if=x1 names a second interface/],
      [['-s', a, '--net', `${a},if=eth0`], /if=eth0 names a second interface eth0 \(-s makes eth0\)/],
      [['--net', `${a},mac=02:00:00:00:00`], /invalid mac=02:00:00:00:00/],
      [['--net', `${a},mac=03:00:00:00:00:01`], /mac=03:00:00:00:00:01 is a multicast address/],
      [['--net', `${a},ip=10.73.0.300/24`], /invalid ip=10\.73\.0\.300\/24/],
      [['--net', `${a},ip6=fd00::1/129`], /invalid ip6=fd00::1\/129/],
      [['--net', `${a},mtu=67`], /invalid mtu=67/],
      [['--net', `${a},vlan=4095`], /invalid vlan=4095/],
      [['--net', `${a},trunk=10:10`], /trunk=10:10 lists VLAN 10 twice/],
      [['--net', `${a},vlan=10,trunk=20`], /vlan= and trunk= both given/],
      [['--net', `${a},native=10`], /native=10 needs trunk=/],
      [['--net', `${a},mtu=1400,mtu=1500`], /mtu= is given twice/],
      [['--net', `${a},if=lo`], /invalid if=lo/],
      [['-N', '--net', a], /-N \(host network\) cannot be combined with --net/],
    ];
    for (const [args, message] of cases) {
      const r = await containode(['run', ...args, '--', 'sh', '-c', `touch ${marker}`]);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[0]!, /^containode: /, r.stderr);
      assert.match(lines[0]!, message, r.stderr);
      assert.ok(lines.length <= 2 && (lines.length === 1 || lines[1]!.startsWith('containode: hint: ')), r.stderr);
    }
    assert.not.ok(existsSync(marker), 'no program ran');
    assert.equal(recordIds(), records, 'no record left');
    assert.equal(await ports(a), [], 'no port attached');
  } finally {
    await cleanup.run();
  }
});

test.run();
