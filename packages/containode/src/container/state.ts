/**
 * Container records: the one on-disk format of both commands. A state
 * directory (containode: containerStateDir(), /run/containet/containers;
 * containode-oci: --root, /run/containode-oci) holds one directory per
 * container, named by its id, with
 *   state.json  the record, written atomically (temporary file + rename(2));
 *   exec.fifo   while an OCI container is created and not yet started;
 *   lock        while a command works on the container (OCI commands).
 *
 * The one liveness rule: a process named in a record (the container's
 * init, or the process creating it) counts only while /proc/PID/stat shows
 * the recorded start time (proc(5) field 22; pids are reused) and it is not
 * a zombie. Nothing of either runtime has to stay running for that, and it
 * holds after a reboot of the host. Imports nothing of @containet/common
 * beyond its errors, so containode-oci's bundle stays small.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import type { SeccompChoice } from '../security/security-opt.js';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import type { PortVlan } from '@containet/common';
import type { NamespaceType } from '../runtime/spec.js';
import { sleepSync } from './sleep.js';
import type { VolumeRecord } from './volumes.js';

/** runtime-spec version of the state `containode-oci state` prints. */
export const OCI_VERSION = '1.0.2';

export type Runtime = 'containode' | 'containode-oci';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** A process, told from a later one with the same pid by its start time. */
export interface ProcessRef {
  pid: number;
  /** proc(5) field 22, clock ticks after boot. */
  start: number;
}

/** The OCI state (runtime-spec runtime.md "State"), as `state` prints it. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** An OCI hook (config.md "POSIX-platform Hooks"). */
export interface HookSpec {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface HookSpecs {
  prestart?: HookSpec[];
  createRuntime?: HookSpec[];
  createContainer?: HookSpec[];
  startContainer?: HookSpec[];
  poststart?: HookSpec[];
  poststop?: HookSpec[];
}

/** The container's cgroup: its path below every hierarchy's root and the directories made. */
export interface CgroupRecord {
  /** Relative path, e.g. containet/ID. */
  name: string;
  /** One directory per hierarchy, in creation order. */
  dirs: string[];
  /** v1 freezer.state or v2 cgroup.freeze, when the host has a freezer. */
  freezer?: string;
}

/** The switch port of the container's eth0. */
export interface SwitchRecord {
  socket: string;
  node: string;
  port: number;
  /** The switch keeps the port without a connection; delete detaches it. */
  persist: boolean;
  /** The process that holds the tap and re-attaches it after a switch restart (OCI containet.reattach). */
  keeper?: ProcessRef;
}

/** One interface of a container on a switch (containode -s and --net). */
export interface InterfaceRecord {
  ifname: string;
  /** The switch's control socket. */
  socket: string;
  mac: string;
  /** CIDRs. */
  addresses: string[];
  /** Its port on the switch when the container started (a re-attach may change it). */
  port: number;
  vlan?: PortVlan;
}

export interface ContainerRecord {
  id: string;
  runtime: Runtime;
  /** As last written; statusOf() tells the live one. */
  status: Status;
  /** Host pid of the container's init (0 while it is being created). */
  pid: number;
  pidStart?: number;
  /** The process that creates it (containode: also supervises it to the end). */
  creator?: ProcessRef;
  /** RFC 3339. */
  created: string;
  /** What runs: the program and its arguments. */
  command: string[];
  /** true = made for the container, a string = the path it joined. */
  namespaces?: Partial<Record<NamespaceType, true | string>>;
  cgroup?: CgroupRecord;
  switch?: SwitchRecord;
  /** CIDRs of eth0 (containode: of every interface). */
  addresses: string[];
  /** containode: every interface on a switch, in order (eth0 of -s first). */
  interfaces?: InterfaceRecord[];
  mac?: string;
  hostname?: string;
  // containode
  /** Control socket of the switch eth0 is plugged into. */
  socket?: string;
  root?: string;
  top?: string;
  image?: string;
  /** The image's (platform manifest) digest. */
  imageDigest?: string;
  /** Published ports, `HOSTIP:HOSTPORT->PORT/PROTO`. */
  publish?: string[];
  /** -v bind mounts, as Docker's inspect shows Mounts. */
  mounts?: VolumeRecord[];
  // containode-oci
  ociVersion?: string;
  bundle?: string;
  rootfs?: string;
  /** runc's: empty for root, the user's name when rootless. */
  owner?: string;
  annotations?: Record<string, string>;
  hooks?: HookSpecs;
  /** config.json's process, the base for `exec`. */
  process?: unknown;
  /** config.json's linux.seccomp, applied to `exec`'d processes as to the init (as runc does). */
  seccomp?: unknown;
  /** containode's own containers: the filter choice their init got, for `containode exec` (as docker exec). */
  seccompChoice?: SeccompChoice;
}

/** Start time of a live process and its state letter (proc(5)), or null when it is gone. */
export function procStat(pid: number): { start: number; state: string } | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0] ?? '?', start: Number(rest[19]) };
}

