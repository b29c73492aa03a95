#!/usr/bin/env node
// Soak run (not a test, not in `pnpm test`): N containers (default
// 20, containode without -r) on one containet switch for --minutes (default
// 3). Every container pings two peers every 0.5 s (ping -D -O logs each
// reply and each unanswered request with a timestamp); two TCP streams
// (iperf3, rate-limited) run between four containers that are never killed;
// the others are killed at random (SIGKILL to containode, or SIGTERM) and
// restarted 1-3 s later. At the end:
//   - lost pings between containers that were both live, outside the moments
//     of restart (from 1 s before a kill to 2 s after the container is back),
//   - containet memory flat: RSS is sampled every 5 s; the highest RSS of
//     the last third of the churn may exceed that of the middle third by at
//     most 4 MiB (the first third is where Node's heap and malloc's arenas
//     grow to their working size); the JS heap at each third is reported,
//   - fd count (/proc/PID/fd) after warm-up vs at the end, with all
//     containers running again,
//   - the TCP streams ran to their end without error,
//   - after teardown no record, port or cgroup of the run is left.
// Exits 1 when a criterion fails. Ctrl-C tears everything down.
//
// Usage (root): pnpm soak   or   node bench/soak.mjs [--minutes M] [--containers N] [--seed S]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cleanup, killAndWait, run, uniqueName, waitFor, sleep } from '@containet/common/testing';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINET = join(root, 'packages/containet/bin/containet.js');
const CONTAINODE = join(root, 'packages/containode/bin/containode.js');

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    containers: { type: 'string', default: '20' },
    seed: { type: 'string' },
  },
});
const minutes = Number(opts.minutes);
const count = Number(opts.containers);
if (!(minutes > 0 && minutes <= 60) || !(Number.isInteger(count) && count >= 6 && count <= 200)) {
  process.stderr.write('soak: --minutes 0-60 and --containers 6-200\n');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('soak: needs root (namespaces, taps)\n');
  process.exit(2);
}

// A small seeded PRNG (mulberry32) so a failing run can be replayed with --seed.
let seed = Number(opts.seed ?? Math.floor(Math.random() * 2 ** 31));
const seedUsed = seed;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const cleanup = new Cleanup();
const failures = [];
const work = mkdtempSync(join(tmpdir(), 'cnsoak-'));
const state = join(work, 'state');
const logs = join(work, 'logs');
mkdirSync(logs);
process.env['CONTAINET_STATE'] = state;
// Kept when a criterion failed: the ping logs say what happened.
cleanup.add(`rm ${work}`, () => (failures.length ? process.stdout.write(`soak: logs kept in ${logs}\n`) : rmSync(work, { recursive: true, force: true })));
const socket = join(work, 'sw.sock');
const tag = uniqueName('sk').slice(0, 6);
const ip = (i) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const prefix = 22;
const STABLE = 4; // containers 0-3 carry the TCP streams and are never killed
const peers = (i) => [(i + 1) % count, (i + 5) % count];

let stopping = false;
async function teardown(code) {
  stopping = true;
  await cleanup.run();
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`soak: ${sig}: tearing down\n`);
    void teardown(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig]);
  });
}

/** RSS (from /proc) and JS heap (from `containet status`) every 5 s while `more()`. */
async function sampleMemory(pid, more) {
  const samples = [];
  while (more()) {
    const st = await run(process.execPath, [CONTAINET, 'status', '-s', socket, '--json']);
    const heap = st.code === 0 ? JSON.parse(st.stdout).memory.heapUsed / 1024 : 0;
    samples.push({ t: Date.now(), rss: rssKiB(pid), heap });
    await sleep(5000);
  }
  return samples;
}

function rssKiB(pid) {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)?.[1] ?? 0);
}
const fdCount = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** Container slots: the running instance, and the windows in which it was (re)starting. */
const slots = Array.from({ length: count }, (_, i) => ({ i, id: `${tag}${i}`, child: null, exit: null, instance: 0, windows: [] }));

function recordStatus(id) {
  try {
    return JSON.parse(readFileSync(join(state, 'containers', `${id}.json`), 'utf8')).status;
  } catch {
    return undefined;
  }
}

