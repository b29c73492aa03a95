/**
 * Records of running containers: one JSON file per container under
 * containerStateDir() (/run/containet/containers), named by identity. A
 * record names its processes by pid plus start time (/proc/PID/stat field
 * 22), so a reused pid is never mistaken for the container: a record whose
 * processes are gone is stale, reported as stopped, and removed.
 */
import { mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, containerStateDir } from '@containet/common';

export interface ContainerRecord {
  id: string;
  /** Which program runs it: containode or containode-oci. */
  runtime: string;
  /** Host pid of the container's init (0 while it is being created). */
  pid: number;
  pidStart?: number;
  /** The process that supervises it (containode), when there is one. */
  ownerPid?: number;
  ownerStart?: number;
  command: string[];
  root?: string;
  top?: string;
  image?: string;
  /** The image's (platform manifest) digest. */
  imageDigest?: string;
  /** Published ports, `HOSTIP:HOSTPORT->PORT/PROTO`. */
  publish?: string[];
  addresses: string[];
  mac?: string;
  socket?: string;
  hostname?: string;
  /** RFC 3339. */
  created: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
}

export function recordPath(id: string): string {
  return join(containerStateDir(), `${id}.json`);
}

/** Start time of a process in clock ticks since boot, or null when it is gone. */
export function processStartTime(pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}

function sameProcess(pid: number | undefined, start: number | undefined): boolean {
  if (!pid) return false;
  const now = processStartTime(pid);
  return now !== null && (start === undefined || now === start);
}

/** Whether the container of a record still runs (its init, or while creating its owner). */
export function recordAlive(rec: ContainerRecord): boolean {
  if (rec.pid) return sameProcess(rec.pid, rec.pidStart);
  return sameProcess(rec.ownerPid, rec.ownerStart);
}

export function readRecord(id: string): ContainerRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(id), 'utf8')) as ContainerRecord;
  } catch {
    return null;
  }
}

function writeExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Claim identity `rec.id`: create its record, replacing a stale one.
 * Throws CN_IDENTITY_IN_USE when a live container has it.
 */
export function claimRecord(rec: ContainerRecord): void {
  mkdirSync(containerStateDir(), { recursive: true, mode: 0o755 });
  const path = recordPath(rec.id);
  const text = JSON.stringify(rec, null, 2) + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (writeExclusive(path, text)) return;
    const old = readRecord(rec.id);
    if (old && recordAlive(old)) {
      throw new ContainetError('CN_IDENTITY_IN_USE', `identity ${rec.id} is already running (pid ${old.pid || old.ownerPid})`, {
        hint: 'pick another with -i, or stop that container first',
      });
    }
    try {
      unlinkSync(path);
    } catch {
      // Someone else cleaned it first; try again.
    }
  }
  throw new ContainetError('CN_IDENTITY_IN_USE', `could not claim identity ${rec.id}: its record keeps changing`);
}

/** Rewrite a record (atomically, by rename). */
export function updateRecord(rec: ContainerRecord): void {
  const path = recordPath(rec.id);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}

export function removeRecord(id: string): void {
  try {
    unlinkSync(recordPath(id));
  } catch {
    // already gone
  }
}

/**
 * Every record, live ones first as they are; stale ones are reported with
 * status "stopped" and removed from the directory (unless keepStale).
 */
export function listRecords(opts: { keepStale?: boolean } = {}): ContainerRecord[] {
  let names: string[];
  try {
    names = readdirSync(containerStateDir());
  } catch {
    return [];
  }
  const out: ContainerRecord[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.json')) continue;
    const rec = readRecord(name.slice(0, -5));
    if (!rec) continue;
    if (!recordAlive(rec)) {
      rec.status = 'stopped';
      if (!opts.keepStale && rec.runtime === 'containode') removeRecord(rec.id);
    }
    out.push(rec);
  }
  return out;
}
