/**
 * The request configuration a runtime writes on stdin (SPEC.md, section 3
 * "Deriving request configuration"), decoded into NetConf or a CniError
 * naming the field: 6 when it is not JSON, 1 for a cniVersion this plugin
 * does not speak, 7 for a field with a wrong value.
 */
import { parseBandwidth, type Bandwidth } from './bandwidth.js';
import { CniError, CNI_ERR } from './errors.js';
import type { CniDns, CniResult } from './result.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from './versions.js';

export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  /** Network name. */
  name: string;
  type: string;
  /** The containet switch's control socket. */
  socket: string | undefined;
  /** MTU of the interface in the container (default 1500). */
  mtu: number | undefined;
  /** A fixed MAC (or runtimeConfig.mac, or CNI_ARGS MAC=). */
  mac: string | undefined;
  /** The IPAM plugin's type, when addresses are delegated. */
  ipamType: string | undefined;
  dns: CniDns | undefined;
  prevResult: CniResult | undefined;
  validAttachments: ValidAttachment[] | undefined;
  /** Shaping from the `bandwidth` capability (or the same fields in the configuration). */
  bandwidth: Bandwidth | undefined;
  /** The whole configuration as it came, for delegated plugins (SPEC.md, section 4). */
  raw: Record<string, unknown>;
}

// SPEC.md, section 1: network names.
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function bad(field: string, value: unknown, what: string): CniError {
  return new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `"${field}" must be ${what}`, `${field}: ${JSON.stringify(value)}`);
}

function optString(o: Record<string, unknown>, key: string, at = key): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw bad(at, v, 'a non-empty string');
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Only the version, for VERSION (whose input has nothing else). */
export function parseVersionOnly(text: string): string | undefined {
  try {
    const o = JSON.parse(text) as unknown;
    return isObject(o) && typeof o['cniVersion'] === 'string' ? o['cniVersion'] : undefined;
  } catch {
    return undefined;
  }
}

/** The cniVersion to answer an error in: the request's, when it has one. */
export function errorVersion(text: string): string | undefined {
  return parseVersionOnly(text);
}

export function parseNetConf(text: string): NetConf {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERR.DECODING_FAILURE, 'the network configuration on stdin is not JSON', (err as Error).message);
  }
  if (!isObject(o)) throw new CniError(CNI_ERR.DECODING_FAILURE, 'the network configuration on stdin is not a JSON object', text.slice(0, 200));
  const cniVersion = o['cniVersion'];
  if (typeof cniVersion !== 'string') throw bad('cniVersion', cniVersion, 'a version string such as "1.1.0"');
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `CNI version ${cniVersion} is not supported`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const name = o['name'];
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) throw bad('name', name, 'a network name (a letter or digit, then letters, digits, "_", "." or "-")');
  const type = optString(o, 'type') ?? 'containet';
  const socket = optString(o, 'socket');
  if (socket !== undefined && !socket.startsWith('/')) throw bad('socket', socket, "the absolute path of a containet switch's control socket");
  const mtuRaw = o['mtu'];
  let mtu: number | undefined;
  if (mtuRaw !== undefined) {
    if (typeof mtuRaw !== 'number' || !Number.isInteger(mtuRaw) || mtuRaw < 68 || mtuRaw > 65521) throw bad('mtu', mtuRaw, 'a whole number from 68 to 65521');
    mtu = mtuRaw;
  }
  let mac = optString(o, 'mac');
  const runtimeConfig = o['runtimeConfig'];
  if (isObject(runtimeConfig)) mac = optString(runtimeConfig, 'mac', 'runtimeConfig.mac') ?? mac;
  const bandwidth = parseBandwidth(o, isObject(runtimeConfig) ? runtimeConfig : undefined);
  if (mac !== undefined && !MAC.test(mac)) throw bad('mac', mac, 'a MAC address as aa:bb:cc:dd:ee:ff');
  let ipamType: string | undefined;
  const ipam = o['ipam'];
  if (ipam !== undefined) {
    if (!isObject(ipam)) throw bad('ipam', ipam, 'an object');
    ipamType = optString(ipam, 'type', 'ipam.type');
    if (ipamType !== undefined && ipamType.includes('/')) throw bad('ipam.type', ipamType, 'a plugin name without "/"');
  }
  const dns = o['dns'];
  if (dns !== undefined && !isObject(dns)) throw bad('dns', dns, 'an object');
  const prev = o['prevResult'];
  if (prev !== undefined && prev !== null && !isObject(prev)) throw bad('prevResult', prev, 'a result object');
  const va = o['cni.dev/valid-attachments'];
  let validAttachments: ValidAttachment[] | undefined;
  if (va !== undefined) {
    if (!Array.isArray(va)) throw bad('cni.dev/valid-attachments', va, 'a list of {containerID, ifname}');
    validAttachments = va.map((a, i) => {
      if (!isObject(a) || typeof a['containerID'] !== 'string' || typeof a['ifname'] !== 'string') {
        throw bad(`cni.dev/valid-attachments[${i}]`, a, 'an object with string containerID and ifname');
      }
      return { containerID: a['containerID'], ifname: a['ifname'] };
    });
  }
  return {
    cniVersion,
    name,
    type,
    socket,
    mtu,
    mac,
    ipamType,
    dns: dns as CniDns | undefined,
    prevResult: (prev ?? undefined) as CniResult | undefined,
    validAttachments,
    bandwidth,
    raw: o,
  };
}
