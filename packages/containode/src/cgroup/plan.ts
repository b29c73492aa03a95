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
import { CONTROLLERS, describeLayout, hierarchyOf, type CgroupLayout, type Controller, type Hierarchy } from './layout.js';

/** containode's limit options. */
export interface CgroupLimits {
  /** Bytes of memory (and no swap on top). */
  memory?: number;
  /** CPUs, fractional (0.5 = half a core). */
  cpus?: number;
  /** Most tasks (processes and threads) at once. */
  pidsLimit?: number;
  /** The device allowlist (DEFAULT_DEVICE_RULES: Docker's default; absent: not restricted, as --privileged). */
  devices?: readonly DeviceRule[];
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
    /** v1 memory.swappiness (no v2 equivalent). */
    swappiness?: number;
    /** v1 memory.oom_control (no v2 equivalent). */
    disableOOMKiller?: boolean;
  };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  blockIO?: BlockIO;
  /** v1 net_cls.classid and net_prio.ifpriomap. */
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  /** Page size as the kernel names it (2MB, 1GB) and the limit in bytes. */
  hugepageLimits?: { pageSize: string; limit: number }[];
  /**
   * The device access list, in order (config-linux.md "Device allowlist"):
   * v1 devices.allow/devices.deny after a deny of everything; v2 has no
   * files for it (a BPF_PROG_TYPE_CGROUP_DEVICE program does the job).
   */
  devices?: DeviceRule[];
}

export interface DeviceRule {
  allow: boolean;
  /** a (all), c or b; default a. */
  type?: string;
  /** Absent: every number (*). */
  major?: number;
  minor?: number;
  /** Some of r, w, m; default rwm. */
  access?: string;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

/**
 * Docker's (and runc's) default device allowlist: mknod of any node, and
 * read/write/mknod of null, zero, full, random, urandom, tty, console, ptmx,
 * the pty slaves and tun, everything else denied.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

/** A rule as devices.allow/deny take it: `c 1:3 rwm` (cgroup-v1/devices.rst). */
export function deviceRuleText(r: DeviceRule): string {
  const type = r.type ?? 'a';
  if (type === 'a') return 'a';
  return `${type} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access ?? 'rwm'}`;
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
  swappiness: string;
  oomKiller: string;
  blockIO: string;
  network: string;
  hugepages: string;
  devices: string;
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
  swappiness: 'memory swappiness',
  oomKiller: 'the OOM killer setting',
  blockIO: 'block I/O limits',
  network: 'network class and priorities',
  hugepages: 'hugepage limits',
  devices: 'the device allowlist (--privileged lifts it)',
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
  swappiness: 'linux.resources.memory.swappiness',
  oomKiller: 'linux.resources.memory.disableOOMKiller',
  blockIO: 'linux.resources.blockIO',
  network: 'linux.resources.network',
  hugepages: 'linux.resources.hugepageLimits',
  devices: 'linux.resources.devices',
};

/** One value for one interface file of the container's cgroup. */
export interface CgroupWrite {
  file: string;
  value: string;
  /** Which option or field this implements, for error messages (`--memory`). */
  option: string;
  /** Skipped when the kernel does not offer the file (e.g. no swap accounting). */
  optional?: boolean;
  /** Read back after writing: the file's content (trimmed) must be this... */
  expect?: string;
  /** ...or hold this line (keyed files: blkio.throttle.*, memory.oom_control). */
  expectLine?: string;
  /** Written to the first of these that exists (blkio.bfq.weight before blkio.weight). */
  alternatives?: string[];
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
  /** After the writes: lines a file must (or must not) hold, e.g. devices.list. */
  checks?: Array<{ file: string; line: string; present: boolean; option: string }>;
  /** v2: the device rules for a BPF_PROG_TYPE_CGROUP_DEVICE program on this cgroup directory. */
  deviceProgram?: { dir: string; rules: DeviceRule[] };
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
  if (limits.devices?.length) r.devices = [...limits.devices];
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
  const unsupported = (option: string, ctrl: string, why?: string) =>
    new ContainetError('CN_CGROUP_UNSUPPORTED', `cannot apply ${option}: ${why ?? `no ${ctrl} cgroup controller on this machine`} (cgroups: ${describeLayout(layout)})`, {
      hint: `run without ${option}`,
    });
  const homeOf = (ctrl: string, option: string): Hierarchy => {
    const h = hierarchyOf(layout, ctrl);
    if (!h) throw unsupported(option, ctrl);
    return h;
  };
  const extra: Array<{ ctrl: string; v2name?: string }> = [];
  const wantBlkio = r.blockIO && Object.values(r.blockIO).some((v) => v !== undefined && (!Array.isArray(v) || v.length > 0));
  if (wantBlkio) {
    const h = hierarchyOf(layout, 'blkio') ?? hierarchyOf(layout, 'io');
    if (!h) throw unsupported(labels.blockIO, 'blkio (io)');
    extra.push({ ctrl: h.version === 1 ? 'blkio' : 'io' });
  }
  if (r.network?.classID !== undefined) {
    if (homeOf('net_cls', labels.network).version !== 1) throw unsupported(labels.network, 'net_cls', 'cgroup v2 has no net_cls');
  }
  if (r.network?.priorities?.length) {
    if (homeOf('net_prio', labels.network).version !== 1) throw unsupported(labels.network, 'net_prio', 'cgroup v2 has no net_prio');
  }
  if (r.hugepageLimits?.length) extra.push({ ctrl: 'hugetlb', v2name: homeOf('hugetlb', labels.hugepages).version === 2 ? 'hugetlb' : undefined });
  const mx = r.memory;
  if (mx && (mx.swappiness !== undefined || mx.disableOOMKiller === true)) {
    const option = mx.swappiness !== undefined ? labels.swappiness : labels.oomKiller;
    const h = homeOf('memory', option);
    if (h.version !== 1) throw unsupported(option, 'memory', 'cgroup v2 has neither memory.swappiness nor memory.oom_control');
  }
  const devicesHome = r.devices?.length ? hierarchyOf(layout, 'devices') : undefined;
  if (r.devices?.length && !devicesHome && !layout.unified) throw unsupported(labels.devices, 'devices');

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
    for (const e of extra) if (hierarchyOf(layout, e.ctrl)?.version === 2) v2ctrls.push(e.ctrl);
    const parts = name.split('/').filter(Boolean);
    let at = layout.unified;
    for (let i = 0; i < parts.length; i++) {
      for (const ctrl of v2ctrls) enable.push({ file: join(at, 'cgroup.subtree_control'), controller: ctrl, required: need.has(ctrl as Controller) || ctrl === 'cpuset' || extra.some((e) => e.ctrl === ctrl) });
      at = join(at, parts[i]!);
    }
  }

