/**
 * Extended attributes and nanosecond times for the layer applier, through
 * libc: Node has no setxattr(2) nor a utimensat(2) that takes nanoseconds
 * (fs.lutimes takes a double of seconds, which cannot hold a 2024 time to
 * the nanosecond), so these few calls go through koffi straight to
 * libc.so.6. libcontainet (@containet/common's native surface) is not the
 * place: these are plain libc calls with no C of ours behind them.
 *
 * Failures are SystemCallErrors (ContainetError) whose code is the errno's
 * name (ENOTSUP, EPERM…), with errno, syscall and path, as a Node fs error.
 */
import { createRequire } from 'node:module';
import { SystemCallError } from '@containet/common';

type Fn = (...args: unknown[]) => number;
interface Libc {
  lsetxattr: Fn;
  fsetxattr: Fn;
  utimensat: Fn;
  llistxattr: Fn;
  lremovexattr: Fn;
  errno: () => number;
}

let libc: Libc | undefined;

/**
 * koffi is @containet/common's dependency (and the bundle's one external):
 * mocker's own resolution is tried first, then the one of common's
 * package, where pnpm puts it.
 */
function loadKoffi(): { load: (p: string) => { func: (proto: string) => Fn }; errno: () => number } {
  const here = createRequire(import.meta.url);
  try {
    return here('koffi') as ReturnType<typeof loadKoffi>;
  } catch {
    return createRequire(here.resolve('@containet/common'))('koffi') as ReturnType<typeof loadKoffi>;
  }
}

function lib(): Libc {
  if (libc) return libc;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  libc = {
    // xattr(7), setxattr(2): value is a byte string of `size` bytes.
    lsetxattr: c.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    fsetxattr: c.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)'),
    // utimensat(2): times[0] atime, times[1] mtime, each { time_t tv_sec; long tv_nsec } (16 bytes on 64-bit Linux).
    utimensat: c.func('int utimensat(int dirfd, const char *path, const void *times, int flags)'),
    llistxattr: c.func('long llistxattr(const char *path, void *list, size_t size)'),
    lremovexattr: c.func('int lremovexattr(const char *path, const char *name)'),
    errno: () => koffi.errno(),
  };
  return libc;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

function fail(syscall: string, path: string): SystemCallError {
  return new SystemCallError(-lib().errno(), syscall, path);
}

/** lsetxattr(2): on the entry itself, never through a symlink. */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  if (lib().lsetxattr(path, name, value, value.length, 0) !== 0) throw fail('lsetxattr', `${path}, ${name}`);
}

/** fsetxattr(2) on an open file. */
export function fsetxattr(fd: number, path: string, name: string, value: Buffer): void {
  if (lib().fsetxattr(fd, name, value, value.length, 0) !== 0) throw fail('fsetxattr', `${path}, ${name}`);
}

/** A time as tar's PAX records carry it: whole seconds and nanoseconds. */
export interface ExactTime {
  sec: number;
  nsec: number;
}

/** utimensat(2) with AT_SYMLINK_NOFOLLOW: atime and mtime to the nanosecond. */
export function lutimens(path: string, atime: ExactTime, mtime: ExactTime): void {
  const times = Buffer.alloc(32);
  times.writeBigInt64LE(BigInt(atime.sec), 0);
  times.writeBigInt64LE(BigInt(atime.nsec), 8);
  times.writeBigInt64LE(BigInt(mtime.sec), 16);
  times.writeBigInt64LE(BigInt(mtime.nsec), 24);
  if (lib().utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) !== 0) throw fail('utimensat', path);
}

/** llistxattr(2): the names of the entry's extended attributes (not through a symlink). */
export function llistxattr(path: string): string[] {
  const size = lib().llistxattr(path, null, 0);
  if (size < 0) throw fail('llistxattr', path);
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const got = lib().llistxattr(path, buf, size);
  if (got < 0) throw fail('llistxattr', path);
  return buf.toString('utf8', 0, got).split('\0').filter((n) => n !== '');
}

/** lremovexattr(2). */
export function lremovexattr(path: string, name: string): void {
  if (lib().lremovexattr(path, name) !== 0) throw fail('lremovexattr', `${path}, ${name}`);
}
