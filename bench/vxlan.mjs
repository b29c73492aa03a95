#!/usr/bin/env node
// Benchmark (not a test): TCP throughput (iperf3) and ping RTT between
// containers on two "hosts" (network namespaces joined by a veth pair)
// through (1) the kernel's vxlan device + bridge on each host, the
// reference, and (2) containet's VXLAN uplink on each host, in the same run.
// Containers use MTU 1450 on both (underlay 1500 - 50 bytes of VXLAN).
//
// Usage (root): node bench/vxlan.mjs [--time SECONDS] [--runs N]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, killAndWait, makeNetns, sh, uniqueName, waitFor } from '@containet/common/testing';
import { ControlClient } from '@containet/common';
import { attachTap, cpuSeconds, measure, medianOf } from './switch-net.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINET = join(root, 'packages/containet/bin/containet.js');
const VNI = '4711';

/** Two host namespaces joined by veth `u0` with 192.168.N.1 and .2. */
async function hosts(cleanup, n) {
  const ha = await makeNetns(cleanup, 'cnxh');
  const hb = await makeNetns(cleanup, 'cnxh');
  await sh('ip', '-n', ha, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', hb);
  for (const [ns, ip] of [[ha, `192.168.${n}.1/24`], [hb, `192.168.${n}.2/24`]]) {
    await sh('ip', '-n', ns, 'addr', 'add', ip, 'dev', 'u0');
    await sh('ip', '-n', ns, 'link', 'set', 'u0', 'up');
  }
  return [ha, hb];
}

async function mtu1450(ns, cidr) {
  await sh('ip', '-n', ns, 'addr', 'add', cidr, 'dev', 'eth0');
  await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'mtu', '1450', 'up');
}

/** Kernel: on each host a vxlan device and a veth to the container on a bridge. */
async function kernelVxlan(cleanup) {
  const [ha, hb] = await hosts(cleanup, 181);
  const ca = await makeNetns(cleanup, 'cnxc');
  const cb = await makeNetns(cleanup, 'cnxc');
  for (const [h, c, local, remote, ip] of [
    [ha, ca, '192.168.181.1', '192.168.181.2', '10.181.0.1/24'],
    [hb, cb, '192.168.181.2', '192.168.181.1', '10.181.0.2/24'],
  ]) {
    await sh('ip', '-n', h, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', VNI, 'remote', remote, 'local', local, 'dstport', '4789', 'dev', 'u0');
    await sh('ip', '-n', h, 'link', 'add', 'br0', 'type', 'bridge');
    await sh('ip', '-n', h, 'link', 'add', 'pc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c);
    await sh('ip', '-n', h, 'link', 'set', 'pc', 'mtu', '1450');
    for (const dev of ['vx0', 'pc']) await sh('ip', '-n', h, 'link', 'set', dev, 'master', 'br0', 'up');
    await sh('ip', '-n', h, 'link', 'set', 'br0', 'up');
    await mtu1450(c, ip);
  }
  return { a: ca, b: cb, ipB: '10.181.0.2' };
}

/** The containet daemons started, whose CPU time is the switches' cost. */
const pids = [];

/** containet run inside host namespace `ns`; resolves with its socket. */
async function containetIn(cleanup, ns, args) {
  const socket = join(tmpdir(), `${uniqueName('cnxb')}.sock`);
  // ip netns exec execs the daemon: child.pid is containet's.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CONTAINET, '-s', socket, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  pids.push(child.pid);
  cleanup.add('containet', () => killAndWait(child));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`containet exited ${child.exitCode}`);
    if (!existsSync(socket)) return false;
    (await ControlClient.connect(socket)).close();
    return true;
  }, 'containet to listen');
  return socket;
}

/** containet: on each host a daemon with a VXLAN uplink and a vnet tap container. */
async function containetVxlan(cleanup) {
  const [ha, hb] = await hosts(cleanup, 182);
  const ca = await makeNetns(cleanup, 'cnxc');
  const cb = await makeNetns(cleanup, 'cnxc');
  for (const [h, c, local, remote, ip] of [
    [ha, ca, '192.168.182.1', '192.168.182.2', '10.182.0.1/24'],
    [hb, cb, '192.168.182.2', '192.168.182.1', '10.182.0.2/24'],
  ]) {
    const socket = await containetIn(cleanup, h, ['--vxlan', VNI, '--vxlan-local', local, '--vxlan-remote', remote]);
    await attachTap(cleanup, socket, c, uniqueName('bx'));
    await mtu1450(c, ip);
  }
  return { a: ca, b: cb, ipB: '10.182.0.2' };
}

function fmt(name, m, ref) {
  const g = (m.bps / 1e9).toFixed(2).padStart(6);
  const rtt = m.rttMs.toFixed(3).padStart(7);
  const ratio = ref ? `  ${(m.bps / ref.bps).toFixed(2)}x throughput, ${(m.rttMs / ref.rttMs).toFixed(2)}x RTT` : '  (reference)';
  return `${name.padEnd(28)} ${g} Gbit/s  ${rtt} ms${ratio}`;
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
  const seconds = opt('--time', 5);
  const runs = opt('--runs', 3);
  if (process.getuid() !== 0) throw new Error('run as root (namespaces)');
  const cleanup = new Cleanup();
  try {
    const setups = [
      ['kernel vxlan + bridge', await kernelVxlan(cleanup)],
      ['containet VXLAN (vnet taps)', await containetVxlan(cleanup)],
    ];
    // Interleaved rounds, so load from elsewhere hits both alike; medians.
    const samples = new Map(setups.map(([name]) => [name, []]));
    // Both daemons' CPU time around each containet run, per Gbit moved.
    const cpuPerGbit = [];
    for (let round = 0; round < runs; round++) {
      for (const [name, pair] of setups) {
        const mine = name.startsWith('containet');
        const c0 = mine ? pids.reduce((t, p) => t + cpuSeconds(p), 0) : 0;
        const m = await measure(pair, seconds);
        if (mine) cpuPerGbit.push((pids.reduce((t, p) => t + cpuSeconds(p), 0) - c0) / ((m.bps * seconds) / 1e9));
        samples.get(name).push(m);
      }
    }
    const [ref, cn] = setups.map(([name]) => medianOf(samples.get(name)));
    console.log(`TCP throughput (iperf3 -t ${seconds}) and ping RTT between containers on two hosts over VXLAN, median of ${runs} interleaved runs:`);
    console.log(fmt(setups[0][0], ref, null));
    console.log(fmt(setups[1][0], cn, ref));
    const perRun = samples.get(setups[1][0]).map((m, i) => (m.bps / samples.get(setups[0][0])[i].bps).toFixed(2));
    console.log(`containet/kernel throughput per run: ${perRun.join(', ')}`);
    const perRtt = samples.get(setups[1][0]).map((m, i) => (m.rttMs / samples.get(setups[0][0])[i].rttMs).toFixed(2));
    console.log(`containet/kernel RTT per run: ${perRtt.join(', ')}`);
    const cpu = cpuPerGbit.map((c) => (c * 1e3).toFixed(0));
    console.log(`containet CPU per Gbit (both daemons, ms): ${cpu.join(', ')} (the kernel's vxlan works in softirq: not measurable per process)`);
    console.log('targets: VXLAN TCP >= 0.7x kernel vxlan, RTT <= 2x');
  } finally {
    await cleanup.run();
  }
}

main().catch((err) => {
  console.error(`vxlan bench: ${err.message}`);
  process.exitCode = 1;
});
