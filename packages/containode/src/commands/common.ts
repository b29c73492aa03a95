/** What the management commands share: finding a container by identity. */
import { ContainetError, UsageError } from '@containet/common';
import { containodeStore } from '../container/containode-store.js';
import { recordAlive, validId, type ContainerRecord } from '../container/state.js';
import { initOf } from '../container/detach.js';

/** The one ID operand of a command. */
export function containerId(args: string[], command: string): string {
  const [id, extra] = args;
  if (!id) throw new UsageError(`${command} needs a container identity`, `containode ${command} ID (see containode ps)`);
  if (extra !== undefined) throw new UsageError(`${command}: unexpected argument ${extra}`);
  if (!validId(id)) throw new UsageError(`invalid container identity ${id}`, `containode ${command} ID (see containode ps)`);
  return id;
}

/** The record of a running container; a unique prefix of its identity will do. */
export function findRunning(id: string): ContainerRecord {
  const store = containodeStore();
  let rec = store.read(id);
  if (!rec) {
    const matches = store.list({ keepStale: true }).filter((r) => r.id.startsWith(id) && r.status !== 'stopped');
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

/** The container's current init (a detached container's changes with each restart); CN_NOT_RUNNING between restarts. */
export function runningInit(rec: ContainerRecord): ContainerRecord {
  const init = initOf(rec);
  if (!init) throw new ContainetError('CN_NOT_RUNNING', `container ${rec.id} has no program running now (it is restarting)`, { hint: 'try again in a moment' });
  return init;
}
