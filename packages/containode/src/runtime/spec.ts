/**
 * What a container is made of, as containode-spawn takes it. The wire
 * format and the meaning of every field are in native/SPAWN.md; this module
 * only types and serialises it, so importing it costs nothing.
 */

export type NamespaceType = 'user' | 'pid' | 'mount' | 'uts' | 'ipc' | 'net' | 'cgroup';

export const NAMESPACE_TYPES: readonly NamespaceType[] = ['user', 'pid', 'mount', 'uts', 'ipc', 'net', 'cgroup'];

/** One uid_map/gid_map line (OCI field names). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface MountSpec {
  source: string;
  destination: string;
  type: string;
  /** OCI mount options: ro, nosuid, bind, rbind, rprivate, ... and fs data. */
  options?: string[];
}

export interface DeviceSpec {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  /** Permission bits, default 0o666. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface Rlimit {
  /** RLIMIT_NOFILE, NOFILE or the number. */
  type: string;
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

/** Capability names (CAP_X) or numbers per set. */
export interface Capabilities {
  bounding?: (string | number)[];
  effective?: (string | number)[];
  permitted?: (string | number)[];
  inheritable?: (string | number)[];
  ambient?: (string | number)[];
}

export interface ProcessSpec {
  /** argv; args[0] is looked up in the env's PATH when it has no slash. */
  args: string[];
  /** KEY=VALUE, in order. An empty list is an empty environment. */
  env: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  umask?: number;
  terminal?: boolean;
  consoleSocket?: string;
  /** With terminal: the pty's window size before the program runs. */
  consoleSize?: { rows: number; cols: number };
  /** When given, every set is exactly as listed (missing = empty). */
  capabilities?: Capabilities;
  noNewPrivileges?: boolean;
  rlimits?: Rlimit[];
  oomScoreAdj?: number;
}

/** A tap with the vnet header, created inside the new network namespace. */
export interface TapSpec {
  ifname: string;
  mac?: string | undefined;
  mtu?: number | undefined;
  /** CIDRs (v4 or v6) on the tap. */
  addresses?: string[] | undefined;
}

export interface NetworkSpec {
  /** The container's interfaces, made in this order (at most 16). */
  taps: TapSpec[];
  /** Default routes (v4 and/or v6), each via one of the taps. */
  routes?: { ifname: string; gateway: string }[] | undefined;
}

/**
 * A system-call filter (seccomp(2)) as containode-spawn takes it: OCI's
 * SCMP_ACT_* and SCMP_CMP_* names lower-cased without their prefix, and
 * libseccomp's architecture names. src/security/ builds it from Docker
 * profiles and OCI linux.seccomp.
 */
export type SeccompAction = 'kill_thread' | 'kill_process' | 'trap' | 'errno' | 'trace' | 'allow' | 'log';

export interface SeccompCondition {
  /** The system call's argument, 0-5. */
  index: number;
  op: 'ne' | 'lt' | 'le' | 'eq' | 'ge' | 'gt' | 'masked_eq';
  /** The datum; for masked_eq the mask. Unsigned 64-bit. */
  value: number | bigint;
  /** masked_eq: what the masked argument must equal. */
  valueTwo?: number | bigint;
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  /** errno for `errno` (default EPERM), message for `trace`. */
  errno?: number;
  /** All must hold (tests of one argument twice are OR'ed, as runc does). */
  args?: SeccompCondition[];
}

export interface SeccompFilter {
  defaultAction: SeccompAction;
  defaultErrno?: number;
  /** libseccomp names (x86_64, x86, x32, aarch64, ...); the native one is always in. */
  architectures?: string[];
  flags?: ('tsync' | 'log' | 'spec_allow')[];
  rules: SeccompRule[];
  /**
   * System calls libseccomp does not know are skipped; the spawner reports
   * them in one `warning` unless this is set (the built-in default profile
   * names calls newer than the library on purpose).
   */
  quietUnknown?: boolean;
  /**
   * Where the spawner keeps compiled filters between starts (compiling
   * Docker's default takes libseccomp tens of milliseconds). spawnContainer
   * fills in the runtime's state directory; '' keeps nothing.
   */
  cacheDir?: string;
}

export interface ContainerSpec {
  /** Detached (OCI create): the spawner exits at `ready`, the init waits on execFifo. */
  detached?: boolean;
  /** true: create; a string: join the namespace at that path. */
  namespaces: Partial<Record<NamespaceType, true | string>>;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  setgroups?: 'allow' | 'deny';
  hostname?: string;
  domainname?: string;
  rootfs?: {
    path: string;
    readonly?: boolean;
    /** Mounted on `path` inside the container's mount namespace only. */
    overlay?: { lower: string[]; upper: string; work: string };
  };
  /** Recursive propagation of / in the new mount namespace: rprivate (default), rslave, ... */
  propagation?: string;
  noPivot?: boolean;
  /** Without a mount namespace of its own: chroot(2) into this directory, nothing mounted (an OCI config without a mount namespace). */
  chroot?: string;
  defaultMounts?: boolean;
  defaultDevices?: boolean;
  /**
   * The default /sys stays writable (`sysfs rw`): --privileged only. Without
   * it /sys is read-only, every mount under it too.
   */
  sysfsWritable?: boolean;
  mounts?: MountSpec[];
  devices?: DeviceSpec[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  /** cgroup.procs files the init joins before it is released. */
  cgroupProcs?: string[];
  /**
   * cgroup v2's device allowlist: a BPF_PROG_TYPE_CGROUP_DEVICE program
   * attached to `path` (the container's cgroup v2 directory) before the init
   * joins it; `rules` in devices.allow order (a later rule overrides).
   */
  deviceCgroup?: { path: string; rules: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[] };
  network?: NetworkSpec;
  /**
   * Supervised mode only (containode run -d): the supervisor attaches these
   * taps to their switches itself and holds the ports (SPAWN.md
   * `switch_attach`); `request` is the attach request's JSON without `pid`.
   */
  switchAttach?: { ifname: string; socket: string; request: string }[];
  process: ProcessSpec;
  /** Created by the spawner; the init waits until someone opens it for reading. */
  execFifo?: string;
  /**
   * Removed by the spawner after the init exited (attached), in order;
   * `orphanRmdir` only when the caller died first (its control socket hit
   * end of file), e.g. a cgroup whose counters a live caller reads itself;
   * `orphanRmtree` likewise, with everything under it (a `--rm` top dir).
   */
  cleanup?: { rmdir?: string[]; unlink?: string[]; orphanRmdir?: string[]; orphanRmtree?: string[] };
  /** The system-call filter installed just before execve; none: unfiltered. */
  seccomp?: SeccompFilter;
}

function field(value: string | number): string {
  return String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}

function line(...fields: (string | number)[]): string {
  return `${fields.map(field).join('\t')}\n`;
}

/**
 * The `seccomp_*` lines (SPAWN.md): one `seccomp_rule` per system call name.
 * Hundreds of lines for Docker's default, written in a process that has
 * just started: only fields that need escaping go through field().
 */
function seccompLines(f: SeccompFilter): string[] {
  const esc = (s: string | number) => (typeof s === 'string' && /[\\\t\n]/.test(s) ? field(s) : String(s));
  const out = [f.defaultErrno === undefined ? line('seccomp_default', f.defaultAction) : line('seccomp_default', f.defaultAction, f.defaultErrno)];
  for (const a of f.architectures ?? []) out.push(line('seccomp_arch', a));
  for (const flag of f.flags ?? []) out.push(line('seccomp_flag', flag));
  if (f.quietUnknown) out.push(line('seccomp_unknown', 'quiet'));
  if (f.cacheDir) out.push(line('seccomp_cache', f.cacheDir));
  for (const r of f.rules) {
    const conds = (r.args ?? []).map((c) => {
      const two = c.valueTwo !== undefined || c.op === 'masked_eq' ? `:${BigInt(c.valueTwo ?? 0)}` : '';
      return `${c.index}:${c.op}:${BigInt(c.value)}${two}`;
    });
    const tail = conds.length ? `\t${conds.join('\t')}\n` : '\n';
    const head = `seccomp_rule\t${esc(r.action)}\t${r.errno ?? '-'}\t`;
    for (const name of r.names) out.push(`${head}${esc(name)}${tail}`);
  }
  return out;
}

/** The spec in the line format of native/SPAWN.md, ending with `end`. */
export function serializeSpec(spec: ContainerSpec): string {
  const out: string[] = [line('version', 1)];
  if (spec.detached) out.push(line('mode', 'detached'));
  for (const type of NAMESPACE_TYPES) {
    const ns = spec.namespaces[type];
    if (ns === true) out.push(line('ns', type, 'new'));
    else if (typeof ns === 'string') out.push(line('ns', type, 'path', ns));
  }
  for (const m of spec.uidMappings ?? []) out.push(line('uidmap', m.containerID, m.hostID, m.size));
  if (spec.setgroups) out.push(line('setgroups', spec.setgroups));
  for (const m of spec.gidMappings ?? []) out.push(line('gidmap', m.containerID, m.hostID, m.size));
  if (spec.hostname !== undefined) out.push(line('hostname', spec.hostname));
  if (spec.domainname !== undefined) out.push(line('domainname', spec.domainname));
  if (spec.rootfs) {
    out.push(line('rootfs', spec.rootfs.path));
    const ov = spec.rootfs.overlay;
    if (ov) out.push(line('overlay', ov.lower.join(':'), ov.upper, ov.work));
    if (spec.rootfs.readonly) out.push(line('rootfs_readonly'));
  }
  if (spec.propagation) out.push(line('propagation', spec.propagation));
  if (spec.noPivot) out.push(line('no_pivot'));
  if (spec.chroot) out.push(line('chroot', spec.chroot));
  if (spec.defaultMounts) out.push(line('default_mounts'));
  if (spec.defaultDevices) out.push(line('default_devices'));
  if (spec.sysfsWritable) out.push(line('sysfs', 'rw'));
  for (const m of spec.mounts ?? []) {
    const opts = (m.options ?? []).join(',');
    out.push(line('mount', m.source || '-', m.destination, m.type || '-', opts || '-'));
  }
  for (const d of spec.devices ?? []) {
    out.push(line('device', d.path, d.type, d.major, d.minor, (d.fileMode ?? 0o666).toString(8), d.uid ?? 0, d.gid ?? 0));
  }
  for (const p of spec.maskedPaths ?? []) out.push(line('masked', p));
  for (const p of spec.readonlyPaths ?? []) out.push(line('readonly', p));
  for (const [k, v] of Object.entries(spec.sysctl ?? {})) out.push(line('sysctl', k, v));
  for (const p of spec.cgroupProcs ?? []) out.push(line('cgroup_procs', p));
  if (spec.deviceCgroup) {
    out.push(line('devices_cgroup2', spec.deviceCgroup.path));
    for (const r of spec.deviceCgroup.rules) {
      out.push(line('device_rule', r.allow ? 'allow' : 'deny', r.type ?? 'a', r.major ?? '*', r.minor ?? '*', r.access || 'rwm'));
    }
  }
  const net = spec.network;
  for (const t of net?.taps ?? []) out.push(line('tap', t.ifname, t.mac ?? '-', t.mtu ?? 0));
  for (const t of net?.taps ?? []) for (const a of t.addresses ?? []) out.push(line('addr', t.ifname, a));
  for (const r of net?.routes ?? []) out.push(line('route', r.ifname, r.gateway));
  for (const s of spec.switchAttach ?? []) out.push(line('switch_attach', s.ifname, s.socket, s.request));
  const proc = spec.process;
  if (proc.terminal) out.push(line('terminal'));
  if (proc.consoleSocket) out.push(line('console_socket', proc.consoleSocket));
  if (proc.terminal && proc.consoleSize) out.push(line('console_size', proc.consoleSize.rows, proc.consoleSize.cols));
  if (proc.oomScoreAdj !== undefined) out.push(line('oom_score_adj', proc.oomScoreAdj));
  for (const r of proc.rlimits ?? []) out.push(line('rlimit', r.type, r.soft, r.hard));
  if (proc.capabilities) {
    const caps = proc.capabilities;
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
      out.push(line('cap', set, (caps[set] ?? []).join(',')));
    }
  }
  if (proc.noNewPrivileges) out.push(line('no_new_privs'));
  if (proc.user) out.push(line('user', proc.user.uid, proc.user.gid, (proc.user.additionalGids ?? []).join(',')));
  if (proc.umask !== undefined) out.push(line('umask', proc.umask.toString(8)));
  if (proc.cwd) out.push(line('cwd', proc.cwd));
  for (const e of proc.env) out.push(line('env', e));
  for (const a of proc.args) out.push(line('arg', a));
  if (spec.execFifo) out.push(line('exec_fifo', spec.execFifo));
  for (const p of spec.cleanup?.unlink ?? []) out.push(line('cleanup_unlink', p));
  for (const p of spec.cleanup?.rmdir ?? []) out.push(line('cleanup_rmdir', p));
  for (const p of spec.cleanup?.orphanRmdir ?? []) out.push(line('orphan_rmdir', p));
  for (const p of spec.cleanup?.orphanRmtree ?? []) out.push(line('orphan_rmtree', p));
  if (spec.seccomp) out.push(...seccompLines(spec.seccomp));
  out.push('end\n');
  return out.join('');
}
