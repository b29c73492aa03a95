/** `containode ps`: containers, as a table or JSON. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { imageStoreDir } from '@containet/common';
import { containodeStore } from '../container/containode-store.js';
import { isDetached, readSupervisor } from '../container/detach.js';
import type { ContainerRecord } from '../container/state.js';

export const commandNames = ['ps'];

export const help = 'List running containers; with --all also ended ones that keep a record (detached: until containode rm) and kept top directories of containers from images.';

export interface PsOptions {
  all?: boolean;
  json?: boolean;
}

/** A row: the record, or a kept top directory without one (status `kept`). */
type PsRow = ContainerRecord & { restarts?: number; exitCode?: number };

function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** Top directories of containers from images that ran without --rm and have no record (STORE/containers/ID). */
function keptTops(withRecord: Set<string>): PsRow[] {
  const dir = join(imageStoreDir(), 'containers');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => !withRecord.has(n))
    .sort()
    .map((id) => ({ id, runtime: 'containode', status: 'stopped', pid: 0, created: '', command: [], addresses: [], top: join(dir, id), kept: true }) as PsRow);
}

/** IFNAME=CIDR for each address of each interface (an interface without one: IFNAME alone). */
function addresses(r: ContainerRecord): string {
  if (!r.interfaces?.length) return r.addresses.join(',');
  return r.interfaces.flatMap((i) => (i.addresses.length ? i.addresses.map((a) => `${i.ifname}=${a}`) : [i.ifname])).join(',');
}

export async function handler(opts: PsOptions, _args: string[] = []): Promise<string> {
  const store = containodeStore();
  // Ended detached containers keep their record (logs, rm): never removed by a listing.
  const all: PsRow[] = store.list({ keepStale: true }).map((r) => {
    if (!isDetached(r)) return r;
    const s = readSupervisor(store, r.id);
    return { ...r, restarts: s?.restarts ?? 0, exitCode: s?.exit };
  });
  let records = all.filter((r) => opts.all || r.status !== 'stopped');
  if (opts.all) records = [...records, ...keptTops(new Set(all.map((r) => r.id)))];
  if (opts.json) return JSON.stringify(records, null, 2) + '\n';
  const rows = [['ID', 'PID', 'STATUS', 'CREATED', 'ADDRESSES', 'ROOT', 'COMMAND']];
  for (const r of records) {
    const kept = (r as { kept?: boolean }).kept === true;
    const status = kept ? 'kept' : r.status === 'stopped' && r.exitCode !== undefined ? `exited (${r.exitCode})` : r.status;
    rows.push([r.id, String(r.pid || '-'), status, kept ? '-' : age(r.created), addresses(r) || '-', kept ? r.top! : r.image ?? r.root ?? '/', r.command.join(' ')]);
  }
  return table(rows);
}
