import { parseReference, repositoryName } from '../reference.js';
import { humanSize } from '../progress.js';
import type { ImageStore, StoredImage } from '../store/image-store.js';
import { openStore, out, type GlobalOptions } from './common.js';
import { images as texts } from './help.js';

export const help = texts.help;


export function ago(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return 'N/A';
  const s = Math.max(0, (now - t) / 1000);
  const units: Array<[number, string]> = [[31536000, 'year'], [2592000, 'month'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [n, u] of units) if (s >= n) return `${Math.floor(s / n)} ${u}${Math.floor(s / n) > 1 ? 's' : ''} ago`;
  return 'less than a minute ago';
}

export interface ImageRow {
  /** The full name other tools address it by: `skopeo inspect oci:STORE:NAME`, `umoci … --image STORE:NAME`. */
  name: string;
  /** The full repository (`docker.io/library/alpine`, as crictl lists it): REPOSITORY:TAG is the name. */
  repository: string;
  tag: string;
  digest: string;
  size: number;
  created: string | undefined;
}

export function imageRows(store: ImageStore): ImageRow[] {
  return store.images().map((img: StoredImage) => {
    const ref = parseReference(img.name);
    let size = 0;
    let created: string | undefined;
    try {
      const m = store.manifest(img);
      size = m.config.size + m.layers.reduce((a, l) => a + l.size, 0);
      created = store.config(m).created;
    } catch {}
    return { name: img.name, repository: repositoryName(ref), tag: ref.tag ?? '<none>', digest: img.descriptor.digest, size, created };
  });
}

export async function handler(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const store = await openStore(opts);
  const rows = store.exists() ? imageRows(store) : [];
  if (opts.json) {
    out(JSON.stringify(rows, null, 2));
    return 0;
  }
  const table = [['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED'], ...rows.map((r) => [r.repository, r.tag, r.digest.slice(7, 19), humanSize(r.size), ago(r.created)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) out(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join(''));
  return 0;
}
