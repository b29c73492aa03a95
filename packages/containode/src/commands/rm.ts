/**
 * `containode rm [-f] ID...`: remove a container that has ended: its
 * record, log and, for a container from an image, its top directory
 * (STORE/containers/ID, kept after a run without --rm); also such a kept
 * top directory alone. A running container needs -f (SIGKILL, no restart).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { ContainetError, UsageError, imageStoreDir } from '@containet/common';
import { killContainer } from '../container/container-kill.js';
import { containodeStore } from '../container/containode-store.js';
import { initOf, markStopped } from '../container/detach.js';
import { recordAlive, validId } from '../container/state.js';

export const commandNames = ['rm'];

export const help = 'Remove ended containers: record, log and the top directory of a container from an image (also a kept one without a record); -f stops a running one first (SIGKILL).';

export interface RmOptions {
  force?: boolean;
}

/** Where containers from images keep their changes unless -t said otherwise (options.ts). */
function keptTop(id: string): string {
  return join(imageStoreDir(), 'containers', id);
}

export async function handler(opts: RmOptions, args: string[]): Promise<string> {
  if (!args.length) throw new UsageError('rm needs a container identity', 'containode rm [-f] ID...');
  const store = containodeStore();
  let out = '';
  for (const id of args) {
    if (!validId(id)) throw new UsageError(`invalid container identity ${id}`);
    const rec = store.read(id);
    if (!rec) {
      const top = keptTop(id);
      if (!existsSync(top)) throw new ContainetError('CN_NO_SUCH_CONTAINER', `no container ${id}`, { hint: 'see `containode ps -a`' });
      rmSync(top, { recursive: true, force: true });
      out += `${id}\n`;
      continue;
    }
    if (recordAlive(rec)) {
      if (!opts.force) throw new ContainetError('CN_RUNNING', `container ${id} is running`, { hint: `containode stop ${id} first, or containode rm -f ${id}` });
      markStopped(store, id);
      const init = initOf(rec, store);
      if (init) killContainer(init, constants.signals.SIGKILL);
      const deadline = Date.now() + 10_000;
      while (recordAlive(rec) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (recordAlive(rec)) throw new ContainetError('CN_RUNNING', `container ${id} did not end after SIGKILL`, { hint: 'see `containode inspect`' });
    }
    if (rec.switch?.persist) {
      const { SwitchLink } = await import('../container/switch-link.js');
      await SwitchLink.detachInterfaces(rec.switch.socket, rec.switch.node, rec.interfaces);
    }
    // Only the top directory containode chose for an image's container; one given with -t is the user's.
    if (rec.top && rec.image !== undefined && rec.top.endsWith(`/containers/${id}`)) rmSync(rec.top, { recursive: true, force: true });
    store.remove(id);
    out += `${id}\n`;
  }
  return out;
}
