/** `containode ps`: running containers, as a table or JSON. */
import { containodeStore } from '../container/containode-store.js';
import type { ContainerRecord } from '../container/state.js';

export const commandNames = ['ps'];

export const help = 'List running containers (with --all also stopped ones that still have a record).';

export interface PsOptions {
  all?: boolean;
  json?: boolean;
}

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

export async function handler(opts: PsOptions, _args: string[] = []): Promise<string> {
  const records: ContainerRecord[] = containodeStore().list().filter((r) => opts.all || r.status !== 'stopped');
  if (opts.json) return JSON.stringify(records, null, 2) + '\n';
  const rows = [['ID', 'PID', 'STATUS', 'CREATED', 'ADDRESSES', 'ROOT', 'COMMAND']];
  for (const r of records) {
    rows.push([r.id, String(r.pid || '-'), r.status, age(r.created), r.addresses.join(',') || '-', r.image ?? r.root ?? '/', r.command.join(' ')]);
  }
  return table(rows);
}
