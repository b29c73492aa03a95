#!/usr/bin/env node
/**
 * Network benchmark (`pnpm bench:net`, as root): TCP throughput, ping
 * round-trip time and 64-byte UDP packet rate between two network namespaces
 * over (1) a kernel bridge with veth pairs, the ceiling, (2) vde_switch with
 * vde_plug2tap, (3) containet with two containode containers. All three run
 * in this one run on this one machine, and the table puts containet next to
 * both references with the ratios. It is a benchmark: it prints figures and
 * does not judge them; it exits non-zero only when it could not measure.
 *
 * Usage: node bench/net.mjs [--time SECONDS] [--pings N] [--interval S] [--repeat N] [--only bridge,vde,containet,epoll,idle100]
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { parseArgs } from 'node:util';
import { Lab, hasCommand, lastLines, must, runTag, waitForOutput } from '../examples/lib/lab.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { containetSwitch, kernelBridge, vdeSwitch } from './net/topologies.mjs';
import { pingRtt, startIperfServer, tcpThroughput, udpSmallFrames, waitReachable } from './net/measure.mjs';
import { renderTable } from './net/table.mjs';

const IDLE_PORTS = 100;

/** containet with IDLE_PORTS more vnet taps attached that carry nothing, in a namespace of their own. */
async function containetIdlePorts(lab) {
  const topo = await containetSwitch(lab);
  const ns = `cnb-idle-${runTag()}`;
  await lab.acquire(`network namespace ${ns}`, () => must('ip', 'netns', 'add', ns), () => must('ip', 'netns', 'del', ns));
  const helper = fileURLToPath(new URL('./net/idle-ports.mjs', import.meta.url));
  const idle = lab.start('ip', ['netns', 'exec', ns, process.execPath, helper, topo.socket, String(IDLE_PORTS)], { stdin: 'pipe', label: 'idle ports' });
  await waitForOutput(idle, /ready/, 60_000);
  return topo;
}

const TOPOLOGIES = [
  { key: 'bridge', title: 'bridge+veth', setup: kernelBridge },
  { key: 'vde', title: 'vde_switch', setup: vdeSwitch },
  { key: 'containet', title: 'containet', setup: containetSwitch },
  // Not in the default set: the read/write path (CONTAINET_DATAPATH=epoll),
  // the one a kernel without io_uring gets, and containet with idle ports.
  { key: 'epoll', title: 'containet epoll', setup: (lab) => containetSwitch(lab, { datapath: 'epoll' }) },
  { key: 'idle100', title: `containet+${IDLE_PORTS} idle`, setup: containetIdlePorts },
];
const DEFAULT_ONLY = 'bridge,vde,containet';

