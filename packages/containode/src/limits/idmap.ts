/**
 * User namespace id maps for -U/--uidmap/--gidmap (user_namespaces(7)):
 * lines `CONTAINER:HOST:COUNT`, checked as the kernel would check
 * /proc/PID/uid_map, so a mistake is a clear message rather than an EINVAL
 * from the spawner.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '@containet/common';
import type { IdMapping } from '../runtime/spec.js';

/** ids are 32-bit; (uid_t)-1 is never valid, so a range ends at most at 2^32-1. */
const ID_LIMIT = 2 ** 32 - 1;
/** Lines a map may have since Linux 4.15 (user_namespaces(7)). */
const MAX_LINES = 340;
/** The default range: 65536 ids (a whole 16-bit id space) from 100000, as useradd gives. */
export const DEFAULT_HOST_START = 100_000;
export const DEFAULT_COUNT = 65_536;

export function parseIdMapping(text: string, option: string): IdMapping {
  const hint = `use CONTAINER:HOST:COUNT, e.g. ${option} 0:${DEFAULT_HOST_START}:${DEFAULT_COUNT}`;
  const m = text.trim().match(/^(\d+):(\d+):(\d+)$/);
  if (!m) throw new UsageError(`invalid ${option} ${text}: not CONTAINER:HOST:COUNT`, hint);
  const [containerID, hostID, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (size < 1) throw new UsageError(`invalid ${option} ${text}: COUNT must be at least 1`, hint);
  if (containerID + size > ID_LIMIT || hostID + size > ID_LIMIT) throw new UsageError(`invalid ${option} ${text}: the range goes past the largest id ${ID_LIMIT - 1}`, hint);
  return { containerID, hostID, size };
}

function overlaps(a: number, an: number, b: number, bn: number): boolean {
  return a < b + bn && b < a + an;
}

/** Check a whole map: no overlaps on either side (the kernel refuses them), root mapped. */
export function checkIdMap(map: IdMapping[], option: string): IdMapping[] {
  if (map.length > MAX_LINES) throw new UsageError(`too many ${option} ranges (${map.length}): the kernel takes at most ${MAX_LINES}`);
  for (let i = 0; i < map.length; i++) {
    for (let j = i + 1; j < map.length; j++) {
      const a = map[i]!;
      const b = map[j]!;
      const show = (x: IdMapping) => `${x.containerID}:${x.hostID}:${x.size}`;
      if (overlaps(a.containerID, a.size, b.containerID, b.size)) throw new UsageError(`${option} ${show(a)} and ${show(b)} overlap inside the container`);
      if (overlaps(a.hostID, a.size, b.hostID, b.size)) throw new UsageError(`${option} ${show(a)} and ${show(b)} overlap on the host`);
    }
  }
  if (!map.some((m) => m.containerID === 0)) {
    throw new UsageError(`${option} must map container id 0: the program runs as root inside the user namespace`, `add ${option} 0:${DEFAULT_HOST_START}:${DEFAULT_COUNT}`);
  }
  return map;
}

/**
 * The default range for root's containers: root's first range in
 * /etc/subuid (subuid(5)) when there is one, else 100000:65536.
 */
export function defaultIdMapping(subidFile: string, user = 'root'): IdMapping {
  try {
    for (const line of readFileSync(subidFile, 'utf8').split('\n')) {
      const [name, start, count] = line.trim().split(':');
      if (name !== user || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
      const size = Math.min(Number(count), DEFAULT_COUNT);
      if (size > 0) return { containerID: 0, hostID: Number(start), size };
    }
  } catch {
    // no subordinate ids configured
  }
  return { containerID: 0, hostID: DEFAULT_HOST_START, size: DEFAULT_COUNT };
}

/** The host id that container id `id` maps to, if any. */
export function hostIdOf(map: IdMapping[], id: number): number | undefined {
  const m = map.find((r) => id >= r.containerID && id < r.containerID + r.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

/**
 * The first directory on the way to `path` that host ids uid/gid can't
 * search (no x bit for them), or undefined. The container's root is such an
 * id with -U, and capabilities in its user namespace don't override the
 * permissions of files owned by ids outside it (capabilities(7)).
 */
export function blockedDirectory(path: string, uid: number, gid: number): string | undefined {
  const dirs: string[] = [];
  for (let d = path; ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of dirs) {
    let st;
    try {
      st = statSync(d);
    } catch {
      return undefined; // missing: the spawner names it
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (st.isDirectory() && !(st.mode & bit)) return d;
  }
  return undefined;
}
