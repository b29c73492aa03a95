/**
 * What the engine's verbs (container-*.ts) are given: the state directory
 * of the records and where messages go. containode-oci passes its --root and
 * its logger (oci/log.ts); anything with warn and debug will do.
 */
import { ContainetError, UsageError } from '@containet/common';
import { validId, type ContainerRecord, type ContainerStore, type Status } from './state.js';

export interface EngineLog {
  warn(msg: string): void;
  debug(msg: string): void;
}

export interface EngineContext {
  /** The state directory (ContainerStore root). */
  root: string;
  log: EngineLog;
}

/** A verb refused in the container's current state. */
export function conflict(id: string, action: string, status: Status, hint?: string): ContainetError {
  return new ContainetError('CN_OCI_STATE', `cannot ${action} container ${id}: it is ${status}`, { hint });
}

/** runc's id rule as a usage error: no path separators or other surprises. */
export function checkId(id: string): void {
  if (!validId(id)) {
    throw new UsageError(`invalid container id ${JSON.stringify(id)}`, 'use letters, digits and _ . + - (not starting with a symbol)');
  }
}

/** A container's record; CN_OCI_NOT_FOUND for an unknown id (UsageError for one no container can have). */
export function readContainer(store: ContainerStore, id: string): ContainerRecord {
  checkId(id);
  const rec = store.read(id);
  if (!rec) throw new ContainetError('CN_OCI_NOT_FOUND', `container ${id} does not exist`, { hint: 'see `containode-oci list`' });
  return rec;
}