  const writes: CgroupWrite[] = [];
  const checks: NonNullable<CgroupPlan['checks']> = [];
  const file = (ctrl: string, f: string) => join(ctrl === 'memory' || ctrl === 'cpu' || ctrl === 'pids' || ctrl === 'cpuset' ? dirOf(ctrl) : join(hierarchyOf(layout, ctrl)!.path, name), f);
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

  if (mx?.swappiness !== undefined) writes.push({ file: file('memory', 'memory.swappiness'), value: String(mx.swappiness), option: labels.swappiness, expect: String(mx.swappiness) });
  if (mx?.disableOOMKiller === true) writes.push({ file: file('memory', 'memory.oom_control'), value: '1', option: labels.oomKiller, expectLine: 'oom_kill_disable 1' });
  if (wantBlkio) writes.push(...blockIOWrites(r.blockIO!, extra.some((e) => e.ctrl === 'io'), (f) => file(extra.some((e) => e.ctrl === 'io') ? 'io' : 'blkio', f), labels.blockIO));
  if (r.network?.classID !== undefined) {
    writes.push({ file: file('net_cls', 'net_cls.classid'), value: String(r.network.classID), option: labels.network, expect: String(r.network.classID) });
  }
  for (const p of r.network?.priorities ?? []) {
    writes.push({ file: file('net_prio', 'net_prio.ifpriomap'), value: `${p.name} ${p.priority}`, option: labels.network, expectLine: `${p.name} ${p.priority}` });
  }
  for (const h of r.hugepageLimits ?? []) {
    const v2h = hierarchyOf(layout, 'hugetlb')!.version === 2;
    const f = v2h ? `hugetlb.${h.pageSize}.max` : `hugetlb.${h.pageSize}.limit_in_bytes`;
    writes.push({ file: file('hugetlb', f), value: String(h.limit), option: labels.hugepages, expect: v2h && h.limit < 0 ? 'max' : String(h.limit) });
  }
  let deviceProgram: CgroupPlan['deviceProgram'];
  if (r.devices?.length) {
    if (devicesHome?.version === 1) {
      // Everything denied first, then the rules in order (cgroup-v1/devices.rst).
      const list = file('devices', 'devices.list');
      writes.push({ file: file('devices', 'devices.deny'), value: 'a', option: labels.devices });
      for (const d of r.devices) {
        writes.push({ file: file('devices', d.allow ? 'devices.allow' : 'devices.deny'), value: deviceRuleText(d), option: labels.devices });
      }
      // Read back: the whole-access entry is gone unless a rule allowed it,
      // and the last rule, when it allows a device, is listed.
      const allowAll = r.devices.some((d, i) => d.allow && (d.type ?? 'a') === 'a' && !r.devices!.slice(i + 1).some((x) => !x.allow));
      checks.push({ file: list, line: 'a *:* rwm', present: allowAll, option: labels.devices });
      const last = r.devices[r.devices.length - 1]!;
      if (last.allow && (last.type ?? 'a') !== 'a') checks.push({ file: list, line: deviceRuleText(last), present: true, option: labels.devices });
    } else if (layout.unified) {
      deviceProgram = { dir: join(layout.unified, name), rules: [...r.devices] };
    }
  }