/** Start time of a process in clock ticks since boot, or null when it is gone. */
export function processStartTime(pid: number): number | null {
  return procStat(pid)?.start ?? null;
}

/** This process, as a record names it. */
export function selfRef(): ProcessRef {
  return { pid: process.pid, start: processStartTime(process.pid) ?? 0 };
}

/**
 * The liveness rule: the process recorded as (pid, start) still exists,
 * has that start time and is no zombie (a zombie's parent may never reap it).
 */
export function processAlive(pid: number | undefined, start: number | undefined): boolean {
  if (!pid || start === undefined) return false;
  const st = procStat(pid);
  return st !== null && st.start === start && st.state !== 'Z' && st.state !== 'X';
}

/** Whether the container of a record still runs: its init, or while it has none yet its creator. */
export function recordAlive(rec: ContainerRecord): boolean {
  if (rec.pid) return processAlive(rec.pid, rec.pidStart);
  return processAlive(rec.creator?.pid, rec.creator?.start);
}

/** Whether a cgroup freezer file says frozen (v1 FROZEN; v2 1). Unreadable: not frozen. */
export function isFrozen(freezer: string): boolean {
  try {
    const v = readFileSync(freezer, 'utf8').trim();
    return freezer.endsWith('cgroup.freeze') ? v === '1' : v === 'FROZEN';
  } catch {
    return false;
  }
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

/** Whether `id` can name a container's directory (runc's rule: no path separators or other surprises). */
export function validId(id: string): boolean {
  return ID_RE.test(id) && id !== '.' && id !== '..';
}


/** One state directory of container records. */
export class ContainerStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** The record's file. */
  file(id: string): string {
    return join(this.root, id, 'state.json');
  }

  fifo(id: string): string {
    return join(this.root, id, 'exec.fifo');
  }

  /**
   * Reserve `rec.id` and write its record (mkdir is atomic). Returns
   * undefined on success, else the record that holds the id. With
   * `replaceStale`, a record whose container is gone is replaced (containode:
   * an identity is free again once its container ended); without, any
   * existing record holds the id (OCI: a stopped container awaits delete).
   */
  claim(rec: ContainerRecord, opts: { replaceStale: boolean }): ContainerRecord | undefined {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    for (let attempt = 0; attempt < 3; attempt++) {
      // The directory appears with its record in it: made under a name no
      // id can have, then renamed into place (rename(2) of a directory is
      // atomic, and fails when the target exists and is not empty).
      const tmp = join(this.root, `.${rec.id}.${process.pid}.tmp`);
      mkdirSync(tmp, { mode: 0o711 });
      try {
        writeFileSync(join(tmp, 'state.json'), `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o644 });
        renameSync(tmp, this.dir(rec.id));
        return undefined;
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
      }
      const old = this.read(rec.id);
      if (old && (!opts.replaceStale || recordAlive(old))) return old;
      if (!old && !opts.replaceStale && existsSync(this.dir(rec.id))) return { ...rec, status: 'stopped', pid: 0 };
      this.remove(rec.id);
    }
    throw new ContainetError('CN_IDENTITY_IN_USE', `could not claim identity ${rec.id}: its record keeps changing`);
  }

  /** A container's record, or null when there is none (or it is unreadable). */
  read(id: string): ContainerRecord | null {
    if (!validId(id)) return null;
    let text: string;
    try {
      text = readFileSync(this.file(id), 'utf8');
    } catch {
      return null;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new ContainetError('CN_STATE_CORRUPT', `the record of container ${id} is corrupt (${this.file(id)})`, {
        hint: `remove ${this.dir(id)}`,
      });
    }
  }

  /** Write a record atomically: readers see the old or the new file, never half. */
  write(rec: ContainerRecord): void {
    const final = this.file(rec.id);
    const tmp = `${final}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(rec, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
  }

  /**
   * Rewrite the record of a container whose directory may be gone: the
   * spawner removes a containode record when the container ends, which a
   * quick program does before its supervisor's last update. Return: false
   * when it was gone (nothing is written then).
   */
  update(rec: ContainerRecord): boolean {
    try {
      this.write(rec);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Remove a container's directory (record, fifo, lock). */
  remove(id: string): void {
    if (validId(id)) rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids of every container with a record, sorted. */
  ids(): string[] {
    try {
      return readdirSync(this.root).filter((n) => validId(n) && existsSync(this.file(n))).sort();
    } catch {
      return [];
    }
  }

  /**
   * Every record, with the live status. Stale containode records (their
   * container ended while nobody could remove the record) are removed
   * unless keepStale; stopped OCI containers stay until `delete`.
   */
  list(opts: { keepStale?: boolean } = {}): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const id of this.ids()) {
      let rec: ContainerRecord | null;
      try {
        rec = this.read(id);
      } catch {
        continue; // corrupt: not listed; `containode cleanup` or delete --force removes it
      }
      if (!rec) continue; // removed between readdir and read
      const status = this.status(rec);
      if (status === 'stopped' && !opts.keepStale && rec.runtime === 'containode') this.remove(id);
      out.push({ ...rec, status });
    }
    return out;
  }

  /** The status the kernel shows now, whatever the record says. */
  status(rec: ContainerRecord): Status {
    if (rec.status === 'creating') {
      if (processAlive(rec.creator?.pid, rec.creator?.start)) return 'creating';
      // The creating process died half-way: whatever it made is not usable.
      return processAlive(rec.pid, rec.pidStart) ? 'created' : 'stopped';
    }
    if (!processAlive(rec.pid, rec.pidStart)) return 'stopped';
    // runc's rule: created while the init still waits on the exec fifo.
    if (rec.status === 'created' && existsSync(this.fifo(rec.id))) return 'created';
    // runc's `paused`: the cgroup is frozen.
    if (rec.cgroup?.freezer && isFrozen(rec.cgroup.freezer)) return 'paused';
    return 'running';
  }

  /** The OCI state with the live status (pid 0 once stopped, as runc prints it). */
  ociState(rec: ContainerRecord): OciState {
    const status = this.status(rec);
    const s: OciState = {
      ociVersion: rec.ociVersion ?? OCI_VERSION,
      id: rec.id,
      pid: status === 'stopped' ? 0 : rec.pid,
      status,
      bundle: rec.bundle ?? '',
      rootfs: rec.rootfs ?? rec.root ?? '',
      created: rec.created,
      owner: rec.owner ?? '',
    };
    if (rec.annotations && Object.keys(rec.annotations).length) s.annotations = rec.annotations;
    return s;
  }

  /**
   * Hold the lock of `id` while `fn` runs. A lock whose holder died (the
   * liveness rule) is taken over; a live holder is waited for up to
   * `waitMs`, then CN_OCI_BUSY. CN_OCI_NOT_FOUND when `id` has no directory.
   */
  async locked<T>(id: string, fn: () => Promise<T> | T, waitMs = 10_000): Promise<T> {
    const lock = join(this.dir(id), 'lock');
    const me = selfRef();
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, `${me.pid} ${me.start}`);
        closeSync(fd);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          if (!existsSync(this.dir(id))) throw new ContainetError('CN_OCI_NOT_FOUND', `container ${id} does not exist`, { hint: 'see `containode-oci list`' });
          throw err;
        }
        if (code !== 'EEXIST') throw err;
      }
      let holder = '';
      try {
        holder = readFileSync(lock, 'utf8');
      } catch {
        continue;
      }
      const [pid, start] = holder.split(' ');
      if (!processAlive(Number(pid), start ? Number(start) : undefined)) {
        // A half-written lock (holder between open and write) reads as
        // empty: give it a moment before calling it dead.
        if (holder === '') sleepSync(5);
        else {
          try {
            unlinkSync(lock);
          } catch {
            // taken over by another command first
          }
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new ContainetError('CN_OCI_BUSY', `container ${id} is locked by another command (pid ${pid})`, { hint: 'retry when it has finished' });
      }
      sleepSync(10);
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(lock);
      } catch {
        // removed with the container's directory
      }
    }
  }
}
