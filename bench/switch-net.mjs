#!/usr/bin/env node
// Benchmark (not a test): TCP throughput (iperf3) and ping RTT between two
// network namespaces over (1) a kernel bridge with veth pairs, the
// reference, (2) containet with vnet taps and (3) vde_switch when installed,
// all in the same run. Prints each figure and the ratio to the bridge.
//
// Usage (root): node bench/switch-net.mjs [--time SECONDS] [--runs N] [--no-vde]
// The steps are exported for bench:net: bridgePair(), containetPair(),
// vdePair(), measure(), each returning { a, b, ipB } plus a Cleanup entry.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, killAndWait, makeNetns, run, sh, uniqueName, waitFor, sleep } from '@containet/common/testing';
import { ControlClient } from '@containet/common';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINET = join(root, 'packages/containet/bin/containet.js');
const ATTACH = join(root, 'packages/containet/dist/test/fixtures/attach-tap.js');

async function addr(ns, dev, cidr) {
  await sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', dev);
  await sh('ip', '-n', ns, 'link', 'set', dev, 'up');
}

/** Two namespaces joined by veth pairs on a kernel bridge (in a third namespace). */
export async function bridgePair(cleanup) {
  const hub = await makeNetns(cleanup, 'cnbh');
  const a = await makeNetns(cleanup, 'cnba');
  const b = await makeNetns(cleanup, 'cnbb');
  await sh('ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
  await sh('ip', '-n', hub, 'link', 'set', 'br0', 'up');
  for (const [ns, peer] of [[a, 'pa'], [b, 'pb']]) {
    await sh('ip', '-n', hub, 'link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await sh('ip', '-n', hub, 'link', 'set', peer, 'master', 'br0', 'up');
  }
  await addr(a, 'eth0', '10.91.0.1/24');
  await addr(b, 'eth0', '10.91.0.2/24');
  return { a, b, ipB: '10.91.0.2' };
}

/** Start a containet daemon (pid-tracked in `cleanup`); resolves with its socket. */
export async function startContainet(cleanup, args = []) {
  const socket = join(tmpdir(), `${uniqueName('cnbench')}.sock`);
  const child = spawn(process.execPath, [CONTAINET, '-s', socket, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanup.add('containet', () => killAndWait(child));
  await waitFor(async () => {
    if (!existsSync(socket)) return false;
    (await ControlClient.connect(socket)).close();
    return true;
  }, 'containet to listen');
  return { socket, child };
}

/** Attach a vnet tap named eth0 in `ns` through the test fixture (held until cleanup). */
export async function attachTap(cleanup, socket, ns, node, flags = []) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ATTACH, socket, node, 'eth0', ...flags], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add('attach-tap', () => killAndWait(child));
  const line = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d)));
    child.once('exit', (c) => reject(new Error(`attach-tap exited ${c}`)));
  });
  const reply = JSON.parse(line);
  if (reply.port === undefined) throw new Error(`attach failed: ${reply.message}`);
  return reply.port;
}

/** Two namespaces with vnet taps on a containet switch; `pid` is the daemon's, for its CPU time. */
export async function containetPair(cleanup) {
  const { socket, child } = await startContainet(cleanup);
  const a = await makeNetns(cleanup, 'cnca');
  const b = await makeNetns(cleanup, 'cncb');
  await attachTap(cleanup, socket, a, uniqueName('ba'));
  await attachTap(cleanup, socket, b, uniqueName('bb'));
  await addr(a, 'eth0', '10.92.0.1/24');
  await addr(b, 'eth0', '10.92.0.2/24');
  return { a, b, ipB: '10.92.0.2', pid: child.pid };
}

/** Two namespaces on vde_switch, whose taps are created on the host and moved in. */
export async function vdePair(cleanup) {
  const a = await makeNetns(cleanup, 'cnva');
  const b = await makeNetns(cleanup, 'cnvb');
  const ta = uniqueName('cnvt');
  const tb = uniqueName('cnvt');
  const sock = join(tmpdir(), uniqueName('cnvde'));
  const child = spawn('vde_switch', ['-s', sock, '-t', ta, '-t', tb], { stdio: ['pipe', 'ignore', 'inherit'] });
  cleanup.add('vde_switch', () => killAndWait(child));
  await waitFor(async () => (await run('ip', ['link', 'show', tb])).code === 0, 'vde_switch taps');
  for (const [tap, ns, cidr] of [[ta, a, '10.93.0.1/24'], [tb, b, '10.93.0.2/24']]) {
    await sh('ip', 'link', 'set', tap, 'netns', ns);
    await sh('ip', '-n', ns, 'link', 'set', tap, 'name', 'eth0');
    await addr(ns, 'eth0', cidr);
  }
  return { a, b, ipB: '10.93.0.2' };
}