  const freezerHome = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('freezer'));
  const freezer = freezerHome ? join(freezerHome.path, name, 'freezer.state') : layout.unified ? join(layout.unified, name, 'cgroup.freeze') : undefined;
  const cpuset = cpusetHome?.version === 1 ? join(cpusetHome.path) : undefined;
  return { dirs, enable, cpuset, writes, freezer, checks, deviceProgram };
}

/** blockIO as v1 blkio.* or v2 io.* writes (runc's conversions). */
function blockIOWrites(b: BlockIO, v2: boolean, file: (f: string) => string, option: string): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const dev = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;
  if (v2) {
    // io.weight is 1..10000, blkio.weight 10..1000 (runc's ConvertBlkIOToIOWeightValue).
    const conv = (w: number) => 1 + Math.floor(((w - 10) * 9999) / 990);
    if (b.weight !== undefined) out.push({ file: file('io.weight'), value: `default ${conv(b.weight)}`, option, expectLine: `default ${conv(b.weight)}`, alternatives: [file('io.bfq.weight')] });
    for (const d of b.weightDevice ?? []) {
      if (d.weight !== undefined) out.push({ file: file('io.weight'), value: `${dev(d)} ${conv(d.weight)}`, option, expectLine: `${dev(d)} ${conv(d.weight)}` });
    }
    const max = (list: ThrottleDevice[] | undefined, key: string) => {
      for (const d of list ?? []) out.push({ file: file('io.max'), value: `${dev(d)} ${key}=${d.rate === 0 ? 'max' : d.rate}`, option });
    };
    max(b.throttleReadBpsDevice, 'rbps');
    max(b.throttleWriteBpsDevice, 'wbps');
    max(b.throttleReadIOPSDevice, 'riops');
    max(b.throttleWriteIOPSDevice, 'wiops');
    return out;
  }
  // BFQ's files first when the scheduler offers them (runc does the same).
  if (b.weight !== undefined) out.push({ file: file('blkio.weight'), value: String(b.weight), option, alternatives: [file('blkio.bfq.weight')], expect: String(b.weight) });
  if (b.leafWeight !== undefined) out.push({ file: file('blkio.leaf_weight'), value: String(b.leafWeight), option, expect: String(b.leafWeight) });
  for (const d of b.weightDevice ?? []) {
    if (d.weight !== undefined) out.push({ file: file('blkio.weight_device'), value: `${dev(d)} ${d.weight}`, option, alternatives: [file('blkio.bfq.weight_device')], expectLine: `${dev(d)} ${d.weight}` });
    if (d.leafWeight !== undefined) out.push({ file: file('blkio.leaf_weight_device'), value: `${dev(d)} ${d.leafWeight}`, option, expectLine: `${dev(d)} ${d.leafWeight}` });
  }
  const throttle = (list: ThrottleDevice[] | undefined, f: string) => {
    // A rate of 0 removes the limit; it is then no longer listed.
    for (const d of list ?? []) out.push({ file: file(f), value: `${dev(d)} ${d.rate}`, option, ...(d.rate ? { expectLine: `${dev(d)} ${d.rate}` } : {}) });
  };
  throttle(b.throttleReadBpsDevice, 'blkio.throttle.read_bps_device');
  throttle(b.throttleWriteBpsDevice, 'blkio.throttle.write_bps_device');
  throttle(b.throttleReadIOPSDevice, 'blkio.throttle.read_iops_device');
  throttle(b.throttleWriteIOPSDevice, 'blkio.throttle.write_iops_device');
  return out;
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
