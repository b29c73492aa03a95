/**
 * The C library calls mocker needs and Node does not offer: extended
 * attributes (setxattr(2) and friends), utimensat(2) with nanoseconds
 * (fs.lutimes takes a double of seconds, too coarse for a 2024 time to the
 * nanosecond) and flock(2) (only to take over a dead process's lock:
 * loading koffi costs ~10 ms, which a pull does not pay). This is the one
 * module that loads libc.so.6 through koffi and declares their prototypes;
 * libcontainet (@containet/common's native surface) is not the place, these
 * being plain libc calls with no C of ours behind them.
 *
 * Failures are SystemCallErrors (ContainetError) whose code is the errno's
 * name (ENOTSUP, EWOULDBLOCK…), with errno, syscall and path.
 */
import { createRequire } from 'node:module';
import { SystemCallError } from '@containet/common';

type Fn = (...args: unknown[]) => number;
export interface Libc {
  lsetxattr: Fn;
  fsetxattr: Fn;
  llistxattr: Fn;
  lremovexattr: Fn;
  utimensat: Fn;
  flock: Fn;
  errno: () => number;
}

let cached: Libc | undefined;

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

export function libc(): Libc {
  if (cached) return cached;
  const koffi = loadKoffi();
  const c = koffi.load('libc.so.6');
  cached = {
    // xattr(7), setxattr(2): a value is `size` bytes, not a string.
    lsetxattr: c.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    fsetxattr: c.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)'),
    llistxattr: c.func('long llistxattr(const char *path, void *list, size_t size)'),
    lremovexattr: c.func('int lremovexattr(const char *path, const char *name)'),
    // utimensat(2): times[0] atime, times[1] mtime, each { time_t tv_sec; long tv_nsec } (16 bytes on 64-bit Linux).
    utimensat: c.func('int utimensat(int dirfd, const char *path, const void *times, int flags)'),
    // flock(2): released by the kernel when the last fd of the open file closes, the owner's death included.
    flock: c.func('int flock(int fd, int operation)'),
    errno: () => koffi.errno(),
  };
  return cached;
}

/** The failure of the call just made, as an error naming it. */
export function failure(syscall: string, what: string): SystemCallError {
  return new SystemCallError(-libc().errno(), syscall, what);
}
