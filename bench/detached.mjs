#!/usr/bin/env node
// node bench/detached.mjs — what a detached containode container costs the
// host while it runs: N containers started with `containode run -d`, each
// supervised by containode-spawn's supervised mode (the supervisor and the
// ordinary spawner it runs as its child, both C), next to a foreground
// container in the same run, which keeps a Node.js `containode` process
// beside its spawner. Per container it prints RSS and PSS
// (/proc/PID/smaps_rollup: shared pages divided among their users, the
// fairer sum over many processes) of the processes that stay besides the
// container's own program, and the wall time of `containode run -d`.
// A benchmark, not a test: it never fails on the figures.
//
// Usage: node bench/detached.mjs [--count N]   (root; default 50)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINODE = join(root, 'packages/containode/bin/containode.js');
const argCount = process.argv.indexOf('--count');
const COUNT = argCount > 0 ? Number(process.argv[argCount + 1]) : 50;

if (process.getuid() !== 0) {
  console.error('bench/detached.mjs: needs root (namespaces, cgroups)');
  process.exit(1);
}

const state = mkdtempSync(join(tmpdir(), 'bench-detached-'));
const env = { ...process.env, CONTAINET_STATE: state };
const tag = `bd${process.pid.toString(36)}`;

function containode(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CONTAINODE, ...args], { env, encoding: 'utf8' });
  return { ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** kB of VmRSS and Pss of a process. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)[1]), pss: Number(/^Pss:\s+(\d+)/m.exec(rollup)[1]) };
}

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function comm(pid) {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (kb) => (kb / 1024).toFixed(2);

const ids = [];
let foreground;
try {
  // The reference: a foreground container (Node containode + its spawner).
  foreground = spawn(process.execPath, [CONTAINODE, '-i', `${tag}fg`, 'sleep', '600'], { env, stdio: 'ignore' });
  const starts = [];
  for (let i = 0; i < COUNT; i++) {
    const id = `${tag}-${i}`;
    const r = containode(['run', '-d', '-i', id, 'sleep', '600']);
    if (r.status !== 0) throw new Error(`run -d ${id}: ${r.stderr}`);
    ids.push(id);
    starts.push(r.ms);
  }
  const per = [];
  for (const id of ids) {
    const rec = JSON.parse(readFileSync(join(state, 'containers', id, 'state.json'), 'utf8'));
    const sup = rec.pid;
    const spawner = children(sup).find((p) => comm(p) === 'containode-spaw');
    const a = memory(sup);
    const b = spawner ? memory(spawner) : { rss: 0, pss: 0 };
    per.push({ supervisor: a, spawner: b, total: { rss: a.rss + b.rss, pss: a.pss + b.pss } });
  }
  const fgNode = memory(foreground.pid);
  const fgSpawner = children(foreground.pid).map((p) => (comm(p) === 'containode-spaw' ? memory(p) : null)).find(Boolean) ?? { rss: 0, pss: 0 };
  const col = (f) => per.map(f);
  console.log(`detached containers: ${COUNT} (sleep 600 each; new pid, mount, uts, ipc, net namespaces, a cgroup)`);
  console.log(`run -d wall time: median ${median(starts).toFixed(0)} ms, max ${Math.max(...starts).toFixed(0)} ms`);
  console.log('per container, MB (median over the containers)        RSS     PSS');
  console.log(`  supervisor (containode-spawn, supervised mode)   ${mb(median(col((p) => p.supervisor.rss))).padStart(6)}  ${mb(median(col((p) => p.supervisor.pss))).padStart(6)}`);
  console.log(`  its spawner child (attached mode)                 ${mb(median(col((p) => p.spawner.rss))).padStart(6)}  ${mb(median(col((p) => p.spawner.pss))).padStart(6)}`);
  console.log(`  detached total                                    ${mb(median(col((p) => p.total.rss))).padStart(6)}  ${mb(median(col((p) => p.total.pss))).padStart(6)}   (max RSS ${mb(Math.max(...col((p) => p.total.rss)))})`);
  console.log(`reference, a foreground container in the same run:`);
  console.log(`  Node containode process                           ${mb(fgNode.rss).padStart(6)}  ${mb(fgNode.pss).padStart(6)}`);
  console.log(`  its spawner                                       ${mb(fgSpawner.rss).padStart(6)}  ${mb(fgSpawner.pss).padStart(6)}`);
  console.log(`${COUNT} detached containers hold ${mb(per.reduce((s, p) => s + p.total.pss, 0))} MB (PSS) of supervision; as foreground ones ${mb(COUNT * (fgNode.pss + fgSpawner.pss))} MB`);
} finally {
  for (const id of ids) containode(['rm', '-f', id]);
  if (foreground && foreground.exitCode === null) {
    foreground.kill('SIGTERM');
    await new Promise((r) => foreground.once('exit', r));
  }
  rmSync(state, { recursive: true, force: true });
}
