/**
 * Where containode keeps its container records: CONTAINET_STATE/containers
 * (default /run/containet/containers), in the one record format of
 * state.ts. containode-oci keeps its own under --root.
 */
import { containerStateDir } from '@containet/common';
import { ContainerStore } from './state.js';

export function containodeStore(): ContainerStore {
  return new ContainerStore(containerStateDir());
}
