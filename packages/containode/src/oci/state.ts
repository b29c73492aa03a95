/**
 * The state directory (--root, default /run/containode-oci): one directory
 * per container holding state.json (written atomically: temporary file +
 * rename(2)), exec.fifo while the container is created, and a lock file
 * that serialises commands on one id. Nothing of the runtime runs between
 * commands, so every status is derived again from the kernel: a recorded
 * pid counts only while /proc/PID/stat shows the same start time (pids are
 * reused, proc(5) field 22), which also holds after a reboot of the host.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, UsageError } from '@containet/common';
import type { OciHooks, OciProcess } from './config.js';
import { isFrozen } from './cgroup.js';
import { sleepSync } from './sleep.js';

export const DEFAULT_ROOT = '/run/containode-oci';
export const OCI_VERSION = '1.0.2';
/** containode-oci's own version (`--version`, `features`). */
export const RUNTIME_VERSION = '0.1.0';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

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

/** What the runtime remembers about a container between commands. */
export interface ContainerRecord extends OciState {
  /** proc(5) starttime of `pid`, to tell it from a later process with the same pid. */
  pidStartTime: string;
  /** The `create` process while status is creating. */
  creator?: { pid: number; startTime: string };
  hooks?: OciHooks;
  /** The container's process from config.json, the base for `exec`. */
  process?: OciProcess;
  /** The container's namespaces: true = created for it, a string = joined path. */
  namespaces: Record<string, true | string>;
  /** cgroup directories created for it, removed by delete. */
  cgroups: string[];
  /** The cgroup.procs files its init joined. */
  cgroupProcs: string[];
  /** The freezer file of its cgroup (pause/resume), when it has one. */
  freezer?: string;
  /** containet port, detached by delete. */
  switch?: { socket: string; node: string; port: number };
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

/** runc's id rule: no path separators or other surprises. */
export function checkId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw new UsageError(`invalid container id ${JSON.stringify(id)}`, 'use letters, digits and _ . + - (not starting with a symbol)');
  }
}

/** Start time of a live process (clock ticks after boot) and its state letter, or null. */
export function procStat(pid: number): { startTime: string; state: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0] ?? '?', startTime: rest[19] ?? '' };
}

/** Whether the process recorded as (pid, startTime) still exists and is not a zombie. */
export function alive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const st = procStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

export class StateDir {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  fifo(id: string): string {
    return join(this.root, id, 'exec.fifo');
  }

  /** Reserve `id` (mkdir is atomic): fails when a container with that id exists. */
  reserve(id: string): void {
    checkId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ContainetError('CN_OCI_EXISTS', `container ${id} already exists`, { hint: `delete it first: containode-oci delete ${id}` });
      }
      throw err;
    }
  }

  /** Read a container's record; CN_OCI_NOT_FOUND for an unknown id. */
  read(id: string): ContainerRecord {
    checkId(id);
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new ContainetError('CN_OCI_NOT_FOUND', `container ${id} does not exist`, { hint: 'see `containode-oci list`' });
      }
      throw err;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new ContainetError('CN_OCI_STATE', `state of container ${id} is corrupt (${join(this.dir(id), 'state.json')})`, {
        hint: `remove it with containode-oci delete --force ${id}`,
      });
    }
  }

  /** Write a record atomically: readers see the old or the new file, never half. */
  write(rec: ContainerRecord): void {
    const final = join(this.dir(rec.id), 'state.json');
    const tmp = `${final}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(rec));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
  }

  ids(): string[] {
    try {
      return readdirSync(this.root).filter((n) => ID_RE.test(n) && existsSync(join(this.root, n, 'state.json'))).sort();
    } catch {
      return [];
    }
  }

  /** The status the kernel shows now, whatever the record says. */
  status(rec: ContainerRecord): Status {
    if (rec.status === 'creating') {
      const c = rec.creator;
      if (c && alive(c.pid, c.startTime)) return 'creating';
      // The create process died half-way: whatever it made is not usable.
      return alive(rec.pid, rec.pidStartTime) ? 'created' : 'stopped';
    }
    if (!alive(rec.pid, rec.pidStartTime)) return 'stopped';
    // runc's rule: created while the init still waits on the exec fifo.
    if (rec.status === 'created' && existsSync(this.fifo(rec.id))) return 'created';
    // runc's `paused`: the cgroup is frozen (the runtime spec leaves room for more states).
    if (rec.freezer && isFrozen(rec.freezer)) return 'paused';
    return 'running';
  }

  /** The OCI state with the live status (pid 0 once stopped, as runc prints it). */
  ociState(rec: ContainerRecord): OciState {
    const status = this.status(rec);
    const s: OciState = {
      ociVersion: rec.ociVersion,
      id: rec.id,
      pid: status === 'stopped' ? 0 : rec.pid,
      status,
      bundle: rec.bundle,
      rootfs: rec.rootfs,
      created: rec.created,
      owner: rec.owner,
    };
    if (rec.annotations && Object.keys(rec.annotations).length) s.annotations = rec.annotations;
    return s;
  }

  /**
   * Hold the lock of `id` while `fn` runs. A lock whose holder died (same
   * pid-reuse check) is taken over; a live holder is waited for up to
   * `waitMs`, then CN_OCI_BUSY.
   */
  async locked<T>(id: string, fn: () => Promise<T> | T, waitMs = 10_000): Promise<T> {
    checkId(id);
    const lock = join(this.dir(id), 'lock');
    const me = procStat(process.pid);
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, `${process.pid} ${me?.startTime ?? ''}`);
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
      if (!alive(Number(pid), start ?? '')) {
        // A half-written lock (holder between open and write) reads as
        // empty: give it a moment before calling it dead.
        if (holder === '') sleepSync(5);
        else {
          try {
            unlinkSync(lock);
          } catch {}
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new ContainetError('CN_OCI_BUSY', `container ${id} is locked by another containode-oci command (pid ${pid})`, { hint: 'retry when it has finished' });
      }
      sleepSync(10);
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(lock);
      } catch {}
    }
  }

  /** Remove a container's directory (state, fifo, lock). */
  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** RFC 3339 (UTC, milliseconds), the form of `created`. */
export function rfc3339Now(): string {
  return new Date().toISOString();
}