async function startSlot(s) {
  const t0 = Date.now();
  s.instance++;
  const cmd = peers(s.i)
    .map((p) => `ping -n -D -O -i 0.5 -W 1 ${ip(p)} > ${logs}/${s.i}-${p}-${s.instance}.log 2>&1 &`)
    .join(' ');
  const child = spawn(process.execPath, [CONTAINODE, '-i', s.id, '-s', socket, '-4', `${ip(s.i)}/${prefix}`, 'sh', '-c', `trap 'exit 0' TERM; busybox arping -q -U -c 1 -I eth0 ${ip(s.i)}; ${cmd} wait`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += String(d)));
  s.child = child;
  s.exit = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
  void s.exit.then((how) => {
    if (s.killed !== child && !stopping) failures.push(`${s.id} ended by itself (${how}) at +${((Date.now() - t0) / 1000).toFixed(1)} s after its start: ${err.trim().split('\n').pop() ?? ''}`);
  });
  await waitFor(() => recordStatus(s.id) === 'running' || child.exitCode !== null, `${s.id} to run`, 15_000, 20);
  if (child.exitCode !== null) throw new Error(`containode ${s.id} exited ${child.exitCode}: ${err.trim()}`);
  // The window runs from 1 s before it went down (or before this start) to
  // 2 s after it runs again: ARP and the peers' next pings.
  s.windows.push([s.downSince ?? t0 - 1000, Date.now() + 2000]);
  s.downSince = undefined;
}

async function stopSlot(s, how) {
  const t = Date.now();
  s.downSince = t - 1000;
  s.killed = s.child;
  s.windows.push([t - 1000, t + 1000]);
  s.child.kill(how);
  // A container that does not end on SIGTERM within 5 s is a failure to report, then killed.
  const timer = setTimeout(() => {
    failures.push(`${s.id} ignored ${how}`);
    s.child?.kill('SIGKILL');
  }, 5000);
  await s.exit;
  clearTimeout(timer);
  s.child = null;
}

cleanup.add('containers', async () => {
  await Promise.all(slots.filter((s) => s.child).map((s) => stopSlot(s, 'SIGKILL')));
});

function check(ok, what) {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) failures.push(what);
}

