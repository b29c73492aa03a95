/**
 * What a container's cgroup is on a given layout: the directories to make,
 * the controllers to enable on the way (v2), and the interface files to
 * write for each limit. Pure (no file is touched), so it is tested against
 * fake layouts; cgroup.ts carries it out.
 */
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { CONTROLLERS, describeLayout, type CgroupLayout, type Controller } from './layout.js';

export interface CgroupLimits {
  /** Bytes of memory (and no swap on top). */
  memory?: number;
  /** CPUs, fractional (0.5 = half a core). */
  cpus?: number;
  /** Most tasks (processes and threads) at once. */
  pidsLimit?: number;
}

/** One value for one interface file of the container's cgroup. */
export interface CgroupWrite {
  file: string;
  value: string;
  /** Which option this implements, for error messages (`--memory`). */
  option: string;
  /** Skipped when the kernel does not offer the file (e.g. no swap accounting). */
  optional?: boolean;
}

export interface CgroupPlan {
  /** The container's cgroup directories, one per hierarchy (created in order). */
  dirs: string[];
  /** v2: `+ctrl` to write into each ancestor's cgroup.subtree_control, top first. */
  enable: Array<{ file: string; controller: Controller; required: boolean }>;
  writes: CgroupWrite[];
}

/** The CFS period used for --cpus (the kernel's default, 100 ms). */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms (kernel/sched/core.c, min_cfs_quota_period). */
export const CPU_MIN_QUOTA_US = 1_000;

/** The option a controller serves, for messages. */
const OPTION: Record<Controller, string> = { memory: '--memory', cpu: '--cpus', pids: '--pids-limit' };

function wanted(limits: CgroupLimits): Set<Controller> {
  const out = new Set<Controller>();
  if (limits.memory !== undefined) out.add('memory');
  if (limits.cpus !== undefined) out.add('cpu');
  if (limits.pidsLimit !== undefined) out.add('pids');
  return out;
}

export function cpuQuotaUs(cpus: number): number {
  return Math.max(CPU_MIN_QUOTA_US, Math.round(cpus * CPU_PERIOD_US));
}

/**
 * Plan cgroup `name` (a relative path such as `containet/ID`) on `layout`.
 * Throws CN_CGROUP_UNSUPPORTED when a requested limit has no controller:
 * running without the limit the user asked for is never an option.
 */
export function planCgroup(layout: CgroupLayout, name: string, limits: CgroupLimits): CgroupPlan {
  const need = wanted(limits);
  for (const ctrl of need) {
    if (!layout.controllers[ctrl]) {
      throw new ContainetError('CN_CGROUP_UNSUPPORTED', `cannot apply ${OPTION[ctrl]}: no ${ctrl} cgroup controller on this machine (cgroups: ${describeLayout(layout)})`, {
        hint: layout.kind === 'v2'
          ? `enable it in ${layout.root}/cgroup.subtree_control, or run without ${OPTION[ctrl]}`
          : `mount the ${ctrl} controller (v1 under ${layout.root}/${ctrl}, or v2), or run without ${OPTION[ctrl]}`,
      });
    }
  }

  const dirs: string[] = [];
  const dirOf = new Map<Controller, string>();
  const add = (dir: string) => {
    if (!dirs.includes(dir)) dirs.push(dir);
    return dir;
  };
  // v1 hierarchies first, then the v2 one: in hybrid mode the v2 cgroup is
  // only for tracking (and cgroup.kill), all three controllers being in v1.
  for (const ctrl of CONTROLLERS) {
    const home = layout.controllers[ctrl];
    if (home?.version === 1) dirOf.set(ctrl, add(join(home.path, name)));
  }
  const enable: CgroupPlan['enable'] = [];
  if (layout.unified) {
    const v2dir = add(join(layout.unified, name));
    const v2ctrls = CONTROLLERS.filter((c) => layout.controllers[c]?.version === 2);
    for (const ctrl of v2ctrls) dirOf.set(ctrl, v2dir);
    // "no internal processes": controllers are enabled in every ancestor's
    // subtree_control, from the root down to the container's parent.
    const parts = name.split('/').filter(Boolean);
    let at = layout.unified;
    for (let i = 0; i < parts.length; i++) {
      for (const ctrl of v2ctrls) enable.push({ file: join(at, 'cgroup.subtree_control'), controller: ctrl, required: need.has(ctrl) });
      at = join(at, parts[i]!);
    }
  }

  const writes: CgroupWrite[] = [];
  const file = (ctrl: Controller, f: string) => join(dirOf.get(ctrl)!, f);
  if (limits.memory !== undefined) {
    const bytes = String(limits.memory);
    if (layout.controllers.memory!.version === 2) {
      writes.push({ file: file('memory', 'memory.max'), value: bytes, option: '--memory' });
      // No swap on top of the limit, as docker --memory without --memory-swap
      // would give twice the memory; the file exists only with swap accounting.
      writes.push({ file: file('memory', 'memory.swap.max'), value: '0', option: '--memory', optional: true });
    } else {
      writes.push({ file: file('memory', 'memory.limit_in_bytes'), value: bytes, option: '--memory' });
      // memsw (memory+swap) must be >= limit_in_bytes, so it comes second.
      writes.push({ file: file('memory', 'memory.memsw.limit_in_bytes'), value: bytes, option: '--memory', optional: true });
    }
  }
  if (limits.cpus !== undefined) {
    const quota = cpuQuotaUs(limits.cpus);
    if (layout.controllers.cpu!.version === 2) {
      writes.push({ file: file('cpu', 'cpu.max'), value: `${quota} ${CPU_PERIOD_US}`, option: '--cpus' });
    } else {
      writes.push({ file: file('cpu', 'cpu.cfs_period_us'), value: String(CPU_PERIOD_US), option: '--cpus' });
      writes.push({ file: file('cpu', 'cpu.cfs_quota_us'), value: String(quota), option: '--cpus' });
    }
  }
  if (limits.pidsLimit !== undefined) {
    writes.push({ file: file('pids', 'pids.max'), value: String(limits.pidsLimit), option: '--pids-limit' });
  }
  return { dirs, enable, writes };
}

/** Where the memory controller's OOM counters are for `plan` (for reporting). */
export function memoryEventsFile(layout: CgroupLayout, name: string): { file: string; version: 1 | 2 } | undefined {
  const home = layout.controllers.memory;
  if (!home) return undefined;
  return home.version === 2
    ? { file: join(home.path, name, 'memory.events'), version: 2 }
    : { file: join(home.path, name, 'memory.oom_control'), version: 1 };
}