/** CPU seconds (user + system, all threads) of process `pid`: /proc/PID/stat fields 14 and 15, proc(5). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * iperf3 TCP throughput (bit/s) from a to b, ping RTT average (ms) and,
 * for a pair with a switch process (`pid`), its CPU seconds per Gbit
 * moved over the TCP run (NaN for the kernel's).
 */
export async function measure({ a, b, ipB, pid }, seconds = 5) {
  const ping = await run('ip', ['netns', 'exec', a, 'ping', '-n', '-q', '-c', '30', '-i', '0.02', ipB], { timeoutMs: 30_000 });
  const rtt = ping.stdout.match(/= [\d.]+\/([\d.]+)\//);
  const server = spawn('ip', ['netns', 'exec', b, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await sleep(300);
    const c0 = pid ? cpuSeconds(pid) : NaN;
    const r = await run('ip', ['netns', 'exec', a, 'iperf3', '-c', ipB, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
    const bps = Number(JSON.parse(r.stdout)?.end?.sum_received?.bits_per_second ?? 0);
    const cpuPerGbit = pid ? (cpuSeconds(pid) - c0) / ((bps * seconds) / 1e9) : NaN;
    return { bps, rttMs: rtt ? Number(rtt[1]) : NaN, cpuPerGbit };
  } finally {
    await killAndWait(server);
  }
}

function fmt(name, m, ref) {
  const g = (m.bps / 1e9).toFixed(2).padStart(6);
  const rtt = m.rttMs.toFixed(3).padStart(7);
  const ratio = ref ? `  ${(m.bps / ref.bps).toFixed(2)}x throughput, ${(m.rttMs / ref.rttMs).toFixed(2)}x RTT` : '  (reference)';
  const cpu = Number.isFinite(m.cpuPerGbit) ? `, switch CPU ${(m.cpuPerGbit * 1e3).toFixed(1)} ms per Gbit` : '';
  return `${name.padEnd(22)} ${g} Gbit/s  ${rtt} ms${ratio}${cpu}`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median throughput and RTT of several samples. */
export function medianOf(samples) {
  return { bps: median(samples.map((m) => m.bps)), rttMs: median(samples.map((m) => m.rttMs)), cpuPerGbit: median(samples.map((m) => m.cpuPerGbit)) };
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
  const seconds = opt('--time', 5);
  const runs = opt('--runs', 3);
  const withVde = !argv.includes('--no-vde') && (await run('sh', ['-c', 'command -v vde_switch'])).code === 0;
  if (process.getuid() !== 0) throw new Error('run as root (namespaces)');
  const cleanup = new Cleanup();
  try {
    const setups = [
      ['kernel bridge + veth', await bridgePair(cleanup)],
      ['containet (vnet taps)', await containetPair(cleanup)],
      ...(withVde ? [['vde_switch', await vdePair(cleanup)]] : []),
    ];
    // Rounds interleave the setups so that load from anything else on the
    // machine hits them alike; the medians are reported.
    const samples = new Map(setups.map(([name]) => [name, []]));
    for (let round = 0; round < runs; round++) {
      for (const [name, pair] of setups) samples.get(name).push(await measure(pair, seconds));
    }
    const [ref, cn, vde] = setups.map(([name]) => medianOf(samples.get(name)));
    console.log(`TCP throughput (iperf3 -t ${seconds}) and ping RTT between two namespaces, median of ${runs} interleaved runs:`);
    setups.forEach(([name], i) => console.log(fmt(name, [ref, cn, vde][i], i === 0 ? null : ref)));
    const perRun = samples.get(setups[1][0]).map((m, i) => (m.bps / samples.get(setups[0][0])[i].bps).toFixed(2));
    console.log(`containet/bridge throughput per run: ${perRun.join(', ')}`);
    if (vde) console.log(`containet / vde_switch throughput: ${(cn.bps / vde.bps).toFixed(1)}x`);
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(`switch-net: ${err.message}`);
    process.exitCode = 1;
  });
}
