/**
 * What a container's cgroup is on a given layout: a directory in every
 * hierarchy the host has (v1 ones and the unified one, as runc joins them
 * all), the controllers to enable on the way (v2), the interface files to
 * write for each resource, and its freezer. Pure (no file is touched), so
 * it is tested against fake layouts; cgroup.ts carries it out.
 *
 * Resources are OCI's linux.resources (config-linux.md "Control groups"),
 * the superset of both commands: containode's --memory/--cpus/--pids-limit
 * map onto them (limitsToResources), each write naming the option or the
 * config field it implements.
 */
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { CONTROLLERS, describeLayout, hierarchyOf, type CgroupLayout, type Controller } from './layout.js';

/** containode's limit options. */
export interface CgroupLimits {
  /** Bytes of memory (and no swap on top). */
  memory?: number;
  /** CPUs, fractional (0.5 = half a core). */
  cpus?: number;
  /** Most tasks (processes and threads) at once. */
  pidsLimit?: number;
}

/** linux.resources as both commands give them (on v2 a negative memory limit or quota is `max`; v1 takes -1 as no limit). */
export interface CgroupResources {
  memory?: {
    limit?: number;
    reservation?: number;
    /** OCI: memory plus swap (v1 memsw); absent: left as the kernel has it. */
    swap?: number;
    /** containode --memory: no swap on top of the limit where swap is accounted. */
    noSwap?: boolean;
  };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
}

/** The option or config field each resource comes from, for messages. */
export interface ResourceLabels {
  memory: string;
  memoryReservation: string;
  memorySwap: string;
  cpuShares: string;
  cpuQuota: string;
  cpus: string;
  mems: string;
  pids: string;
}

export const CONTAINODE_LABELS: ResourceLabels = {
  memory: '--memory',
  memoryReservation: '--memory',
  memorySwap: '--memory',
  cpuShares: '--cpus',
  cpuQuota: '--cpus',
  cpus: '--cpus',
  mems: '--cpus',
  pids: '--pids-limit',
};

export const OCI_LABELS: ResourceLabels = {
  memory: 'linux.resources.memory.limit',
  memoryReservation: 'linux.resources.memory.reservation',
  memorySwap: 'linux.resources.memory.swap',
  cpuShares: 'linux.resources.cpu.shares',
  cpuQuota: 'linux.resources.cpu.quota',
  cpus: 'linux.resources.cpu.cpus',
  mems: 'linux.resources.cpu.mems',
  pids: 'linux.resources.pids.limit',
};

/** One value for one interface file of the container's cgroup. */
export interface CgroupWrite {
  file: string;
  value: string;
  /** Which option or field this implements, for error messages (`--memory`). */
  option: string;
  /** Skipped when the kernel does not offer the file (e.g. no swap accounting). */
  optional?: boolean;
}

export interface CgroupPlan {
  /** The container's cgroup directories, one per hierarchy (created in order). */
  dirs: string[];
  /** v2: `+ctrl` to write into each ancestor's cgroup.subtree_control, top first. */
  enable: Array<{ file: string; controller: string; required: boolean }>;
  /** v1 cpuset: the directory whose every new level needs cpus and mems before it takes a task (cpusets(7)). */
  cpuset: string | undefined;
  writes: CgroupWrite[];
  /** v1 freezer.state, or v2 cgroup.freeze (which exists from Linux 5.2 on: checked when made). */
  freezer: string | undefined;
}

/** The CFS period used for --cpus (the kernel's default, 100 ms). */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms (kernel/sched/core.c, min_cfs_quota_period). */
export const CPU_MIN_QUOTA_US = 1_000;

export function cpuQuotaUs(cpus: number): number {
  return Math.max(CPU_MIN_QUOTA_US, Math.round(cpus * CPU_PERIOD_US));
}

/** containode's options as resources. */
export function limitsToResources(limits: CgroupLimits): CgroupResources {
  const r: CgroupResources = {};
  if (limits.memory !== undefined) r.memory = { limit: limits.memory, noSwap: true };
  if (limits.cpus !== undefined) r.cpu = { quota: cpuQuotaUs(limits.cpus), period: CPU_PERIOD_US };
  if (limits.pidsLimit !== undefined) r.pids = { limit: limits.pidsLimit };
  return r;
}

