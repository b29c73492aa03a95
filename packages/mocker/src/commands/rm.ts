import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, UsageError, containerStateDir } from '@containet/common';
import { openStore, out, type GlobalOptions } from './common.js';
import { rm as texts } from './help.js';

export const help = texts.help;

export interface RmOptions extends GlobalOptions {
  /** Remove an image even while a running container uses it. */
  force?: boolean;
}

/** A containode container that runs from an image, as its record names it. */
interface ImageUser {
  id: string;
  digest: string;
  root: string;
}

/**
 * Whether the process recorded as (pid, start) still runs: containode's
 * liveness rule (its state.ts), read here so mocker does not depend on
 * containode: the pid exists with the recorded start time (proc(5)
 * /proc/PID/stat field 22, counted after the command's closing paren) and
 * is no zombie.
 */
function alive(pid: unknown, start: unknown): boolean {
  if (typeof pid !== 'number' || pid <= 0 || typeof start !== 'number') return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19]) === start && fields[0] !== 'Z' && fields[0] !== 'X';
}

/** Running containers that use an image of `store`: records in containode's state directory (CONTAINET_STATE/containers). */
function imageUsers(store: string): ImageUser[] {
  const dir = containerStateDir();
  let ids: string[];
  try {
    ids = readdirSync(dir);
  } catch {
    return [];
  }
  const users: ImageUser[] = [];
  for (const id of ids) {
    let rec: { pid?: unknown; pidStart?: unknown; creator?: { pid?: unknown; start?: unknown }; imageDigest?: unknown; root?: unknown };
    try {
      rec = JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8')) as typeof rec;
    } catch {
      continue; // no record, half-written or removed meanwhile
    }
    if (typeof rec.imageDigest !== 'string' || typeof rec.root !== 'string') continue;
    // Only containers of this store: their root is STORE/rootfs/HEX.
    if (!rec.root.startsWith(`${join(store, 'rootfs')}/`)) continue;
    const running = rec.pid ? alive(rec.pid, rec.pidStart) : alive(rec.creator?.pid, rec.creator?.start);
    if (running) users.push({ id, digest: rec.imageDigest, root: rec.root });
  }
  return users;
}

export async function handler(opts: RmOptions, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('mocker rm needs an image name');
  const store = await openStore(opts);
  // Resolve every name before removing any, so a typo removes nothing.
  const images = args.map((a) => store.find(a));
  const names = images.map((i) => i.name);
  if (!opts.force) {
    // An image stays while another name keeps its digest; else its root
    // filesystem, the lower layer of a running container's overlay, would go.
    const kept = new Set(store.images().filter((i) => !names.includes(i.name)).map((i) => i.descriptor.digest));
    const users = imageUsers(store.dir);
    for (const img of images) {
      if (kept.has(img.descriptor.digest)) continue;
      const using = users.filter((u) => u.digest === img.descriptor.digest);
      if (using.length) {
        throw new ContainetError('MOCKER_IMAGE_IN_USE', `image ${img.name} is used by running container${using.length > 1 ? 's' : ''} ${using.map((u) => u.id).join(', ')}`, {
          hint: 'stop the container first (containode stop ID), or remove it anyway with mocker rm --force',
        });
      }
    }
  }
  const { untagged, deleted } = await store.remove(names);
  for (const n of untagged) out(`Untagged: ${n}`);
  for (const d of deleted) out(`Deleted: ${d}`);
  return 0;
}
