/**
 * What the daemon checks in a decoded request beyond its shape (which
 * protocol-decode.ts in common has checked): a valid node identity and
 * interface name, a MAC, a capture's snaplen, VTEP addresses. Throws
 * CN_BAD_REQUEST naming the field.
 */
import {
  ContainetError,
  validateIdentity,
  type AttachRequest,
  type CaptureRequest,
  type PortSetRequest,
  type VxlanAddRequest,
} from '@containet/common';
import { normaliseMac, type AttachSpec, type PortChange } from './switch.js';
import { checkImpairment, checkVlan } from './port-settings.js';
import { checkRemote, parseMtu, parseVni, parseVtep, type VxlanSettings } from './vxlan.js';

export function badRequest(message: string, hint?: string): ContainetError {
  return new ContainetError('CN_BAD_REQUEST', message, hint ? { hint } : {});
}

/** An attach request's metadata as the switch takes it; throws CN_BAD_REQUEST. */
export function parseAttach(req: Omit<AttachRequest, 'op' | 'id'>): AttachSpec & { persist: boolean } {
  try {
    validateIdentity(req.node);
  } catch (err) {
    throw badRequest((err as Error).message, (err as ContainetError).hint);
  }
  const ifname = req.ifname ?? 'eth0';
  if (ifname.length === 0 || ifname.length > 15 || /[\s/:]/.test(ifname)) throw badRequest(`invalid interface name ${JSON.stringify(ifname)}`);
  if (req.pid !== undefined && req.pid <= 0) throw badRequest('"pid" must be a positive integer');
  for (const a of req.addresses ?? []) if (a.length > 64) throw badRequest(`address ${JSON.stringify(a.slice(0, 64))}... is too long`);
  return {
    node: req.node,
    ifname,
    mac: req.mac === undefined ? undefined : normaliseMac(req.mac),
    addresses: req.addresses,
    pid: req.pid,
    persist: req.persist === true,
    vlan: req.vlan === undefined ? undefined : checkVlan(req.vlan),
  };
}

/** A port-set request as a checked change; throws CN_BAD_REQUEST naming the value, before anything changes. */
export function parsePortSet(req: Omit<PortSetRequest, 'op' | 'id'>): PortChange {
  if (req.impair !== undefined && req.clear === true) throw badRequest('give impairments or clear, not both');
  if (req.vlan === undefined && req.impair === undefined && req.clear !== true) {
    throw badRequest('port-set changes nothing', 'give a VLAN (vlan), impairments (impair) or clear');
  }
  if (req.direction !== undefined && req.impair === undefined && req.clear !== true) throw badRequest('"direction" applies to impairments or clear only');
  return {
    vlan: req.vlan === undefined ? undefined : checkVlan(req.vlan),
    direction: req.direction,
    // An impairment that impairs nothing (all zero) is none: cleared.
    impair: req.clear === true ? null : req.impair === undefined ? undefined : (checkImpairment(req.impair) ?? null),
  };
}

/** A port id, a node identity, or 0 for `all`, as given in a request. */
export function portSelector(which: number | string, allowAll: boolean): number | string {
  if (allowAll && which === 'all') return 0;
  if (which === '') throw badRequest('"port" must be a port id or a node identity');
  return typeof which === 'string' && /^\d+$/.test(which) ? Number(which) : which;
}

/** A capture's snaplen: 64..262144 bytes, all of a frame by default. */
export function captureSnaplen(req: CaptureRequest): number {
  const snaplen = req.snaplen ?? 262144;
  if (snaplen < 64 || snaplen > 262144) throw badRequest('"snaplen" must be a whole number from 64 to 262144');
  return snaplen;
}

/** A vxlan-add request as settings; throws CN_USAGE from the vxlan parsers. */
export function vxlanAddSettings(req: VxlanAddRequest): VxlanSettings {
  return {
    vni: parseVni(req.vni),
    local: parseVtep(req.local, 'local VTEP'),
    mtu: parseMtu(req.mtu),
    remotes: (req.remotes ?? []).map((r) => checkRemote(parseVtep(r, 'remote VTEP'), r)),
  };
}

/** A remote VTEP to add (unicast ADDR[:PORT]). */
export function remoteToAdd(text: string) {
  return checkRemote(parseVtep(text, 'remote VTEP'), text);
}
