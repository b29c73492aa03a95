/**
 * config.json (OCI runtime-spec config.md, config-linux.md) read, checked
 * and turned into the spawner's ContainerSpec. Every field the runtime
 * does not honour is reported by name (a warning, or an error when
 * running without it would change what the container may do); none is
 * dropped silently.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ContainetError } from '@containet/common';
import type { Capabilities, ContainerSpec, DeviceSpec, IdMapping, MountSpec, NamespaceType, Rlimit, SeccompFilter } from '../runtime/spec.js';
import { seccompFromOci, type OciSeccomp } from '../security/seccomp-oci.js';
import type { BlockIO, DeviceRule } from '../cgroup/plan.js';

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  cwd: string;
  env?: string[];
  args?: string[];
  rlimits?: { type: string; soft: number; hard: number }[];
  capabilities?: Capabilities;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  user: OciUser;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciResources {
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  devices?: DeviceRule[];
  blockIO?: BlockIO;
  network?: { classID?: number; priorities?: { name: string; priority: number }[] };
  hugepageLimits?: { pageSize: string; limit: number }[];
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: { path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }[];
  cgroupsPath?: string;
  resources?: OciResources;
  sysctl?: Record<string, string>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: OciSeccomp;
}

export interface OciConfig {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  mounts?: OciMount[];
  process?: OciProcess;
  hostname?: string;
  domainname?: string;
  hooks?: OciHooks;
  annotations?: Record<string, string>;
  linux?: OciLinux;
}

/** A checked bundle: its config, absolute paths, and what was not honoured. */
export interface Bundle {
  dir: string;
  rootfs: string;
  config: OciConfig;
  warnings: string[];
  /**
   * Fields ignored because the spec says to (unknown properties, config.md
   * "Extensibility"; Windows-only ones): for --debug, not warnings, since a
   * warning is for a choice this runtime made.
   */
  ignored: string[];
  /** linux.seccomp as the spawner's filter; none: the program runs unfiltered (as runc). */
  seccomp?: SeccompFilter | undefined;
}

