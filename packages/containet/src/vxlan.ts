/**
 * VXLAN uplinks (RFC 7348) as the control plane sees them: parsing of
 * VNIs and VTEP addresses, and the error codes the daemon replies with.
 * Encapsulation itself happens in the datapath (native/src/lib/vxlan.c).
 */
import { ContainetError, UsageError, parseIpv4, type VxlanUplinkInfo } from '@containet/common';

/** The IANA-assigned VXLAN port (RFC 7348 section 5). */
export const VXLAN_PORT = 4789;
/** Outer IPv4 + UDP + VXLAN + inner Ethernet. */
export const VXLAN_OVERHEAD = 50;

export interface Vtep {
  address: string;
  port: number;
}

export interface VxlanSettings {
  vni: number;
  local: Vtep;
  remotes: Vtep[];
  /** Underlay MTU; the containers' MTU must be at most mtu - 50. */
  mtu: number;
}

/** What `vxlan show` and `status` report of the uplink (declared in the protocol). */
export type VxlanShow = VxlanUplinkInfo;

/** A VNI: 0..16777215 (24 bits). */
export function parseVni(text: string | number): number {
  const s = String(text);
  if (!/^\d{1,8}$/.test(s) || Number(s) > 0xffffff) {
    throw new UsageError(`invalid VXLAN VNI: ${JSON.stringify(s)}`, 'a VNI is a whole number from 0 to 16777215');
  }
  return Number(s);
}

/** ADDR[:PORT], IPv4 only; the port defaults to 4789. */
export function parseVtep(text: string, what = 'VTEP'): Vtep {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? VXLAN_PORT : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(`invalid ${what}: ${JSON.stringify(text)}`, 'give an IPv4 address with an optional UDP port, e.g. 192.0.2.1 or 192.0.2.1:4789');
  }
  let address: string;
  try {
    address = parseIpv4(m[1]!);
  } catch {
    throw new UsageError(`invalid ${what}: ${JSON.stringify(text)}`, 'give an IPv4 address with an optional UDP port, e.g. 192.0.2.1:4789 (IPv6 underlays are not supported)');
  }
  return { address, port };
}

/** A remote may not be a wildcard, broadcast or multicast address. */
export function checkRemote(v: Vtep, text: string): Vtep {
  const first = Number(v.address.split('.')[0]);
  if (v.address === '0.0.0.0' || v.address === '255.255.255.255' || (first >= 224 && first <= 239)) {
    throw new UsageError(`invalid remote VTEP: ${text}`, 'a remote is the unicast address of another VTEP (multicast groups are not supported)');
  }
  return v;
}

export function parseMtu(text: string | number | undefined): number {
  if (text === undefined) return 1500;
  const s = String(text);
  if (!/^\d{1,5}$/.test(s) || Number(s) < 576 || Number(s) > 65535) {
    throw new UsageError(`invalid --vxlan-mtu: ${JSON.stringify(s)}`, 'the underlay MTU is a whole number from 576 to 65535');
  }
  return Number(s);
}

export function formatVtep(v: Vtep): string {
  return `${v.address}:${v.port}`;
}

/** Datapath errno codes -> errors a user can act on. */
export function vxlanError(err: unknown, what: string): ContainetError {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'EADDRINUSE':
      return new ContainetError('CN_VXLAN_ADDRESS_IN_USE', `cannot bind the VXLAN socket to ${what}: the UDP port is in use`, {
        hint: 'another VTEP (a kernel vxlan device, another containet) uses it; pick another --vxlan-local port',
        cause: err,
      });
    case 'EADDRNOTAVAIL':
      return new ContainetError('CN_VXLAN_BAD_LOCAL', `cannot bind the VXLAN socket to ${what}: no such local address`, {
        hint: "--vxlan-local must be an address of this host (or 0.0.0.0), in the daemon's network namespace",
        cause: err,
      });
    case 'EEXIST':
      return new ContainetError('CN_VXLAN_REMOTE_EXISTS', `remote VTEP ${what} is already configured`, { cause: err });
    case 'ENOENT':
      return new ContainetError('CN_VXLAN_NO_SUCH_REMOTE', `no remote VTEP ${what} on this uplink`, {
        hint: 'list remotes with: containet vxlan show',
        cause: err,
      });
    case 'ENOSPC':
      return new ContainetError('CN_VXLAN_REMOTES_FULL', `cannot add ${what}: the uplink has its maximum of remotes`, { cause: err });
    case 'EINVAL':
      return new ContainetError('CN_BAD_REQUEST', `invalid VXLAN setting: ${what}`, { cause: err });
    default:
      return err instanceof ContainetError ? err : new ContainetError('CN_VXLAN', `VXLAN ${what}: ${(err as Error).message}`, { cause: err });
  }
}