/** CPU seconds (user + system, all threads) process `pid` has used: /proc/PID/stat fields 14 and 15, proc(5). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const IDLE_SECONDS = 3;

function usageError(message) {
  process.stderr.write(`bench:net: ${message}\nusage: node bench/net.mjs [--time SECONDS] [--pings N] [--interval S] [--repeat N] [--only bridge,vde,containet,epoll,idle100]\n`);
  process.exit(2);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        time: { type: 'string', default: '5' },
        pings: { type: 'string', default: '50' },
        interval: { type: 'string', default: '0.02' },
        repeat: { type: 'string', default: '3' },
        only: { type: 'string', default: DEFAULT_ONLY },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    process.stdout.write('usage: node bench/net.mjs [--time SECONDS] [--pings N] [--interval S] [--repeat N] [--only bridge,vde,containet,epoll,idle100]\n');
    process.exit(0);
  }
  const time = Number(values.time);
  const pings = Number(values.pings);
  const interval = Number(values.interval);
  const repeat = Number(values.repeat);
  if (!Number.isInteger(time) || time < 2) usageError(`--time ${values.time}: give whole seconds, at least 2`);
  if (!Number.isInteger(pings) || pings < 1) usageError(`--pings ${values.pings}: give a count of at least 1`);
  if (!(interval >= 0.002)) usageError(`--interval ${values.interval}: give seconds, at least 0.002`);
  if (!Number.isInteger(repeat) || repeat < 1) usageError(`--repeat ${values.repeat}: give a count of at least 1`);
  const only = values.only.split(',').filter(Boolean);
  for (const k of only) if (!TOPOLOGIES.some((t) => t.key === k)) usageError(`--only ${k}: one of ${TOPOLOGIES.map((t) => t.key).join(', ')}`);
  return { time, pings, interval, repeat, only };
}

/** The Debian packages the references need, installed when missing (the issue asks the script to). */
function ensureTools() {
  const needed = [
    ['iperf3', 'iperf3'],
    ['vde_switch', 'vde2'],
    ['vde_plug2tap', 'vde2'],
    ['ping', 'iputils-ping'],
    ['ip', 'iproute2'],
  ];
  const missing = [...new Set(needed.filter(([cmd]) => !hasCommand(cmd)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  process.stderr.write(`bench:net: installing ${missing.join(' ')}\n`);
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function measure(topology, opts, log) {
  const lab = new Lab({ log });
  activeLabs.add(lab);
  try {
    const topo = await topology.setup(lab);
    const server = await startIperfServer(topo);
    try {
      await waitReachable(topo.client, topo.serverAddr);
      // The switch's own CPU time (the daemon's, all threads) around each
      // measurement; the kernel bridge's work is in softirq context and
      // can't be told apart, so it has none.
      const cpu = topo.switchPid ? () => cpuSeconds(topo.switchPid) : () => NaN;
      log(`  ${topology.title}: idle switch CPU (${IDLE_SECONDS} s)`);
      let c0 = cpu();
      await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
      const idleCore = (cpu() - c0) / IDLE_SECONDS;
      log(`  ${topology.title}: ping RTT (${opts.pings} x ${opts.interval} s)`);
      const rtt = await pingRtt(topo, opts.pings, opts.interval);
      log(`  ${topology.title}: TCP throughput (${opts.time} s)`);
      c0 = cpu();
      const tcp = await tcpThroughput(topo, opts.time);
      // iperf3 runs the omitted first second too: bits over time + 1 s.
      const tcpCpuPerGbit = (cpu() - c0) / ((tcp * (opts.time + 1)) / 1e9);
      log(`  ${topology.title}: UDP 64-byte packet rate (${opts.time} s)`);
      c0 = cpu();
      const udp = await udpSmallFrames(topo, opts.time);
      const udpCore = (cpu() - c0) / opts.time;
      if (server.exitCode !== null) throw new Error(`iperf3 server exited ${server.exitCode} during the run`);
      return { tcp, rtt, udp, idleCore, tcpCpuPerGbit, udpCore };
    } catch (err) {
      // The server's side of a failure (its last lines) goes with the error.
      err.message += ` (iperf3 server: ${lastLines(server, 2)})`;
      throw err;
    }
  } finally {
    const clean = await lab.close();
    activeLabs.delete(lab);
    if (!clean) log(`  ${topology.title}: teardown was not clean (see above)`);
  }
}

// Ctrl-C during a measurement tears down what that measurement made.
const activeLabs = new Set();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // A second Ctrl-C must not cut the teardown short.
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench:net: ${signal}: tearing down\n`);
    Promise.all([...activeLabs].map((l) => l.close())).finally(() => process.exit(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]));
  });
}

/** A CPU figure, or '-' where the switch is the kernel's and has no process of its own. */
function cpuFormat(digits) {
  return (v) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const opts = options();
  if (process.getuid() !== 0) usageError('run as root: it creates network namespaces, a bridge and taps');
  ensureTools();
  const log = (line) => process.stderr.write(`${line}\n`);
  const chosen = TOPOLOGIES.filter((t) => opts.only.includes(t.key));
  // Rounds interleave the topologies, so drift in the machine's load (other
  // work, thermal) spreads over all of them instead of favouring one.
  const runs = Object.fromEntries(chosen.map((t) => [t.key, []]));
  const failures = [];
  for (let round = 1; round <= opts.repeat; round++) {
    for (const topology of chosen) {
      log(`bench:net: ${topology.title} (round ${round}/${opts.repeat})`);
      try {
        runs[topology.key].push(await measure(topology, opts, log));
      } catch (err) {
        failures.push(`${topology.title} (round ${round}): ${err.message}`);
        log(`  ${topology.title}: FAILED: ${err.message}`);
      }
    }
  }

  // Each figure is the median over the rounds that succeeded.
  const pick = (fn) =>
    Object.fromEntries(Object.entries(runs).filter(([, list]) => list.length > 0).map(([k, list]) => [k, median(list.map(fn))]));
  const rows = [
    { label: 'TCP throughput, Gbit/s', values: pick((r) => r.tcp / 1e9), format: (v) => v.toFixed(2) },
    { label: 'ping RTT avg, ms', values: pick((r) => r.rtt.avgMs), format: (v) => v.toFixed(3) },
    { label: 'UDP 64 B sent, kpps', values: pick((r) => r.udp.sentPps / 1e3), format: (v) => v.toFixed(0), ratios: false },
    { label: 'UDP 64 B received, kpps', values: pick((r) => r.udp.receivedPps / 1e3), format: (v) => v.toFixed(0) },
    { label: 'UDP 64 B loss, %', values: pick((r) => r.udp.lossPercent), format: (v) => v.toFixed(2), ratios: false },
    { label: 'switch CPU per Gbit (TCP), ms', values: pick((r) => r.tcpCpuPerGbit * 1e3), format: cpuFormat(1), ratios: false },
    { label: 'switch CPU in UDP run, % core', values: pick((r) => r.udpCore * 100), format: cpuFormat(0), ratios: false },
    { label: 'switch CPU idle, % core', values: pick((r) => r.idleCore * 100), format: cpuFormat(2), ratios: false },
  ];
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const iperf = execFileSync('iperf3', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  console.log(
    `containet network benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `${cpus().length} cores (${cpuModel}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, ${iperf}`,
  );
  console.log(
    `median of ${opts.repeat} round(s); TCP and UDP: ${opts.time} s each (TCP omits its first second); RTT: ${opts.pings} pings ${opts.interval} s apart\n`,
  );
  console.log(renderTable(rows, chosen));
  if (opts.repeat > 1) {
    console.log('\nper round:');
    for (const t of chosen) {
      const list = runs[t.key];
      if (list.length === 0) continue;
      const tcp = list.map((r) => (r.tcp / 1e9).toFixed(2)).join(' ');
      const rtt = list.map((r) => r.rtt.avgMs.toFixed(3)).join(' ');
      const udp = list.map((r) => (r.udp.receivedPps / 1e3).toFixed(0)).join(' ');
      console.log(`  ${t.title.padEnd(20)}  TCP Gbit/s ${tcp}   RTT ms ${rtt}   UDP kpps ${udp}`);
    }
  }
  // The variants against containet itself, round by round (same run).
  for (const key of ['epoll', 'idle100']) {
    const list = runs[key];
    const base = runs.containet;
    if (!list?.length || !base?.length) continue;
    const title = TOPOLOGIES.find((t) => t.key === key).title;
    const n = Math.min(list.length, base.length);
    const per = (fn) => median(Array.from({ length: n }, (_, i) => fn(list[i]) / fn(base[i]))).toFixed(2);
    console.log(`${title} / containet, median of per-round ratios: TCP ${per((r) => r.tcp)}x, RTT ${per((r) => r.rtt.avgMs)}x, UDP received ${per((r) => r.udp.receivedPps)}x`);
  }
  console.log('\ntargets for containet: TCP >= 0.9x bridge; RTT <= 1.5x; UDP 64 B received >= 0.8x with loss <= 10%; idle switch < 1% of a core; 100 idle ports cost < 5% of TCP');
  for (const f of failures) console.log(`not measured: ${f}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:net: ${err.message}\n`);
  process.exitCode = 1;
});