try {
  const sw = spawn(process.execPath, [CONTAINET, '-s', socket], { stdio: 'ignore' });
  cleanup.add('containet', () => killAndWait(sw));
  await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', socket])).code === 0, 'containet to answer', 10_000);
  process.stdout.write(`soak: ${count} containers on ${socket}, ${minutes} min, seed ${seedUsed}\n`);
  for (const s of slots) await startSlot(s);

  // TCP streams between the stable containers, at a rate two cores can carry.
  const runFor = Math.round(minutes * 60);
  const streams = [];
  for (const [server, client] of [[1, 0], [3, 2]]) {
    const srv = spawn(process.execPath, [CONTAINODE, 'exec', slots[server].id, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
    cleanup.add('iperf3 server', () => killAndWait(srv));
    await sleep(500);
    streams.push(run(process.execPath, [CONTAINODE, 'exec', slots[client].id, 'iperf3', '-c', ip(server), '-t', String(runFor), '-b', '100M', '-J'], { timeoutMs: (runFor + 60) * 1000 }));
  }

  // Warm-up, then the reference figures.
  await sleep(10_000);
  const begin = Date.now();
  const rss0 = rssKiB(sw.pid);
  const fd0 = fdCount(sw.pid);

  // Random kills and restarts until the end (at most 3 down at once).
  let kills = 0;
  const end = begin + minutes * 60_000 - 10_000;
  const down = new Set();
  const chaos = [];
  const memory = sampleMemory(sw.pid, () => Date.now() < end && !stopping);
  while (Date.now() < end && !stopping) {
    await sleep(500 + random() * 1500);
    if (down.size >= 3) continue;
    const s = slots[STABLE + Math.floor(random() * (count - STABLE))];
    if (down.has(s)) continue;
    down.add(s);
    kills++;
    const how = random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
    chaos.push(
      (async () => {
        await stopSlot(s, how);
        await sleep(1000 + random() * 2000);
        await startSlot(s);
        down.delete(s);
      })(),
    );
  }
  await Promise.all(chaos);
  const samples = await memory;
  await sleep(5000);
  const stopAt = Date.now();
  const rss1 = rssKiB(sw.pid);
  const fd1 = fdCount(sw.pid);
  const ports = JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', socket, '--json'])).stdout);

  // Pings: every unanswered request between two live containers, outside
  // both ends' restart windows, is a loss.
  const inWindow = (i, t) => slots[i].windows.some(([a, b]) => t >= a && t <= b);
  let answered = 0;
  let lost = 0;
  const losses = [];
  for (const name of readdirSync(logs)) {
    const [src, dst] = name.split('-').map(Number);
    const replies = new Set();
    const unanswered = new Map();
    for (const line of readFileSync(join(logs, name), 'utf8').split('\n')) {
      const m = line.match(/^\[(\d+\.\d+)\] (?:64 bytes from .*icmp_seq=(\d+)|no answer yet for icmp_seq=(\d+))/);
      if (!m) continue;
      const t = Number(m[1]) * 1000;
      if (t < begin || t > stopAt) continue;
      if (m[2]) replies.add(m[2]);
      else unanswered.set(m[3], t);
    }
    answered += replies.size;
    for (const [seq, t] of unanswered) {
      if (replies.has(seq) || inWindow(src, t) || inWindow(dst, t)) continue;
      lost++;
      if (losses.length < 10) {
        // The nearest restart window of either end, to tell a late recovery from a loss in steady state.
        const near = [src, dst].flatMap((i) => slots[i].windows.map(([a, b]) => [i, a, b])).sort((x, y) => Math.abs(t - x[2]) - Math.abs(t - y[2]))[0];
        const rel = (x) => ((x - begin) / 1000).toFixed(1);
        losses.push(`${src}->${dst} seq ${seq} at +${rel(t)} s${near ? `, nearest restart of ${near[0]}: +${rel(near[1])}..+${rel(near[2])} s` : ''}`);
      }
    }
  }

  const results = [];
  for (const st of streams) results.push(await st);

  process.stdout.write(`soak: ${((stopAt - begin) / 60_000).toFixed(1)} min measured, ${kills} kills/restarts, ${ports.length} ports at the end\n`);
  check(ports.length === count, `all ${count} containers attached at the end (${ports.length})`);
  check(lost === 0, `pings between live containers: ${answered} answered, ${lost} lost outside restarts${losses.length ? ` (${losses.join(', ')})` : ''}`);
  const thirds = [0, 1, 2].map((k) => samples.filter((x) => x.t >= begin + ((end - begin) * k) / 3 && x.t < begin + ((end - begin) * (k + 1)) / 3));
  const peak = (xs, f) => Math.max(0, ...xs.map(f));
  const mib = (kib) => (kib / 1024).toFixed(1);
  const desc = thirds.map((xs, k) => `${['first', 'middle', 'last'][k]} third peak ${mib(peak(xs, (x) => x.rss))} MiB (JS heap ${mib(peak(xs, (x) => x.heap))} MiB)`).join(', ');
  const growth = peak(thirds[2], (x) => x.rss) - peak(thirds[1], (x) => x.rss);
  check(thirds[1].length > 0 && growth < 4 * 1024, `containet RSS ${mib(rss0)} MiB after warm-up; ${desc}; ${mib(rss1)} MiB at the end (last vs middle third ${growth >= 0 ? '+' : ''}${mib(growth)} MiB)`);
  check(fd1 <= fd0, `containet fds ${fd0} after warm-up, ${fd1} at the end`);
  for (const [k, r] of results.entries()) {
    let bits = 0;
    let why = r.stderr.trim();
    try {
      const j = JSON.parse(r.stdout);
      bits = j.end?.sum_received?.bits_per_second ?? 0;
      why = j.error ?? why;
    } catch {
      // not JSON: iperf3 failed before measuring
    }
    check(r.code === 0 && bits > 0, `TCP stream ${k + 1}: exit ${r.code}, ${(bits / 1e6).toFixed(0)} Mbit/s over ${runFor} s${why ? ` (${why})` : ''}`);
  }

  await Promise.all(slots.map((s) => stopSlot(s, 'SIGTERM')));
  await sleep(1000);
  const after = JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', socket, '--json'])).stdout);
  const records = existsSync(join(state, 'containers')) ? readdirSync(join(state, 'containers')).filter((n) => n.endsWith('.json')) : [];
  const cgroupsLeft = ['/sys/fs/cgroup/pids/containet', '/sys/fs/cgroup/unified/containet', '/sys/fs/cgroup/containet']
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((n) => n.startsWith(tag)));
  check(after.length === 0 && records.length === 0 && cgroupsLeft.length === 0, `after teardown: ${after.length} ports, ${records.length} records, ${cgroupsLeft.length} cgroups left`);
} catch (err) {
  process.stderr.write(`soak: ${err.stack ?? err}\n`);
  failures.push(String(err.message ?? err));
}
for (const f of failures.filter((f) => f.includes('ended by itself') || f.includes('ignored'))) process.stdout.write(`FAIL ${f}\n`);
process.stdout.write(failures.length ? `soak: ${failures.length} criteria failed\n` : 'soak: all criteria hold\n');
await teardown(failures.length ? 1 : 0);
