/** What the management commands share: finding a container by identity. */
import { ContainetError, UsageError } from '@containet/common';
import { containodeStore } from '../container/containode-store.js';
import { recordAlive, type ContainerRecord } from '../container/state.js';

/** The one ID operand of a command. */
export function containerId(args: string[], command: string): string {
  const [id, extra] = args;
  if (!id) throw new UsageError(`${command} needs a container identity`, `containode ${command} ID (see containode ps)`);
  if (extra !== undefined) throw new UsageError(`${command}: unexpected argument ${extra}`);
  return id;
}

/** The record of a running container; a unique prefix of its identity will do. */
export function findRunning(id: string): ContainerRecord {
  const store = containodeStore();
  let rec = store.read(id);
  if (!rec) {
    const matches = store.list().filter((r) => r.id.startsWith(id) && r.status !== 'stopped');
    if (matches.length > 1) {
      throw new ContainetError('CN_AMBIGUOUS', `${id} matches several containers: ${matches.map((r) => r.id).join(', ')}`);
    }
    rec = matches[0] ?? null;
  }
  if (!rec || !recordAlive(rec)) {
    throw new ContainetError('CN_NO_SUCH_CONTAINER', `no running container ${id}`, { hint: 'see `containode ps`' });
  }
  return rec;
}