function wanted(r: CgroupResources): Map<Controller, keyof ResourceLabels> {
  const out = new Map<Controller, keyof ResourceLabels>();
  if (r.memory && (r.memory.limit !== undefined || r.memory.reservation !== undefined || r.memory.swap !== undefined)) out.set('memory', 'memory');
  if (r.cpu && (r.cpu.shares !== undefined || r.cpu.quota !== undefined)) out.set('cpu', r.cpu.quota !== undefined ? 'cpuQuota' : 'cpuShares');
  if (r.pids?.limit !== undefined) out.set('pids', 'pids');
  return out;
}

/**
 * Plan cgroup `name` (a relative path such as `containet/ID`) on `layout`.
 * Throws CN_CGROUP_UNSUPPORTED when a requested resource has no
 * controller: running without the limit the user asked for is never an option.
 */
export function planResources(layout: CgroupLayout, name: string, r: CgroupResources, labels: ResourceLabels): CgroupPlan {
  const need = wanted(r);
  for (const [ctrl, label] of need) {
    if (!layout.controllers[ctrl]) {
      const option = labels[label];
      throw new ContainetError('CN_CGROUP_UNSUPPORTED', `cannot apply ${option}: no ${ctrl} cgroup controller on this machine (cgroups: ${describeLayout(layout)})`, {
        hint: layout.kind === 'v2'
          ? `enable it in ${layout.root}/cgroup.subtree_control, or run without ${option}`
          : `mount the ${ctrl} controller (v1 under ${layout.root}/${ctrl}, or v2), or run without ${option}`,
      });
    }
  }
  const wantsCpuset = Boolean(r.cpu?.cpus || r.cpu?.mems);
  const cpusetHome = hierarchyOf(layout, 'cpuset');
  if (wantsCpuset && !cpusetHome) {
    throw new ContainetError('CN_CGROUP_UNSUPPORTED', `cannot apply ${labels.cpus}: no cpuset cgroup controller on this machine (cgroups: ${describeLayout(layout)})`);
  }

  // Every v1 hierarchy, then the unified one.
  const dirs = layout.hierarchies.map((h) => join(h.path, name));
  const dirOf = (ctrl: string): string => {
    const home = ctrl === 'cpuset' ? cpusetHome : layout.controllers[ctrl as Controller];
    return join(home!.path, name);
  };

  const enable: CgroupPlan['enable'] = [];
  if (layout.unified) {
    // "no internal processes": controllers are enabled in every ancestor's
    // subtree_control, from the root down to the container's parent. The
    // ones not asked for are accounting only (enabled where they can be).
    const v2ctrls: string[] = CONTROLLERS.filter((c) => layout.controllers[c]?.version === 2);
    if (wantsCpuset && cpusetHome?.version === 2) v2ctrls.push('cpuset');
    const parts = name.split('/').filter(Boolean);
    let at = layout.unified;
    for (let i = 0; i < parts.length; i++) {
      for (const ctrl of v2ctrls) enable.push({ file: join(at, 'cgroup.subtree_control'), controller: ctrl, required: need.has(ctrl as Controller) || ctrl === 'cpuset' });
      at = join(at, parts[i]!);
    }
  }

  const writes: CgroupWrite[] = [];
  const file = (ctrl: string, f: string) => join(dirOf(ctrl), f);
  const v2 = (ctrl: Controller) => layout.controllers[ctrl]?.version === 2;
  const m = r.memory;
  if (m && need.has('memory')) {
    if (v2('memory')) {
      if (m.limit !== undefined) writes.push({ file: file('memory', 'memory.max'), value: m.limit < 0 ? 'max' : String(m.limit), option: labels.memory });
      if (m.reservation !== undefined) writes.push({ file: file('memory', 'memory.low'), value: String(m.reservation), option: labels.memoryReservation });
      // OCI swap is memory+swap (v1 memsw); v2 counts swap alone.
      if (m.swap !== undefined && m.limit !== undefined) {
        writes.push({ file: file('memory', 'memory.swap.max'), value: m.swap < 0 ? 'max' : String(Math.max(0, m.swap - m.limit)), option: labels.memorySwap });
      }
      // No swap on top of the limit, as docker --memory without --memory-swap
      // would give twice the memory; the file exists only with swap accounting.
      if (m.noSwap) writes.push({ file: file('memory', 'memory.swap.max'), value: '0', option: labels.memorySwap, optional: true });
    } else {
      if (m.limit !== undefined) writes.push({ file: file('memory', 'memory.limit_in_bytes'), value: String(m.limit), option: labels.memory });
      if (m.reservation !== undefined) writes.push({ file: file('memory', 'memory.soft_limit_in_bytes'), value: String(m.reservation), option: labels.memoryReservation });
      // memsw (memory+swap) must be >= limit_in_bytes, so it comes second.
      if (m.swap !== undefined) writes.push({ file: file('memory', 'memory.memsw.limit_in_bytes'), value: String(m.swap), option: labels.memorySwap });
      if (m.noSwap && m.limit !== undefined) writes.push({ file: file('memory', 'memory.memsw.limit_in_bytes'), value: String(m.limit), option: labels.memorySwap, optional: true });
    }
  }
  const cpu = r.cpu;
  if (cpu && need.has('cpu')) {
    if (v2('cpu')) {
      if (cpu.shares !== undefined) {
        // The conversion runc and crun use (cgroup v1 shares 2..262144 -> weight 1..10000).
        writes.push({ file: file('cpu', 'cpu.weight'), value: String(1 + Math.floor(((cpu.shares - 2) * 9999) / 262142)), option: labels.cpuShares });
      }
      if (cpu.quota !== undefined) writes.push({ file: file('cpu', 'cpu.max'), value: `${cpu.quota > 0 ? cpu.quota : 'max'} ${cpu.period ?? CPU_PERIOD_US}`, option: labels.cpuQuota });
    } else {
      if (cpu.shares !== undefined) writes.push({ file: file('cpu', 'cpu.shares'), value: String(cpu.shares), option: labels.cpuShares });
      if (cpu.period !== undefined) writes.push({ file: file('cpu', 'cpu.cfs_period_us'), value: String(cpu.period), option: labels.cpuQuota });
      if (cpu.quota !== undefined) writes.push({ file: file('cpu', 'cpu.cfs_quota_us'), value: String(cpu.quota), option: labels.cpuQuota });
    }
  }
  if (cpu?.cpus) writes.push({ file: file('cpuset', 'cpuset.cpus'), value: cpu.cpus, option: labels.cpus });
  if (cpu?.mems) writes.push({ file: file('cpuset', 'cpuset.mems'), value: cpu.mems, option: labels.mems });
  if (need.has('pids')) writes.push({ file: file('pids', 'pids.max'), value: r.pids!.limit! > 0 ? String(r.pids!.limit) : 'max', option: labels.pids });

  const freezerHome = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('freezer'));
  const freezer = freezerHome ? join(freezerHome.path, name, 'freezer.state') : layout.unified ? join(layout.unified, name, 'cgroup.freeze') : undefined;
  const cpuset = cpusetHome?.version === 1 ? join(cpusetHome.path) : undefined;
  return { dirs, enable, cpuset, writes, freezer };
}

/** containode's plan: `--memory`, `--cpus`, `--pids-limit` in messages. */
export function planCgroup(layout: CgroupLayout, name: string, limits: CgroupLimits): CgroupPlan {
  return planResources(layout, name, limitsToResources(limits), CONTAINODE_LABELS);
}

/** Where the memory controller's OOM counters are for `name` (for reporting). */
export function memoryEventsFile(layout: CgroupLayout, name: string): { file: string; version: 1 | 2 } | undefined {
  const home = layout.controllers.memory;
  if (!home) return undefined;
  return home.version === 2
    ? { file: join(home.path, name, 'memory.events'), version: 2 }
    : { file: join(home.path, name, 'memory.oom_control'), version: 1 };
}
