/** Container identities: 64 random bits in base62, 11 characters. */
import { randomBytes } from 'node:crypto';
import { UsageError } from './errors.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomIdentity(): string {
  let n = randomBytes(8).readBigUInt64BE(0);
  let out = '';
  // 62^11 > 2^64, so eleven digits hold any 64-bit value.
  for (let i = 0; i < 11; i++) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

/**
 * Identities become hostnames, directory names and cgroup names, so they are
 * limited to what is safe in all three (RFC 1123 label characters plus _ and .).
 */
export function validateIdentity(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(id) || id.includes('..')) {
    throw new UsageError(`invalid identity: ${JSON.stringify(id)}`, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  return id;
}
