/**
 * Locations the programs agree on. One setting each, overridable by an
 * environment variable, so mocker and containode find the same store.
 */
import { join } from 'node:path';

/** mocker's OCI image layout and unpacked root filesystems. */
export function imageStoreDir(): string {
  return process.env['CONTAINET_IMAGES'] ?? '/var/lib/containet/images';
}

/** Records of running containers (containode, containode-oci). */
export function stateDir(): string {
  return process.env['CONTAINET_STATE'] ?? '/run/containet';
}

export function containerStateDir(): string {
  return join(stateDir(), 'containers');
}

/** Default control socket of the switch. */
export const DEFAULT_SOCKET = '/tmp/containet.sock';
