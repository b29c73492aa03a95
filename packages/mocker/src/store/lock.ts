/**
 * A lock between processes sharing the store: a file under locks/ created
 * with O_EXCL, which open(2) makes atomic, holding who holds it:
 * `PID STARTTIME BOOT_ID PIDNS` (the start time is field 22 of
 * /proc/PID/stat, in clock ticks since boot; proc(5)). The holder unlinks
 * it when done.
 *
 * A holder that died (kill -9 included) leaves its file; a waiter judges it
 * dead when the boot is another, or /proc/PID is gone, or /proc/PID/stat
 * shows another start time (the pid was reused). A holder in another pid
 * namespace cannot be looked up, so holders refresh their file's mtime
 * every HEARTBEAT_MS and such a file is dead once it is STALE_MS old.
 * Taking over a dead holder's file happens under a flock(2) on
 * locks/takeover.lock (released by the kernel whatever happens to its
 * holder), re-reading the file there, so two waiters never both remove it.
 *
 * This needs no system call Node lacks on the common path: koffi (for
 * flock) is loaded only to take a dead holder's lock over. flock on every
 * lock cost each pull ~10 ms of loading koffi, the start-up of a whole
 * command's worth of modules.
 *
 * Taking it never blocks a thread: retried with a growing pause.
 */
import { closeSync, openSync, readFileSync, readlinkSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import { libc, failure } from '../libc.js';

const HEARTBEAT_MS = 30_000;
const STALE_MS = 4 * HEARTBEAT_MS;
/** A file still empty this long after its creation lost its creator between open and write. */
const EMPTY_GRACE_MS = 5_000;

interface Holder {
  pid: number;
  start: string | undefined;
  boot: string | undefined;
  pidns: string | undefined;
}

function startTimeOf(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may hold spaces and parentheses: count after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let self: Holder | undefined;
function me(): Holder {
  if (self) return self;
  const read = (f: () => string): string | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  self = {
    pid: process.pid,
    start: startTimeOf('self'),
    boot: read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim()),
    pidns: read(() => readlinkSync('/proc/self/ns/pid')),
  };
  return self;
}

function parseHolder(text: string): Holder | null {
  const [pid, start, boot, pidns] = text.trim().split(' ');
  if (!pid || !/^\d+$/.test(pid)) return null;
  return { pid: Number(pid), start, boot, pidns };
}

/** Whether the holder recorded in a lock file (`text`, file mtime `mtimeMs`) may still be running. */
function holderAlive(text: string, mtimeMs: number): boolean {
  const h = parseHolder(text);
  if (!h) return Date.now() - mtimeMs < EMPTY_GRACE_MS;
  const my = me();
  if (h.boot !== undefined && my.boot !== undefined && h.boot !== my.boot) return false;
  if (h.pidns !== undefined && my.pidns !== undefined && h.pidns !== my.pidns) return Date.now() - mtimeMs < STALE_MS;
  const start = startTimeOf(h.pid);
  if (start === undefined) return false;
  return h.start === undefined || h.start === start;
}

function readLockFile(path: string): { text: string; mtimeMs: number; ino: number } | null {
  try {
    const st = statSync(path);
    return { text: readFileSync(path, 'latin1'), mtimeMs: st.mtimeMs, ino: st.ino };
  } catch {
    return null; // released meanwhile
  }
}

/** Create the lock file; false when it exists. */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const my = me();
    writeSync(fd, `${my.pid} ${my.start ?? '-'} ${my.boot ?? '-'} ${my.pidns ?? '-'}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Remove `path` if it still is the dead holder's file seen (`seen`), under
 * the takeover flock; true when removed or already gone.
 */
async function removeDead(path: string, seen: { text: string; ino: number }, signal?: AbortSignal): Promise<boolean> {
  const guardPath = `${path.slice(0, path.lastIndexOf('/'))}/takeover.lock`;
  const fd = openSync(guardPath, 'a', 0o644);
  try {
    for (let wait = 2; libc().flock(fd, 2 /* LOCK_EX */ | 4 /* LOCK_NB */) !== 0; wait = Math.min(wait * 2, 100)) {
      if (libc().errno() !== 11 /* EWOULDBLOCK */) throw failure('flock', guardPath);
      if (signal?.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, wait));
    }
    const now = readLockFile(path);
    if (!now) return true;
    if (now.ino !== seen.ino || now.text !== seen.text || holderAlive(now.text, now.mtimeMs)) return false;
    unlinkSync(path);
    return true;
  } finally {
    closeSync(fd); // drops the flock
  }
}

export interface HeldLock {
  /** Unlink (which unlocks); safe to call twice. */
  release(): void;
}

/**
 * Take the lock at `path`, waiting up to `timeoutMs` for its holder
 * (`onWait` is told once, when waiting begins); an abort ends the wait.
 */
export async function acquireFileLock(path: string, timeoutMs = 600_000, signal?: AbortSignal, onWait?: () => void): Promise<HeldLock> {
  const started = Date.now();
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    if (tryCreate(path)) {
      let held = true;
      const heartbeat = setInterval(() => {
        const now = new Date();
        try {
          utimesSync(path, now, now);
        } catch {}
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return {
        release: () => {
          if (!held) return;
          held = false;
          clearInterval(heartbeat);
          try {
            unlinkSync(path);
          } catch {}
        },
      };
    }
    const seen = readLockFile(path);
    if (seen && !holderAlive(seen.text, seen.mtimeMs) && (await removeDead(path, seen, signal))) continue;
    if (!seen) continue; // released between our open and our read
    if (signal?.aborted) throw signal.reason;
    if (wait === 5) onWait?.();
    if (Date.now() - started > timeoutMs) {
      const owner = parseHolder(seen.text)?.pid;
      throw new ContainetError('MOCKER_LOCKED', `${path} is held by process ${owner ?? '?'}`, { hint: 'wait for the other mocker to finish' });
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const lock = await acquireFileLock(path, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
