/**
 * Extended attributes and nanosecond times for the layer applier: Node has
 * neither, so these wrap libc's calls (../libc.ts). Failures are
 * SystemCallErrors whose code is the errno's name (ENOTSUP, EPERM…).
 */
import { libc as lib, failure as fail } from '../libc.js';

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

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