function bad(field: string, what: string, hint?: string): ContainetError {
  return new ContainetError('CN_OCI_CONFIG', `config.json: ${field}: ${what}`, { hint: hint ?? 'see the OCI runtime spec, config.md' });
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Fields the runtime knows. `true`: honoured (objects below are walked with
 * their own table); a string: known, not honoured, the string says what
 * happens instead (a warning). Anything absent is unknown (a warning too:
 * the spec lets configs carry extensions, runc ignores them).
 */
interface Known {
  [field: string]: true | string | Known | null;
}

const HOOK_KNOWN: Known = { path: true, args: true, env: true, timeout: true };

const KNOWN: Known = {
  ociVersion: true,
  root: { path: true, readonly: true },
  mounts: { destination: true, type: true, source: true, options: true, uidMappings: 'idmapped mounts are not supported', gidMappings: 'idmapped mounts are not supported' },
  process: {
    terminal: true,
    consoleSize: { height: true, width: true },
    cwd: true,
    env: true,
    args: true,
    commandLine: null,
    rlimits: { type: true, soft: true, hard: true },
    apparmorProfile: 'AppArmor is not supported: no profile is applied',
    capabilities: { bounding: true, effective: true, permitted: true, inheritable: true, ambient: true },
    noNewPrivileges: true,
    oomScoreAdj: true,
    scheduler: 'the scheduling policy is not changed',
    selinuxLabel: 'SELinux is not supported: no label is applied',
    ioPriority: 'the I/O priority is not changed',
    execCPUAffinity: 'the CPU affinity is not changed',
    user: { uid: true, gid: true, umask: true, additionalGids: true, username: null },
  },
  hostname: true,
  domainname: true,
  hooks: { prestart: HOOK_KNOWN, createRuntime: HOOK_KNOWN, createContainer: HOOK_KNOWN, startContainer: HOOK_KNOWN, poststart: HOOK_KNOWN, poststop: HOOK_KNOWN },
  annotations: true,
  linux: {
    namespaces: { type: true, path: true },
    uidMappings: { containerID: true, hostID: true, size: true },
    gidMappings: { containerID: true, hostID: true, size: true },
    timeOffsets: 'time namespaces are not supported',
    devices: { path: true, type: true, major: true, minor: true, fileMode: true, uid: true, gid: true },
    cgroupsPath: true,
    resources: {
      devices: { allow: true, type: true, major: true, minor: true, access: true },
      memory: {
        limit: true,
        reservation: true,
        swap: true,
        kernel: 'kernel memory limits are not applied',
        kernelTCP: 'kernel TCP memory limits are not applied',
        swappiness: true,
        disableOOMKiller: true,
        useHierarchy: 'use_hierarchy is not changed',
        checkBeforeUpdate: true,
      },
      cpu: { shares: true, quota: true, period: true, cpus: true, mems: true, realtimeRuntime: 'realtime limits are not applied', realtimePeriod: 'realtime limits are not applied', idle: 'cpu.idle is not set', burst: 'cpu burst is not set' },
      pids: { limit: true },
      blockIO: {
        weight: true,
        leafWeight: true,
        weightDevice: { major: true, minor: true, weight: true, leafWeight: true },
        throttleReadBpsDevice: { major: true, minor: true, rate: true },
        throttleWriteBpsDevice: { major: true, minor: true, rate: true },
        throttleReadIOPSDevice: { major: true, minor: true, rate: true },
        throttleWriteIOPSDevice: { major: true, minor: true, rate: true },
      },
      hugepageLimits: { pageSize: true, limit: true },
      network: { classID: true, priorities: { name: true, priority: true } },
      rdma: 'RDMA limits are not applied',
      unified: 'cgroup v2 unified keys are not applied',
    },
    intelRdt: 'Intel RDT is not supported',
    sysctl: true,
    // Every field is checked by seccompFromOci (security/seccomp-oci.ts).
    seccomp: true,
    rootfsPropagation: true,
    maskedPaths: true,
    readonlyPaths: true,
    mountLabel: 'SELinux is not supported: no mount label is applied',
    personality: 'the execution domain (personality) is not changed',
  },
};

/**
 * `null` in the table: a field the spec itself says to ignore here
 * (Windows-only); absent: unknown, which config.md requires runtimes to
 * ignore. Both go to `ignored`; a string (a choice of this runtime) warns.
 */
function walkKnown(value: unknown, known: Known, path: string, warnings: string[], ignored: string[]): void {
  const visit = (v: unknown, p: string) => {
    if (!isObj(v)) return;
    for (const [key, sub] of Object.entries(v)) {
      const k = known[key];
      const fp = p ? `${p}.${key}` : key;
      if (k === undefined) ignored.push(`${fp}: unknown field, ignored`);
      else if (k === null) ignored.push(`${fp}: not for Linux, ignored`);
      else if (typeof k === 'string') warnings.push(`${fp}: not supported, ${k}`);
      else if (k !== true) {
        if (Array.isArray(sub)) sub.forEach((item, i) => walkKnown(item, k, `${fp}[${i}]`, warnings, ignored));
        else walkKnown(sub, k, fp, warnings, ignored);
      }
    }
  };
  visit(value, path);
}

function checkString(v: unknown, field: string): string {
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  return v;
}

function checkStrings(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad(field, 'must be an array of strings');
  return v as string[];
}

function checkUint(v: unknown, field: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(field, `must be an integer from 0 to ${max}`);
  return v;
}

function checkHooks(hooks: unknown): void {
  if (hooks === undefined) return;
  if (!isObj(hooks)) throw bad('hooks', 'must be an object');
  for (const [stage, list] of Object.entries(hooks)) {
    if (!Array.isArray(list)) throw bad(`hooks.${stage}`, 'must be an array');
    list.forEach((h, i) => {
      const f = `hooks.${stage}[${i}]`;
      if (!isObj(h)) throw bad(f, 'must be an object');
      const path = checkString(h['path'], `${f}.path`);
      if (!isAbsolute(path)) throw bad(`${f}.path`, `${path} is not an absolute path`);
      checkStrings(h['args'], `${f}.args`);
      checkStrings(h['env'], `${f}.env`);
      if (h['timeout'] !== undefined && (typeof h['timeout'] !== 'number' || !Number.isInteger(h['timeout']) || h['timeout'] <= 0)) {
        throw bad(`${f}.timeout`, 'must be a positive integer (seconds)');
      }
    });
  }
}

const NS_TYPES: Record<string, NamespaceType> = {
  pid: 'pid',
  network: 'net',
  mount: 'mount',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
};

/** Read and check `DIR/config.json`. */
export function loadBundle(bundleDir: string): Bundle {
  const dir = resolve(bundleDir);
  let text: string;
  try {
    text = readFileSync(resolve(dir, 'config.json'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ContainetError('CN_OCI_BUNDLE', `cannot read ${resolve(dir, 'config.json')}: ${code ?? (err as Error).message}`, {
      hint: 'give the bundle directory with --bundle (it holds config.json; `containode-oci spec` writes one)',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ContainetError('CN_OCI_CONFIG', `config.json: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObj(raw)) throw bad('(top level)', 'must be an object');
  const warnings: string[] = [];
  const ignored: string[] = [];
  walkKnown(raw, KNOWN, '', warnings, ignored);

  checkString(raw['ociVersion'], 'ociVersion');
  if (!String(raw['ociVersion']).startsWith('1.')) throw bad('ociVersion', `${String(raw['ociVersion'])} is not a 1.x version`);
  const root = raw['root'];
  if (!isObj(root)) throw bad('root', 'is required (the container root filesystem)');
  const rootPath = checkString(root['path'], 'root.path');
  const rootfs = resolve(dir, rootPath);

  const proc = raw['process'];
  if (!isObj(proc)) throw bad('process', 'is required to create a container');
  const args = checkStrings(proc['args'], 'process.args');
  if (args.length === 0) throw bad('process.args', 'must name the program (at least one element)');
  const cwd = checkString(proc['cwd'], 'process.cwd');
  if (!isAbsolute(cwd)) throw bad('process.cwd', `${cwd} is not an absolute path`);
  checkStrings(proc['env'], 'process.env');
  const user = proc['user'];
  if (!isObj(user)) throw bad('process.user', 'is required (uid and gid)');
  checkUint(user['uid'], 'process.user.uid');
  checkUint(user['gid'], 'process.user.gid');
  if (user['additionalGids'] !== undefined) {
    if (!Array.isArray(user['additionalGids'])) throw bad('process.user.additionalGids', 'must be an array');
    user['additionalGids'].forEach((g, i) => checkUint(g, `process.user.additionalGids[${i}]`));
  }
  if (user['umask'] !== undefined) checkUint(user['umask'], 'process.user.umask', 0o777);
  if (proc['rlimits'] !== undefined) {
    if (!Array.isArray(proc['rlimits'])) throw bad('process.rlimits', 'must be an array');
    proc['rlimits'].forEach((r, i) => {
      if (!isObj(r) || typeof r['type'] !== 'string' || !/^RLIMIT_[A-Z]+$/.test(r['type'])) throw bad(`process.rlimits[${i}].type`, 'must be RLIMIT_NAME');
      for (const k of ['soft', 'hard']) {
        if (typeof r[k] !== 'number' || r[k] < 0) throw bad(`process.rlimits[${i}].${k}`, 'must be a non-negative number');
      }
    });
  }
  if (proc['oomScoreAdj'] !== undefined) {
    const v = proc['oomScoreAdj'];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -1000 || v > 1000) throw bad('process.oomScoreAdj', 'must be an integer from -1000 to 1000');
  }
  if (isObj(proc['capabilities'])) {
    for (const [set, caps] of Object.entries(proc['capabilities'])) {
      for (const c of checkStrings(caps, `process.capabilities.${set}`)) {
        if (!/^CAP_[A-Z_]+$/.test(c)) throw bad(`process.capabilities.${set}`, `${c} is not a capability name (CAP_...)`);
      }
    }
  }
  if (raw['hostname'] !== undefined) checkString(raw['hostname'], 'hostname');
  if (raw['mounts'] !== undefined) {
    if (!Array.isArray(raw['mounts'])) throw bad('mounts', 'must be an array');
    raw['mounts'].forEach((m, i) => {
      if (!isObj(m)) throw bad(`mounts[${i}]`, 'must be an object');
      const dest = checkString(m['destination'], `mounts[${i}].destination`);
      if (!isAbsolute(dest)) throw bad(`mounts[${i}].destination`, `${dest} is not an absolute path`);
      for (const o of checkStrings(m['options'], `mounts[${i}].options`)) {
        if (o === 'idmap' || o === 'ridmap') throw bad(`mounts[${i}].options`, `${o}: idmapped mounts are not supported`, 'remove the option (features: mountExtensions.idmap.enabled is false)');
      }
    });
  }
  checkHooks(raw['hooks']);
  if (raw['annotations'] !== undefined) {
    if (!isObj(raw['annotations']) || Object.values(raw['annotations']).some((v) => typeof v !== 'string')) throw bad('annotations', 'must map strings to strings');
  }

  const linux = raw['linux'];
  if (linux !== undefined && !isObj(linux)) throw bad('linux', 'must be an object');
  const ns = isObj(linux) ? linux['namespaces'] : undefined;
  if (ns !== undefined) {
    if (!Array.isArray(ns)) throw bad('linux.namespaces', 'must be an array');
    const seen = new Set<string>();
    ns.forEach((n, i) => {
      if (!isObj(n)) throw bad(`linux.namespaces[${i}]`, 'must be an object');
      const t = checkString(n['type'], `linux.namespaces[${i}].type`);
      if (t === 'time') throw bad(`linux.namespaces[${i}].type`, 'time namespaces are not supported', 'remove it from linux.namespaces');
      if (!NS_TYPES[t]) throw bad(`linux.namespaces[${i}].type`, `unknown namespace type ${t}`, 'one of pid network mount ipc uts user cgroup');
      if (seen.has(t)) throw bad(`linux.namespaces[${i}].type`, `${t} is given twice`);
      seen.add(t);
      if (n['path'] !== undefined) {
        const p = checkString(n['path'], `linux.namespaces[${i}].path`);
        if (!isAbsolute(p)) throw bad(`linux.namespaces[${i}].path`, `${p} is not an absolute path`);
      }
    });
  }
  if (isObj(linux)) {
    for (const key of ['uidMappings', 'gidMappings']) {
      const maps = linux[key];
      if (maps === undefined) continue;
      if (!Array.isArray(maps)) throw bad(`linux.${key}`, 'must be an array');
      maps.forEach((m, i) => {
        if (!isObj(m)) throw bad(`linux.${key}[${i}]`, 'must be an object');
        for (const f of ['containerID', 'hostID', 'size']) checkUint(m[f], `linux.${key}[${i}].${f}`);
      });
    }
    const devs = linux['devices'];
    if (devs !== undefined) {
      if (!Array.isArray(devs)) throw bad('linux.devices', 'must be an array');
      devs.forEach((d, i) => {
        if (!isObj(d)) throw bad(`linux.devices[${i}]`, 'must be an object');
        const p = checkString(d['path'], `linux.devices[${i}].path`);
        if (!isAbsolute(p)) throw bad(`linux.devices[${i}].path`, `${p} is not an absolute path`);
        const t = checkString(d['type'], `linux.devices[${i}].type`);
        if (!['c', 'b', 'u', 'p'].includes(t)) throw bad(`linux.devices[${i}].type`, `${t} is not one of c b u p`);
        if (t !== 'p') {
          checkUint(d['major'], `linux.devices[${i}].major`);
          checkUint(d['minor'], `linux.devices[${i}].minor`);
        }
      });
    }
    const prop = linux['rootfsPropagation'];
    if (prop !== undefined && !['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'].includes(String(prop))) {
      throw bad('linux.rootfsPropagation', `${String(prop)} is not one of private rprivate slave rslave shared rshared unbindable runbindable`);
    }
    if (linux['sysctl'] !== undefined && (!isObj(linux['sysctl']) || Object.values(linux['sysctl']).some((v) => typeof v !== 'string'))) {
      throw bad('linux.sysctl', 'must map strings to strings');
    }
    checkStrings(linux['maskedPaths'], 'linux.maskedPaths');
    checkStrings(linux['readonlyPaths'], 'linux.readonlyPaths');
    if (linux['cgroupsPath'] !== undefined) checkString(linux['cgroupsPath'], 'linux.cgroupsPath');
    const res = linux['resources'];
    if (isObj(res) && res['devices'] !== undefined) {
      if (!Array.isArray(res['devices'])) throw bad('linux.resources.devices', 'must be an array');
      res['devices'].forEach((d, i) => {
        const f = `linux.resources.devices[${i}]`;
        if (!isObj(d) || typeof d['allow'] !== 'boolean') throw bad(`${f}.allow`, 'must be true or false');
        if (d['type'] !== undefined && !['a', 'b', 'c'].includes(String(d['type']))) throw bad(`${f}.type`, `${String(d['type'])} is not one of a b c`);
        for (const k of ['major', 'minor']) if (d[k] !== undefined && d[k] !== null && d[k] !== -1) checkUint(d[k], `${f}.${k}`);
        if (d['access'] !== undefined && !/^[rwm]{0,3}$/.test(String(d['access']))) throw bad(`${f}.access`, `${String(d['access'])} is not some of r w m`);
      });
    }
  }
  // Checked now, before anything is created; the spawner compiles it.
  const seccomp = isObj(linux) && linux['seccomp'] != null ? seccompFromOci(linux['seccomp']) : undefined;
  return { dir, rootfs, config: raw as unknown as OciConfig, warnings, ignored, seccomp };
}

/** 2^64-1 (and JSON's rounding of it) means no limit in OCI rlimits. */
function rlimitValue(n: number): number | 'unlimited' {
  return n >= 2 ** 63 ? 'unlimited' : n;
}

export interface SpecOptions {
  detached: boolean;
  execFifo?: string;
  consoleSocket?: string;
  /** `run` in the foreground: the pty master comes back to the caller. */
  callerConsole?: boolean;
  /** With callerConsole: the caller's terminal size, the pty's size unless process.consoleSize says otherwise. */
  callerSize?: { rows: number; cols: number };
  noPivot?: boolean;
  cgroupProcs?: string[];
  network?: ContainerSpec['network'];
  /** Where warnings about adjusted fields go. */
  warn: (msg: string) => void;
}

/**
 * The kernel raises an ambient capability only when it is also permitted
 * and inheritable (capabilities(7), PR_CAP_AMBIENT_RAISE); runc then warns
 * and goes on, and `runc spec` itself lists ambient caps without
 * inheritable ones. Do the same instead of failing the start.
 */
function ambientRaisable(caps: Capabilities, warn: (msg: string) => void): Capabilities {
  const amb = caps.ambient ?? [];
  const ok = amb.filter((c) => (caps.permitted ?? []).includes(c) && (caps.inheritable ?? []).includes(c));
  if (ok.length === amb.length) return caps;
  const dropped = amb.filter((c) => !ok.includes(c));
  warn(`config.json: process.capabilities.ambient: ${dropped.join(', ')} not raised: an ambient capability must also be permitted and inheritable`);
  return { ...caps, ambient: ok };
}

/** process.consoleSize as rows x cols; a size no terminal can have is a config error. */
/** What the spawner runs, from an OCI process: by create and run (with rlimits added) and by exec. */
export function spawnerProcess(proc: OciProcess): ContainerSpec['process'] {
  return {
    args: proc.args!,
    env: proc.env ?? [],
    cwd: proc.cwd,
    user: { uid: proc.user.uid, gid: proc.user.gid, additionalGids: proc.user.additionalGids ?? [] },
    terminal: proc.terminal === true,
    noNewPrivileges: proc.noNewPrivileges === true,
  };
}

function consoleSize(size: OciProcess['consoleSize']): { rows: number; cols: number } | undefined {
  if (size === undefined) return undefined;
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  if (!ok(size.height) || !ok(size.width)) {
    throw new ContainetError('CN_OCI_CONFIG', `config.json: process.consoleSize ${JSON.stringify(size)} is not a terminal size`, {
      hint: 'give height and width as whole numbers of rows and columns, 1-65535',
    });
  }
  return { rows: size.height, cols: size.width };
}

/** The spawner's spec for a checked bundle. */
export function toContainerSpec(b: Bundle, opts: SpecOptions): ContainerSpec {
  const cfg = b.config;
  const proc = cfg.process!;
  const linux = cfg.linux ?? {};
  const namespaces: ContainerSpec['namespaces'] = {};
  for (const n of linux.namespaces ?? []) namespaces[NS_TYPES[n.type]!] = n.path ?? true;
  // runc sets the names in a joined uts namespace too (its check is only
  // that the config lists one): so do we.
  if (cfg.hostname !== undefined && namespaces.uts === undefined) {
    throw bad('hostname', 'needs a uts namespace', 'add {"type": "uts"} to linux.namespaces');
  }
  if (cfg.domainname !== undefined && namespaces.uts === undefined) {
    throw bad('domainname', 'needs a uts namespace', 'add {"type": "uts"} to linux.namespaces');
  }
  // Without a mount namespace of its own nothing can be mounted without
  // changing the host's: a joined one already has its root (the process
  // starts there, as exec does), none at all gets chroot into root.path.
  const ownMounts = namespaces.mount === true;
  if (!ownMounts) {
    const what = namespaces.mount === undefined ? 'without a mount namespace' : 'in a joined mount namespace';
    const need = (field: string, present: boolean) => {
      if (present) throw bad(field, `cannot be applied ${what} (it would change the host's or that namespace's mounts)`, 'add {"type": "mount"} to linux.namespaces, or remove the field');
    };
    need('mounts', (cfg.mounts ?? []).length > 0);
    need('linux.devices', (linux.devices ?? []).length > 0);
    need('linux.maskedPaths', (linux.maskedPaths ?? []).length > 0);
    need('linux.readonlyPaths', (linux.readonlyPaths ?? []).length > 0);
    need('linux.rootfsPropagation', linux.rootfsPropagation !== undefined);
    need('root.readonly', cfg.root?.readonly === true);
    if (typeof namespaces.mount === 'string') opts.warn(`config.json: root.path: not used: the process starts at the root of the joined mount namespace ${namespaces.mount}`);
  }
  if ((linux.uidMappings?.length || linux.gidMappings?.length) && namespaces.user !== true) {
    throw bad('linux.uidMappings', 'mappings need a new user namespace', 'add {"type": "user"} to linux.namespaces');
  }
  if (namespaces.user === true && !(linux.uidMappings?.length && linux.gidMappings?.length)) {
    throw bad('linux.namespaces', 'a new user namespace needs linux.uidMappings and linux.gidMappings');
  }
  if (proc.terminal && !opts.consoleSocket && !opts.callerConsole) {
    throw new ContainetError('CN_OCI_CONSOLE', 'process.terminal is true but no --console-socket was given', {
      hint: 'pass --console-socket PATH (a unix socket that receives the pty master), or set terminal to false',
    });
  }

  const mounts: MountSpec[] = [];
  for (const m of cfg.mounts ?? []) {
    const { source } = m;
    let { type } = m;
    let options = m.options ?? [];
    // The container's own cgroups, whatever the host's layout: the
    // spawner mounts its view (SPAWN.md, `cgroup` mounts; each hierarchy's
    // own cgroup, as runc mounts them), never the host's whole tree.
    if (type === 'cgroup' || type === 'cgroup2') {
      type = 'cgroup';
      options = options.filter((o) => o !== 'bind' && o !== 'rbind');
    }
    mounts.push({ source: source ?? '', destination: m.destination, type: type ?? '', options });
  }

  const devices: DeviceSpec[] = (linux.devices ?? []).map((d) => ({
    path: d.path,
    type: d.type as DeviceSpec['type'],
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    fileMode: d.fileMode === undefined ? 0o666 : d.fileMode & 0o7777,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  }));

  const rlimits: Rlimit[] = (proc.rlimits ?? []).map((r) => ({ type: r.type, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) }));

  const spec: ContainerSpec = {
    detached: opts.detached,
    namespaces,
    sysctl: linux.sysctl ?? {},
    process: { ...spawnerProcess(proc), rlimits },
  };
  if (ownMounts) {
    spec.rootfs = { path: b.rootfs, readonly: cfg.root?.readonly === true };
    spec.defaultDevices = true;
    spec.mounts = mounts;
    spec.devices = devices;
    spec.maskedPaths = linux.maskedPaths ?? [];
    spec.readonlyPaths = linux.readonlyPaths ?? [];
  } else if (namespaces.mount === undefined) {
    spec.chroot = b.rootfs;
  }
  if (proc.user.umask !== undefined) spec.process.umask = proc.user.umask;
  if (proc.capabilities) spec.process.capabilities = ambientRaisable(proc.capabilities, opts.warn);
  if (proc.oomScoreAdj !== undefined) spec.process.oomScoreAdj = proc.oomScoreAdj;
  if (opts.consoleSocket) spec.process.consoleSocket = opts.consoleSocket;
  if (proc.terminal) {
    const size = consoleSize(proc.consoleSize) ?? (opts.callerConsole ? opts.callerSize : undefined);
    if (size) spec.process.consoleSize = size;
  }
  if (linux.uidMappings) spec.uidMappings = linux.uidMappings;
  if (linux.gidMappings) spec.gidMappings = linux.gidMappings;
  if (cfg.hostname !== undefined) spec.hostname = cfg.hostname;
  if (cfg.domainname !== undefined) spec.domainname = cfg.domainname;
  if (linux.rootfsPropagation) spec.propagation = linux.rootfsPropagation;
  if (opts.noPivot && ownMounts) spec.noPivot = true;
  if (opts.execFifo) spec.execFifo = opts.execFifo;
  if (opts.cgroupProcs?.length) spec.cgroupProcs = opts.cgroupProcs;
  if (opts.network) spec.network = opts.network;
  if (b.seccomp) spec.seccomp = b.seccomp;
  return spec;
}
