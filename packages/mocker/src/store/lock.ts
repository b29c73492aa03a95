/**
 * A lock between processes sharing the store: flock(2) on a file under
 * locks/. The kernel drops it when its holder exits, however it exits
 * (kill -9 included), so a dead mocker never wedges the store and nobody
 * has to judge whether a recorded pid is still the same process. The file
 * holds the holder's pid, for messages only.
 *
 * Taking it never blocks a thread: LOCK_NB, retried with a growing pause.
 * The holder unlinks the file before it unlocks; a waiter that got the lock
 * on a file unlinked meanwhile (its inode is no longer the path's) starts
 * again, so two processes never both hold "the" lock.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync, ftruncateSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import { libc, failure } from '../libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** Try once; the fd holding the lock, or null when another process has it. */
function tryLock(path: string): number | null {
  const fd = openSync(path, 'a+', 0o644);
  if (libc().flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = libc().errno();
    closeSync(fd);
    if (errno === EWOULDBLOCK) return null;
    throw failure('flock', path);
  }
  let same = false;
  try {
    same = statSync(path).ino === fstatSync(fd).ino;
  } catch {} // unlinked by the holder we waited for
  if (!same) {
    closeSync(fd);
    return tryLock(path);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  return fd;
}

export interface HeldLock {
  /** Unlink and unlock; safe to call twice. */
  release(): void;
}

/**
 * Take the lock at `path`, waiting up to `timeoutMs` for its holder
 * (`onWait` is told once, when waiting begins); an abort ends the wait.
 */
export async function acquireFileLock(path: string, timeoutMs = 600_000, signal?: AbortSignal, onWait?: () => void): Promise<HeldLock> {
  const started = Date.now();
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    const fd = tryLock(path);
    if (fd !== null) {
      let held = true;
      return {
        release: () => {
          if (!held) return;
          held = false;
          try {
            unlinkSync(path);
          } catch {}
          closeSync(fd);
        },
      };
    }
    if (signal?.aborted) throw signal.reason;
    if (wait === 5) onWait?.();
    if (Date.now() - started > timeoutMs) {
      const owner = (() => {
        try {
          return readFileSync(path, 'utf8').trim();
        } catch {
          return '';
        }
      })();
      throw new ContainetError('MOCKER_LOCKED', `${path} is held by process ${owner || '?'}`, { hint: 'wait for the other mocker to finish' });
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
