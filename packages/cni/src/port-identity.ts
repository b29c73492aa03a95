/**
 * The switch's node identity for a CNI attachment. Identities are at most
 * 63 characters of [A-Za-z0-9_.-] (common/identity.ts), and a CNI
 * container id is often 64 hex digits, while one container may be attached
 * twice under different interface names: so `cni-` + the id's first 12
 * characters + 10 hex digits of SHA-256 over (id, ifname). The record keeps
 * the full id.
 */
import { createHash } from 'node:crypto';
import { validateIdentity } from '@containet/common';

export const PORT_PREFIX = 'cni-';

export function portIdentity(containerId: string, ifname: string): string {
  const digest = createHash('sha256').update(`${containerId}\0${ifname}`).digest('hex');
  const head = containerId.slice(0, 12).replaceAll('.', '_');
  return validateIdentity(`${PORT_PREFIX}${head}-${digest.slice(0, 10)}`);
}

/**
 * A stable MAC for the attachment, locally administered and unicast (the
 * first octet's bits 1 and 0: 1 and 0, IEEE 802), so a re-ADD gives the
 * same address and neighbours' ARP caches stay right.
 */
export function attachmentMac(containerId: string, ifname: string): string {
  const d = createHash('sha256').update(`mac\0${containerId}\0${ifname}`).digest();
  const bytes = [((d[0] ?? 0) & 0xfc) | 0x02, d[1], d[2], d[3], d[4], d[5]];
  return bytes.map((b) => (b ?? 0).toString(16).padStart(2, '0')).join(':');
}
