#!/usr/bin/env node
// node bench/cni.mjs — what one CNI ADD and one DEL cost through
// containet-cni (tap in the pod's namespace, host-local lease, port on a
// running containet switch) next to Debian's `bridge` CNI plugin doing the
// same job with the same IPAM (veth pair, Linux bridge, host-local), with
// the cost of starting a process at all (`node -e 0`, the floor of any
// Node program) measured in the same run. Engines run the plugin once per
// container and operation, so start-up is most of what it costs.
//
// Everything runs inside a network namespace of its own (the script
// re-executes itself under `ip netns exec`), so the bridge and iptables
// state of the reference never touch the host's. Variants are interleaved
// round by round so that they share the machine's load; medians, p90s and
// minimums of wall time are printed, and the mean CPU time (user + system,
// the plugin and every process it ran) per call, which a loaded machine
// disturbs less. A benchmark, not a test: it never fails on the figures.
//
// --compare PLUGIN times another build of containet-cni (a copy of an
// earlier tree's bin/ and dist/bundle/) in the same rounds, for a
// before/after under the same load.
//
// Usage: node bench/cni.mjs [--rounds N] [--compare PLUGIN]   (root; default 30 rounds)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const PLUGIN = join(root, 'packages/cni/bin/containet-cni.cjs');
const CONTAINET = join(root, 'packages/containet/bin/containet.js');
const CNI_DIR = '/usr/lib/cni';
const argRounds = process.argv.indexOf('--rounds');
const ROUNDS = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 30;
const INNER = process.argv.includes('--inner');
const argCompare = process.argv.indexOf('--compare');
const COMPARE = argCompare > 0 ? process.argv[argCompare + 1] : undefined;

if (process.getuid?.() !== 0) {
  console.error('bench/cni: needs root (network namespaces)');
  process.exit(1);
}
for (const p of ['bridge', 'host-local']) {
  if (!existsSync(join(CNI_DIR, p))) {
    console.error(`bench/cni: needs ${CNI_DIR}/${p} (apt-get install containernetworking-plugins)`);
    process.exit(1);
  }
}

const suffix = `${process.pid.toString(36)}`;

