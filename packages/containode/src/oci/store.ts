/**
 * containode-oci's side of the record store (../container/state.ts): its
 * default root, runc's id rule as a usage error, and "does not exist" as
 * runc's callers expect it.
 */
import { ContainetError, UsageError } from '@containet/common';
import { ContainerStore, validId, type ContainerRecord } from '../container/state.js';

export const DEFAULT_ROOT = '/run/containode-oci';
/** containode-oci's own version (`--version`, `features`). */
export const RUNTIME_VERSION = '0.1.0';

/** runc's id rule: no path separators or other surprises. */
export function checkId(id: string): void {
  if (!validId(id)) {
    throw new UsageError(`invalid container id ${JSON.stringify(id)}`, 'use letters, digits and _ . + - (not starting with a symbol)');
  }
}

/** A container's record; CN_OCI_NOT_FOUND for an unknown id. */
export function readContainer(store: ContainerStore, id: string): ContainerRecord {
  checkId(id);
  const rec = store.read(id);
  if (!rec) throw new ContainetError('CN_OCI_NOT_FOUND', `container ${id} does not exist`, { hint: 'see `containode-oci list`' });
  return rec;
}
