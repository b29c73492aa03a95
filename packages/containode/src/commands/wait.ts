/** `containode wait ID...`: block until each container has ended; print its exit status when known. */
import { ContainetError } from '@containet/common';
import { containodeStore } from '../container/containode-store.js';
import { isDetached, readSupervisor } from '../container/detach.js';
import { recordAlive, validId } from '../container/state.js';
import { UsageError } from '@containet/common';

export const commandNames = ['wait'];

export const help = 'Wait until each container has ended for good (a detached one after its last restart) and print its exit status (detached containers; a foreground one\'s status is its containode\'s).';

export async function handler(_opts: object, args: string[]): Promise<string> {
  if (!args.length) throw new UsageError('wait needs a container identity', 'containode wait ID...');
  const store = containodeStore();
  const recs = args.map((id) => {
    if (!validId(id)) throw new UsageError(`invalid container identity ${id}`, 'containode wait ID (see containode ps -a)');
    const rec = store.read(id);
    if (!rec) throw new ContainetError('CN_NO_SUCH_CONTAINER', `no container ${id}`, { hint: 'see `containode ps -a`' });
    return rec;
  });
  let out = '';
  for (const rec of recs) {
    while (recordAlive(rec)) await new Promise((r) => setTimeout(r, 100));
    if (isDetached(rec)) {
      const s = readSupervisor(store, rec.id);
      out += s?.exit !== undefined ? `${s.exit}\n` : '\n';
    }
  }
  return out;
}
