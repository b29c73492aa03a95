/**
 * `-v/--volume HOST_PATH:CONTAINER_PATH[:OPTIONS]`, as `docker run -v`
 * takes a bind mount (docker run reference, "Bind mounts"): the host's
 * directory or file appears at CONTAINER_PATH, recursively (Docker's -v is
 * an rbind), read-write unless `ro`, with `rprivate` propagation unless an
 * option says otherwise. The spawner makes the mount in the container's
 * mount namespace before the pivot (native/SPAWN.md `mount`), resolving
 * CONTAINER_PATH inside the root (openat2 RESOLVE_IN_ROOT, inroot.c).
 *
 * Checked here, before anything is created: both paths absolute, no named
 * or anonymous volumes (containode keeps no volume store), no target under
 * /proc or /sys (the masks and read-only paths that confine a container
 * live there), no target given twice.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { UsageError } from '@containet/common';
import type { MountSpec } from '../runtime/spec.js';

export const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave', 'rshared', 'shared'] as const;
export type Propagation = (typeof PROPAGATIONS)[number];

export interface Volume {
  /** Absolute path on the host. */
  source: string;
  /** Absolute path in the container, normalised. */
  destination: string;
  readonly: boolean;
  propagation: Propagation;
}

/** What `inspect` shows of a volume (Docker's Mounts: Type, Source, Destination, Mode, RW, Propagation). */
export interface VolumeRecord {
  type: 'bind';
  source: string;
  destination: string;
  mode: 'ro' | 'rw';
  rw: boolean;
  propagation: Propagation;
}

const HINT = 'give -v HOST_PATH:CONTAINER_PATH[:ro|rw][,PROPAGATION], both paths absolute, e.g. -v /srv/data:/data:ro';

/** Paths whose contents confine the container (security/paths.ts): never covered by a volume. */
const PROTECTED = ['/proc', '/sys'];

/** An absolute path without `.`, `..`, doubled or trailing slashes. */
function clean(path: string): string {
  return posix.normalize(path).replace(/(.)\/+$/, '$1');
}

/** One -v value. */
export function parseVolume(text: string): Volume {
  const parts = text.split(':');
  const [source = '', destination, options, ...extra] = parts;
  if (destination === undefined) {
    if (isAbsolute(source)) throw new UsageError(`-v ${text}: anonymous volumes are not supported (there is no host path to bind)`, HINT);
    throw new UsageError(`-v ${text}: named volumes are not supported: containode binds host paths only`, HINT);
  }
  if (extra.length) throw new UsageError(`-v ${text}: too many ':' (paths with ':' cannot be given to -v)`, HINT);
  if (!source.includes('/')) throw new UsageError(`-v ${text}: named volumes (${source || 'an empty name'}) are not supported: use a host path`, HINT);
  if (!isAbsolute(source)) throw new UsageError(`-v ${text}: the host path ${source} must be absolute`, HINT);
  if (!isAbsolute(destination)) throw new UsageError(`-v ${text}: the container path ${destination || '(empty)'} must be absolute`, HINT);
  const dest = clean(destination);
  if (dest === '/') throw new UsageError(`-v ${text}: a volume cannot cover the container's root`, 'give a directory under it, e.g. -v /srv/data:/data');
  for (const p of PROTECTED) {
    if (dest === p || dest.startsWith(`${p}/`)) {
      throw new UsageError(`-v ${text}: ${dest} is under ${p}, which holds the container's masked and read-only paths: volumes there are refused`, 'bind it somewhere else, e.g. -v SRC:/mnt/x');
    }
  }
  let readonly = false;
  let propagation: Propagation = 'rprivate';
  const seen = { mode: false, propagation: false };
  for (const o of options === undefined ? [] : options.split(',')) {
    if (o === 'ro' || o === 'rw') {
      if (seen.mode) throw new UsageError(`-v ${text}: ro/rw given twice`, HINT);
      seen.mode = true;
      readonly = o === 'ro';
    } else if ((PROPAGATIONS as readonly string[]).includes(o)) {
      if (seen.propagation) throw new UsageError(`-v ${text}: a propagation given twice`, HINT);
      seen.propagation = true;
      propagation = o as Propagation;
    } else if (o === 'z' || o === 'Z') {
      throw new UsageError(`-v ${text}: ${o} (an SELinux relabel) is not supported: containode does not use SELinux labels`, 'drop the option');
    } else {
      throw new UsageError(`-v ${text}: unknown option ${JSON.stringify(o)}`, `the options are ro, rw and a propagation (${PROPAGATIONS.join(', ')})`);
    }
  }
  return { source: clean(source), destination: dest, readonly, propagation };
}

/** Every -v value, checked together (a container path given twice is refused, as Docker's "Duplicate mount point"). */
export function parseVolumes(texts: readonly string[]): Volume[] {
  const out = texts.map(parseVolume);
  const seen = new Set<string>();
  for (const v of out) {
    if (seen.has(v.destination)) throw new UsageError(`-v: ${v.destination} is the container path of two volumes`, 'give each container path once');
    seen.add(v.destination);
  }
  return out;
}

/**
 * Without a root of its own (the host's files) a container path is the
 * host's own: it must exist, since making it would change the host's
 * files. With -r or --image a missing one is made in the overlay's upper
 * layer, as Docker makes it in the container's layer; the root's own
 * files (the lower layer) are never written.
 */
export function checkVolumeTargets(volumes: readonly Volume[], hasRoot: boolean): void {
  if (hasRoot) return;
  for (const v of volumes) {
    if (existsSync(v.destination)) continue;
    throw new UsageError(
      `-v ${v.source}:${v.destination}: ${v.destination} does not exist, and a container without -r or --image shares the host's files: containode does not make it there`,
      `create ${v.destination} first, or give the container a root (-r ROOT or --image NAME)`,
    );
  }
}

/** A missing host path is made as a directory, as Docker's -v does (podman refuses it). */
export function makeVolumeSources(volumes: readonly Volume[]): void {
  for (const v of volumes) {
    if (!existsSync(v.source)) mkdirSync(v.source, { recursive: true, mode: 0o755 });
  }
}

/**
 * The spawner's mount lines (OCI bind mount options: mount_at() in
 * mounts.c). On the host's own files (no -r or --image) they carry
 * `nocreate`: the spawner then never makes a missing mount point, so a
 * target that went away after checkVolumeTargets() stays away instead of
 * appearing on the host.
 */
export function volumeMounts(volumes: readonly Volume[], onHostFiles: boolean): MountSpec[] {
  return volumes.map((v) => ({
    source: v.source,
    destination: v.destination,
    type: 'bind',
    options: ['rbind', v.readonly ? 'ro' : 'rw', v.propagation, ...(onHostFiles ? ['nocreate'] : [])],
  }));
}

export function volumeRecords(volumes: readonly Volume[]): VolumeRecord[] {
  return volumes.map((v) => ({ type: 'bind', source: v.source, destination: v.destination, mode: v.readonly ? 'ro' : 'rw', rw: !v.readonly, propagation: v.propagation }));
}