if (!INNER) {
  // Re-run inside a namespace of our own; remove it whatever happens.
  const ns = `cnibench${suffix}`;
  spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--inner', ...process.argv.slice(2)], { stdio: 'inherit' });
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const base = mkdtempSync(join(tmpdir(), 'cni-bench-'));
const socket = join(base, 'switch.sock');
const sw = spawn(process.execPath, [CONTAINET, '-s', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
let swLog = '';
sw.stderr.on('data', (d) => (swLog += d));
const pods = [];

function sh(...argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// CPU time (user + system) of reaped children, from proc(5)'s
// /proc/self/stat cutime and cstime, in clock ticks (USER_HZ, 100 on Linux):
// less sensitive to the machine's load than wall time.
function childTicks() {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[13]) + Number(rest[14]);
}
const cpu = { node: 0, cnAdd: 0, cnDel: 0, cmpAdd: 0, cmpDel: 0, brAdd: 0, brDel: 0 };
function charge(key, fn) {
  const t = childTicks();
  const ms = fn();
  cpu[key] += (childTicks() - t) * 10;
  return ms;
}

/** Run a CNI plugin as a runtime does and time it; throws on failure. */
function time(plugin, command, att, conf) {
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: att.id,
    CNI_NETNS: att.netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: CNI_DIR,
    CONTAINET_CNI_STATE: join(base, 'state'),
  };
  const input = JSON.stringify(conf);
  const t = process.hrtime.bigint();
  const r = spawnSync(plugin, [], { env, input, stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${plugin} ${command} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

// The plugin's launcher drops NODE_EXTRA_CA_CERTS (Node parses the file at
// every start); the floor is measured without it too.
const nodeEnv = { ...process.env };
delete nodeEnv.NODE_EXTRA_CA_CERTS;

function timeNode() {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', env: nodeEnv });
  if (r.status !== 0) throw new Error('node -e 0 failed');
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
}

function bundleCurrent() {
  try {
    const inputs = JSON.parse(readFileSync(join(root, 'packages/cni/dist/bundle/containet-cni.inputs.json'), 'utf8'));
    return inputs.length > 0 && inputs.every(([p, m]) => statSync(p).mtimeMs === m);
  } catch {
    return false;
  }
}

try {
  for (let i = 0; i < 100 && !(existsSync(socket) && swLog.includes('listening on')); i++) await new Promise((r) => setTimeout(r, 50));
  if (!swLog.includes('listening on')) throw new Error(`containet did not start: ${swLog}`);
  const containet = {
    cniVersion: '1.0.0',
    name: 'benchcn',
    type: 'containet',
    socket,
    ipam: { type: 'host-local', subnet: '10.201.0.0/16', dataDir: join(base, 'ipam-cn'), routes: [{ dst: '0.0.0.0/0' }] },
  };
  const bridge = {
    cniVersion: '1.0.0',
    name: 'benchbr',
    type: 'bridge',
    bridge: `cnibr${suffix}`.slice(0, 15),
    isGateway: true,
    ipam: { type: 'host-local', subnet: '10.202.0.0/16', dataDir: join(base, 'ipam-br'), routes: [{ dst: '0.0.0.0/0' }] },
  };
  const samples = { node: [], cnAdd: [], cnDel: [], cmpAdd: [], cmpDel: [], brAdd: [], brDel: [] };
  const newPod = () => {
    const name = `cnibp${suffix}${pods.length}`.slice(0, 15);
    sh('ip', 'netns', 'add', name);
    pods.push(name);
    return { id: `${'b'.repeat(52)}${String(pods.length).padStart(12, '0')}`, netns: `/run/netns/${name}` };
  };
  // Warm-up: the first runs write V8's code cache and fill the page cache.
  for (let i = 0; i < 3; i++) {
    const a = newPod();
    time(PLUGIN, 'ADD', a, containet);
    time(PLUGIN, 'DEL', a, containet);
    if (COMPARE) {
      const c = newPod();
      time(COMPARE, 'ADD', c, containet);
      time(COMPARE, 'DEL', c, containet);
    }
    const b = newPod();
    time(join(CNI_DIR, 'bridge'), 'ADD', b, bridge);
    time(join(CNI_DIR, 'bridge'), 'DEL', b, bridge);
    timeNode();
  }
  for (let round = 0; round < ROUNDS; round++) {
    samples.node.push(charge('node', timeNode));
    const a = newPod();
    samples.cnAdd.push(charge('cnAdd', () => time(PLUGIN, 'ADD', a, containet)));
    samples.cnDel.push(charge('cnDel', () => time(PLUGIN, 'DEL', a, containet)));
    if (COMPARE) {
      const c = newPod();
      samples.cmpAdd.push(charge('cmpAdd', () => time(COMPARE, 'ADD', c, containet)));
      samples.cmpDel.push(charge('cmpDel', () => time(COMPARE, 'DEL', c, containet)));
    }
    const b = newPod();
    samples.brAdd.push(charge('brAdd', () => time(join(CNI_DIR, 'bridge'), 'ADD', b, bridge)));
    samples.brDel.push(charge('brDel', () => time(join(CNI_DIR, 'bridge'), 'DEL', b, bridge)));
  }
  const n = stats(samples.node);
  const row = (label, xs, extra = '') => {
    const s = stats(xs);
    console.log(`${label.padEnd(34)} ${s.median.toFixed(1).padStart(7)} ms  ${s.p90.toFixed(1).padStart(7)} ms  ${s.min.toFixed(1).padStart(7)} ms  ${(cpu[keyOf[label]] / ROUNDS).toFixed(1).padStart(7)} ms  ${extra}`);
    return s;
  };
  const keyOf = { 'node -e 0 (process start)': 'node', 'containet-cni ADD': 'cnAdd', 'containet-cni DEL': 'cnDel', 'compared ADD': 'cmpAdd', 'compared DEL': 'cmpDel', 'bridge ADD (Debian, Go)': 'brAdd', 'bridge DEL (Debian, Go)': 'brDel' };
  console.log(`CNI ADD/DEL, ${ROUNDS} rounds interleaved, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}; bundle ${bundleCurrent() ? 'current' : 'MISSING (run pnpm build)'}, startup snapshot ${existsSync(join(root, 'packages/cni/dist/bundle/containet-cni.blob')) ? 'present' : 'none'}`);
  console.log(`${''.padEnd(34)} ${'median'.padStart(10)}  ${'p90'.padStart(10)}  ${'min'.padStart(10)}  ${'CPU'.padStart(10)}`);
  row('node -e 0 (process start)', samples.node);
  if (COMPARE) console.log(`compared: ${COMPARE}`);
  const rows = [['containet-cni ADD', 'cnAdd'], ['containet-cni DEL', 'cnDel'], ...(COMPARE ? [['compared ADD', 'cmpAdd'], ['compared DEL', 'cmpDel']] : [])];
  for (const [label, key] of rows) {
    const s = stats(samples[key]);
    row(label, samples[key], `(+${(s.median - n.median).toFixed(1)} ms median, +${(s.min - n.min).toFixed(1)} ms min, +${((cpu[key] - cpu.node) / ROUNDS).toFixed(1)} ms CPU over node -e 0)`);
  }
  row('bridge ADD (Debian, Go)', samples.brAdd);
  row('bridge DEL (Debian, Go)', samples.brDel);
} finally {
  sw.kill('SIGTERM');
  await new Promise((r) => (sw.exitCode !== null ? r() : sw.once('exit', r)));
  for (const p of pods) spawnSync('ip', ['netns', 'del', p]);
  rmSync(base, { recursive: true, force: true });
}
