#!/usr/bin/env node
// node bench/lab.mjs — what `containet lab` costs. A benchmark, not a test:
// it never fails on the figures.
//
// 1. Speed: deploy and destroy (wall time of the whole command) of a 20-node
//    lab with two bridges (ten nodes on each) and 10 point-to-point links,
//    nodes on the host's files. Targets: deploy < 5 s, destroy < 3 s. Next to
//    it, measured in the same run, the floor of doing the same wiring by hand
//    with iproute2 (20 network namespaces, 10 veth pairs, two Linux bridges
//    with 20 more veths: what containerlab makes besides its Docker
//    containers), and containerlab's published figure.
// 2. Memory: a 100-node lab (two bridges of 50, and 50 point-to-point
//    links, which share one switch, a VLAN each) and what its supervision
//    and control costs while it runs: each node's supervisor and spawner
//    (containode-spawn, C) and every switch daemon, as RSS and PSS
//    (/proc/PID/smaps_rollup). Target: under 1 GB.
//
// Usage: node bench/lab.mjs [--runs N] [--nodes N]   (root; defaults 3, 100)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINET = join(root, 'packages/containet/bin/containet.js');
const CONTAINODE = join(root, 'packages/containode/bin/containode.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 3);
const BIG = arg('--nodes', 100);

if (process.getuid() !== 0) {
  console.error('bench/lab.mjs: needs root (namespaces, taps, cgroups)');
  process.exit(1);
}

const state = mkdtempSync(join(tmpdir(), 'bench-lab-state-'));
const dir = mkdtempSync(join(tmpdir(), 'bench-lab-'));
const env = { ...process.env, CONTAINET_STATE: state };
const tag = `bl${process.pid.toString(36)}`;

function timed(file, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

function containet(args) {
  const r = timed(process.execPath, [CONTAINET, ...args]);
  if (r.status !== 0) throw new Error(`containet ${args.join(' ')}: ${r.stderr}`);
  return r;
}

function sh(cmds) {
  const r = timed('sh', ['-ec', cmds.join('\n')]);
  if (r.status !== 0) throw new Error(`${r.stderr}`);
  return r.ms;
}

/** 20 nodes: n1-n10 on br1, n11-n20 on br2 (eth1), n(i) -- n(i+10) point to point (eth2). */
function twentyNodes(name) {
  const nodes = Array.from({ length: 20 }, (_, i) => `    n${i + 1}: {kind: linux}`);
  const links = [];
  for (let i = 1; i <= 20; i++) links.push(`    - endpoints: ["n${i}:eth1", "${i <= 10 ? 'br1' : 'br2'}:p${i}"]`);
  for (let i = 1; i <= 10; i++) links.push(`    - endpoints: ["n${i}:eth2", "n${i + 10}:eth2"]`);
  return `name: ${name}\ntopology:\n  nodes:\n    br1: {kind: bridge}\n    br2: {kind: bridge}\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}

function bigLab(name, count) {
  const nodes = Array.from({ length: count }, (_, i) => `    n${i + 1}: {kind: linux}`);
  const links = Array.from({ length: count }, (_, i) => `    - endpoints: ["n${i + 1}:eth1", "${i % 2 ? 'br2' : 'br1'}:p${i + 1}"]`);
  const half = Math.floor(count / 2);
  for (let i = 1; i <= half; i++) links.push(`    - endpoints: ["n${i}:eth2", "n${i + half}:eth2"]`);
  return `name: ${name}\nmgmt: {ipv4-subnet: 172.30.0.0/22}\ntopology:\n  nodes:\n    br1: {kind: bridge}\n    br2: {kind: bridge}\n${nodes.join('\n')}\n  links:\n${links.join('\n')}\n`;
}

/** The same wiring by hand with iproute2, made and removed: the reference. */
function iprouteFloor() {
  const ns = Array.from({ length: 20 }, (_, i) => `${tag}n${i + 1}`);
  const make = [];
  for (const n of ns) make.push(`ip netns add ${n}`, `ip -n ${n} link set lo up`);
  make.push(`ip link add ${tag}b1 type bridge`, `ip link add ${tag}b2 type bridge`, `ip link set ${tag}b1 up`, `ip link set ${tag}b2 up`);
  for (let i = 1; i <= 20; i++) {
    const v = `${tag}v${i}`;
    make.push(`ip link add ${v} type veth peer name eth1 netns ${ns[i - 1]}`, `ip link set ${v} master ${i <= 10 ? `${tag}b1` : `${tag}b2`} up`, `ip -n ${ns[i - 1]} link set eth1 up`);
  }
  for (let i = 1; i <= 10; i++) {
    make.push(`ip -n ${ns[i - 1]} link add eth2 type veth peer name eth2 netns ${ns[i + 9]}`, `ip -n ${ns[i - 1]} link set eth2 up`, `ip -n ${ns[i + 9]} link set eth2 up`);
  }
  const up = sh(make);
  const down = sh([...ns.map((n) => `ip netns del ${n}`), ...Array.from({ length: 20 }, (_, i) => `ip link del ${tag}v${i + 1} 2>/dev/null || true`), `ip link del ${tag}b1`, `ip link del ${tag}b2`]);
  return { up, down };
}

function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)[1]), pss: Number(/^Pss:\s+(\d+)/m.exec(rollup)[1]) };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;

const files = [];
try {
  console.log(`# containet lab: 20 nodes, 2 bridges, 10 point-to-point links (${RUNS} runs)`);
  const file = join(dir, 'twenty.clab.yml');
  writeFileSync(file, twentyNodes(`${tag}20`));
  files.push(file);
  const deploys = [];
  const destroys = [];
  const floors = [];
  for (let i = 0; i < RUNS; i++) {
    deploys.push(containet(['lab', 'deploy', '-t', file]).ms);
    if (i === 0) {
      // What was timed is the whole lab: every node runs, every interface is on its port.
      const v = JSON.parse(containet(['lab', 'inspect', '-t', file, '--json']).stdout);
      const plugged = v.nodes.flatMap((n) => n.interfaces).filter((x) => x.port !== null).length;
      console.log(`  ${v.nodes.filter((n) => n.state === 'running').length} nodes running, ${plugged} interfaces on switch ports, ${v.switches.length} switches`);
    }
    destroys.push(containet(['lab', 'destroy', '-t', file]).ms);
    floors.push(iprouteFloor());
    console.log(`run ${i + 1}: deploy ${s(deploys.at(-1))}, destroy ${s(destroys.at(-1))}; iproute2 by hand: make ${s(floors.at(-1).up)}, remove ${s(floors.at(-1).down)}`);
  }
  console.log(`deploy  median ${s(median(deploys))}  (target < 5 s)`);
  console.log(`destroy median ${s(median(destroys))}  (target < 3 s)`);
  console.log(`reference, same run: the wiring alone with iproute2 (20 netns, 30 veth pairs, 2 bridges; no processes in them): make ${s(median(floors.map((f) => f.up)))}, remove ${s(median(floors.map((f) => f.down)))}`);
  console.log('reference, published: containerlab deploy 39 s / destroy 37 s for 300 Linux containers and 6 FRR switches on a 16-core Ryzen (blog.ipspace.net, "How Moving Away from Ansible Made netlab Faster", Jan 2026): ~0.13 s per node');

  console.log(`\n# memory of a running ${BIG}-node lab (2 bridges, ${Math.floor(BIG / 2)} point-to-point links): supervision and control`);
  const big = join(dir, 'big.clab.yml');
  writeFileSync(big, bigLab(`${tag}big`, BIG));
  files.push(big);
  const d = containet(['lab', 'deploy', '-t', big, '--json']);
  console.log(`deploy ${s(d.ms)}`);
  const view = JSON.parse(d.stdout);
  let supRss = 0;
  let supPss = 0;
  for (const n of view.nodes) {
    const info = JSON.parse(timed(process.execPath, [CONTAINODE, 'inspect', '--json', n.container]).stdout);
    const sup = info.supervisor?.supervisor?.pid;
    // The supervisor and the spawner it runs as its child; the init below is the node's own program.
    for (const pid of [sup, ...children(sup).filter((c) => c !== info.supervisor?.init?.pid)]) {
      const m = memory(pid);
      supRss += m.rss;
      supPss += m.pss;
    }
  }
  let swRss = 0;
  let swPss = 0;
  for (const sw of view.switches) {
    const m = memory(sw.pid);
    swRss += m.rss;
    swPss += m.pss;
    console.log(`switch ${sw.id}: RSS ${mb(m.rss)}, PSS ${mb(m.pss)}, ${sw.ports} ports`);
  }
  console.log(`node supervisors (${view.nodes.length} x supervisor + spawner): RSS ${mb(supRss)}, PSS ${mb(supPss)} (${mb(supPss / view.nodes.length)} PSS per node)`);
  console.log(`switch daemons (${view.switches.length}): RSS ${mb(swRss)}, PSS ${mb(swPss)}`);
  console.log(`total supervision and control: RSS ${mb(supRss + swRss)}, PSS ${mb(supPss + swPss)}  (target < 1 GB)`);
  const del = containet(['lab', 'destroy', '-t', big]);
  console.log(`destroy ${s(del.ms)}`);
} finally {
  for (const f of files) timed(process.execPath, [CONTAINET, 'lab', 'destroy', '-t', f, '--cleanup']);
  rmSync(dir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
}
