import { getSystemErrorName } from 'node:util';
import { constants as osConstants } from 'node:os';

export interface ErrorDetails {
  /** What the user can do about it, printed under the message. */
  hint?: string;
  cause?: unknown;
  /** Process exit status a CLI should use; 1 unless said otherwise. */
  exitCode?: number;
}

/**
 * The one error type of the suite. `code` is stable (callers and tests match
 * on it); `message` is one line naming what was wrong.
 */
export class ContainetError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ContainetError';
    this.code = code;
    this.hint = details.hint;
    this.exitCode = details.exitCode ?? 1;
  }
}

/** A bad command-line value or combination: exit status 2. */
export class UsageError extends ContainetError {
  constructor(message: string, hint?: string) {
    super('CN_USAGE', message, { hint, exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** A failed system call, made from a -errno value returned by native code. */
export class SystemCallError extends ContainetError {
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(errno: number, syscall: string, path?: string, details: ErrorDetails = {}) {
    const name = errnoName(errno);
    const what = path === undefined ? syscall : `${syscall}(${path})`;
    super(name, `${what}: ${errnoText(errno)}`, details);
    this.name = 'SystemCallError';
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

function errnoName(errno: number): string {
  const n = Math.abs(errno);
  // libuv names only the errnos it maps (not ENOEXEC, for one); the
  // platform's table has them all.
  const name = Object.entries(osConstants.errno).find(([, v]) => v === n)?.[0];
  if (name) return name;
  try {
    return getSystemErrorName(-n);
  } catch {
    return `ERRNO_${n}`;
  }
}

// The C library's strerror() texts for the errnos users meet most; the rest
// fall back to the symbolic name, which is still searchable.
const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EBADF: 'Bad file descriptor',
  EBADFD: 'File descriptor in bad state',
  ENOTTY: 'Inappropriate ioctl for device',
  ECONNREFUSED: 'Connection refused',
  ENOTSOCK: 'Socket operation on non-socket',
  EAGAIN: 'Resource temporarily unavailable',
  EPIPE: 'Broken pipe',
  ETIMEDOUT: 'Connection timed out',
  ENAMETOOLONG: 'File name too long',
  ENODEV: 'No such device',
  ENOSPC: 'No space left on device',
  EMFILE: 'Too many open files',
  ENOEXEC: 'Exec format error',
  E2BIG: 'Argument list too long',
  ETXTBSY: 'Text file busy',
  ENOMEM: 'Cannot allocate memory',
  ELOOP: 'Too many levels of symbolic links',
};

export function errnoText(errno: number): string {
  const name = errnoName(errno);
  return ERRNO_TEXT[name] ?? name;
}

/**
 * Check a native return value: negative means -errno. Returns the value
 * unchanged when it is not an error, so calls read `const fd = check(...)`.
 */
export function check(ret: number, syscall: string, path?: string): number {
  if (ret < 0) throw new SystemCallError(-ret, syscall, path);
  return ret;
}

/** Whether `err` is a ContainetError with one of the given codes. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof ContainetError && codes.includes(err.code);
}
