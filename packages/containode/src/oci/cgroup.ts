/**
 * linux.cgroupsPath and linux.resources (config-linux.md "Control groups")
 * on the host's layout: pure cgroup v2 (cgroup.controllers at the mount
 * root), or v1 controllers under /sys/fs/cgroup/<controller> (hybrid hosts
 * keep a controller-less v2 at /sys/fs/cgroup/unified, which limits
 * nothing). The spawner puts the init into every cgroup.procs returned
 * before releasing it. A limit that cannot be written fails the create:
 * running unlimited instead would be a silent change.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContainetError } from '@containet/common';
import type { OciResources } from './config.js';
import { sleepSync } from './sleep.js';

const CGROOT = '/sys/fs/cgroup';

export interface CgroupSetup {
  /** The path below each hierarchy's root. */
  name: string;
  /** Directories created, deepest last (delete removes them in reverse). */
  dirs: string[];
  /** cgroup.procs files the init joins. */
  procs: string[];
  /** The file that freezes the cgroup for pause/resume: v1 freezer.state or v2 cgroup.freeze. */
  freezer?: string;
}

function isV2(): boolean {
  return existsSync(join(CGROOT, 'cgroup.controllers'));
}

function cgWrite(dir: string, file: string, value: string, field: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    throw new ContainetError('CN_OCI_CGROUP', `cannot apply ${field}: write ${value} to ${join(dir, file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'check the value and that the controller is available on this host',
    });
  }
}

/** Make DIR and its missing parents; returns those created, outermost first. */
function mkdirs(dir: string): string[] {
  const made: string[] = [];
  const parts = dir.split('/').filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur += `/${p}`;
    if (existsSync(cur)) continue;
    mkdirSync(cur);
    made.push(cur);
  }
  return made;
}

function normalise(cgroupsPath: string | undefined, id: string): string {
  const p = cgroupsPath ?? `/containode-oci/${id}`;
  if (/^[^/]*:[^/]*:[^/]*$/.test(p)) {
    throw new ContainetError('CN_OCI_UNSUPPORTED', `linux.cgroupsPath ${p} is in systemd form (slice:prefix:name), which needs --systemd-cgroup`, {
      hint: 'systemd cgroup management is not supported; give a path such as /mygroup/ID',
    });
  }
  const clean = p.split('/').filter((s) => s && s !== '.');
  if (clean.includes('..')) throw new ContainetError('CN_OCI_CONFIG', `config.json: linux.cgroupsPath: ${p} must not contain ..`);
  return clean.join('/');
}

/** Whether the bundle asks for a cgroup at all. */
export function wantsCgroup(cgroupsPath: string | undefined, r: OciResources | undefined): boolean {
  return cgroupsPath !== undefined || Boolean(r?.memory || r?.cpu || r?.pids);
}

/** Create the container's cgroup(s) and write its limits. */
export function createCgroup(id: string, cgroupsPath: string | undefined, r: OciResources = {}): CgroupSetup {
  const rel = normalise(cgroupsPath, id);
  const setup: CgroupSetup = { name: rel, dirs: [], procs: [] };
  try {
    if (isV2()) applyV2(rel, r, setup);
    else applyV1(rel, r, setup);
  } catch (err) {
    removeCgroup(setup.dirs);
    throw err;
  }
  return setup;
}

function applyV1(rel: string, r: OciResources, setup: CgroupSetup): void {
  const controllers = ['memory', 'cpu', 'pids'];
  if (r.cpu?.cpus || r.cpu?.mems) controllers.push('cpuset');
  // The freezer (pause/resume) wherever the hierarchy is mounted, as runc does.
  if (existsSync(join(CGROOT, 'freezer', 'cgroup.procs'))) {
    const dir = join(CGROOT, 'freezer', rel);
    setup.dirs.push(...mkdirs(dir));
    setup.procs.push(join(dir, 'cgroup.procs'));
    setup.freezer = join(dir, 'freezer.state');
  }
  for (const c of controllers) {
    if (!existsSync(join(CGROOT, c))) {
      if (c === 'memory' && !r.memory) continue;
      if (c === 'cpu' && !r.cpu) continue;
      if (c === 'pids' && !r.pids) continue;
      throw new ContainetError('CN_OCI_CGROUP', `cgroup v1 controller ${c} is not mounted at ${join(CGROOT, c)}`, { hint: `remove linux.resources.${c === 'cpuset' ? 'cpu' : c}` });
    }
    const dir = join(CGROOT, c, rel);
    setup.dirs.push(...mkdirs(dir));
    if (c === 'cpuset') {
      // A cpuset cgroup accepts no task until cpus and mems are set (cpusets(7)).
      const parent = join(dir, '..');
      cgWrite(dir, 'cpuset.cpus', r.cpu?.cpus ?? readFileSync(join(parent, 'cpuset.cpus'), 'utf8').trim(), 'linux.resources.cpu.cpus');
      cgWrite(dir, 'cpuset.mems', r.cpu?.mems ?? readFileSync(join(parent, 'cpuset.mems'), 'utf8').trim(), 'linux.resources.cpu.mems');
    }
    if (c === 'memory' && r.memory) {
      const m = r.memory;
      if (m.limit !== undefined) cgWrite(dir, 'memory.limit_in_bytes', String(m.limit), 'linux.resources.memory.limit');
      if (m.reservation !== undefined) cgWrite(dir, 'memory.soft_limit_in_bytes', String(m.reservation), 'linux.resources.memory.reservation');
      if (m.swap !== undefined) cgWrite(dir, 'memory.memsw.limit_in_bytes', String(m.swap), 'linux.resources.memory.swap');
    }
    if (c === 'cpu' && r.cpu) {
      const cpu = r.cpu;
      if (cpu.shares !== undefined) cgWrite(dir, 'cpu.shares', String(cpu.shares), 'linux.resources.cpu.shares');
      if (cpu.period !== undefined) cgWrite(dir, 'cpu.cfs_period_us', String(cpu.period), 'linux.resources.cpu.period');
      if (cpu.quota !== undefined) cgWrite(dir, 'cpu.cfs_quota_us', String(cpu.quota), 'linux.resources.cpu.quota');
    }
    if (c === 'pids' && r.pids?.limit !== undefined) {
      cgWrite(dir, 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', 'linux.resources.pids.limit');
    }
    setup.procs.push(join(dir, 'cgroup.procs'));
  }
}

function applyV2(rel: string, r: OciResources, setup: CgroupSetup): void {
  const dir = join(CGROOT, rel);
  const wanted: string[] = [];
  if (r.memory) wanted.push('memory');
  if (r.cpu?.shares !== undefined || r.cpu?.quota !== undefined) wanted.push('cpu');
  if (r.cpu?.cpus || r.cpu?.mems) wanted.push('cpuset');
  if (r.pids) wanted.push('pids');
  // Controllers must be enabled in every ancestor's subtree_control
  // (Documentation/admin-guide/cgroup-v2.rst, "Enabling and Disabling").
  const parts = rel.split('/').filter(Boolean);
  let cur = CGROOT;
  for (const p of parts) {
    for (const c of wanted) cgWrite(cur, 'cgroup.subtree_control', `+${c}`, `linux.resources (${c} controller)`);
    cur = join(cur, p);
    if (!existsSync(cur)) {
      mkdirSync(cur);
      setup.dirs.push(cur);
    }
  }
  const m = r.memory;
  if (m?.limit !== undefined) cgWrite(dir, 'memory.max', m.limit < 0 ? 'max' : String(m.limit), 'linux.resources.memory.limit');
  if (m?.reservation !== undefined) cgWrite(dir, 'memory.low', String(m.reservation), 'linux.resources.memory.reservation');
  if (m?.swap !== undefined && m.limit !== undefined) {
    // OCI swap is memory+swap (v1 memsw); v2 counts swap alone.
    cgWrite(dir, 'memory.swap.max', m.swap < 0 ? 'max' : String(Math.max(0, m.swap - m.limit)), 'linux.resources.memory.swap');
  }
  const cpu = r.cpu;
  if (cpu?.shares !== undefined) {
    // The conversion runc and crun use (cgroup v1 shares 2..262144 → weight 1..10000).
    cgWrite(dir, 'cpu.weight', String(1 + Math.floor(((cpu.shares - 2) * 9999) / 262142)), 'linux.resources.cpu.shares');
  }
  if (cpu?.quota !== undefined) cgWrite(dir, 'cpu.max', `${cpu.quota > 0 ? cpu.quota : 'max'} ${cpu.period ?? 100000}`, 'linux.resources.cpu.quota');
  if (cpu?.cpus) cgWrite(dir, 'cpuset.cpus', cpu.cpus, 'linux.resources.cpu.cpus');
  if (cpu?.mems) cgWrite(dir, 'cpuset.mems', cpu.mems, 'linux.resources.cpu.mems');
  if (r.pids?.limit !== undefined) cgWrite(dir, 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', 'linux.resources.pids.limit');
  setup.procs.push(join(dir, 'cgroup.procs'));
  if (existsSync(join(dir, 'cgroup.freeze'))) setup.freezer = join(dir, 'cgroup.freeze');
}

import { isFrozen } from '../container/state.js';

/**
 * Freeze or thaw the container's cgroup and wait until the kernel says it
 * is done (v1 passes through FREEZING; v2 reports `frozen` in cgroup.events).
 */
export function setFrozen(freezer: string, frozen: boolean, what: string): void {
  const v2 = freezer.endsWith('cgroup.freeze');
  try {
    writeFileSync(freezer, v2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
  } catch (err) {
    throw new ContainetError('CN_OCI_CGROUP', `cannot ${frozen ? 'freeze' : 'thaw'} ${what}: ${freezer}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const done = (): boolean => {
    if (!v2) return isFrozen(freezer) === frozen;
    try {
      return /^frozen (\d)$/m.exec(readFileSync(join(dirname(freezer), 'cgroup.events'), 'utf8'))?.[1] === (frozen ? '1' : '0');
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new ContainetError('CN_OCI_CGROUP', `${what} did not ${frozen ? 'freeze' : 'thaw'} within 5 s (${freezer})`);
    sleepSync(2);
  }
}

/** Remove cgroup directories (deepest first); the processes must be gone. */
export function removeCgroup(dirs: readonly string[]): void {
  for (const d of [...dirs].reverse()) {
    for (let i = 0; ; i++) {
      try {
        rmdirSync(d);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY until the kernel has finished tearing down the last task.
        if (code !== 'EBUSY' || i >= 100) break;
        sleepSync(10);
      }
    }
  }
}

/** Every pid listed in these cgroup.procs files (for kill --all). */
export function cgroupPids(procsFiles: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const f of procsFiles) {
    try {
      for (const l of readFileSync(f, 'utf8').split('\n')) if (l) pids.add(Number(l));
    } catch {}
  }
  return [...pids];
}
