/** IP addresses and MACs as the CLIs accept and print them. */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Address4 as Address4Type, Address6 as Address6Type } from 'ip-address';
import { UsageError } from './errors.js';

// ip-address costs ~40 ms to load; every CLI imports this module, most never
// parse an address, so it is loaded on first use (containode-oci's start-up time budget).
interface IpAddressModule {
  Address4: typeof Address4Type;
  Address6: typeof Address6Type;
}
let ipAddress: IpAddressModule | undefined;
function lib(): IpAddressModule {
  ipAddress ??= createRequire(import.meta.url)('ip-address') as IpAddressModule;
  return ipAddress;
}


export interface Ipv4Cidr {
  address: string;
  prefix: number;
  /** address/prefix */
  cidr: string;
}

/**
 * Classful default prefix (RFC 791 classes) for an address given without a
 * mask, as the original containode did: A /8, B /16, C /24.
 */
export function classfulPrefix(address: string): number {
  const first = Number(address.split('.')[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  throw new UsageError(`${address} is a class D/E (multicast or reserved) address and has no default mask`, 'give a prefix, e.g. 10.0.0.2/24');
}

export function parseIpv4Cidr(text: string): Ipv4Cidr {
  const [addr = '', mask, extra] = text.split('/');
  if (extra !== undefined || !lib().Address4.isValid(addr) || addr.split('.').length !== 4) {
    throw new UsageError(`invalid IPv4 address: ${text}`, 'use ADDR[/PREFIX], e.g. 10.0.0.2/24');
  }
  const address = new (lib().Address4)(addr).correctForm();
  let prefix: number;
  if (mask === undefined) prefix = classfulPrefix(address);
  else if (/^\d{1,2}$/.test(mask) && Number(mask) <= 32) prefix = Number(mask);
  else if (lib().Address4.isValid(mask) && mask.split('.').length === 4) prefix = netmaskToPrefix(mask, text);
  else throw new UsageError(`invalid IPv4 prefix in ${text}`, 'the prefix is 0..32 or a dotted netmask such as 255.255.255.0');
  if (prefix === 0 || address === '0.0.0.0') {
    throw new UsageError(`unusable IPv4 address for an interface: ${text}`, 'use a host address with a prefix of 1..32');
  }
  return { address, prefix, cidr: `${address}/${prefix}` };
}

function netmaskToPrefix(mask: string, text: string): number {
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  if (!/^1*0*$/.test(bits)) throw new UsageError(`non-contiguous netmask in ${text}`);
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}

export interface Ipv6Cidr {
  address: string;
  prefix: number;
  cidr: string;
}

export function parseIpv6Cidr(text: string): Ipv6Cidr {
  const [addr = '', mask, extra] = text.split('/');
  if (extra !== undefined || !lib().Address6.isValid(addr)) {
    throw new UsageError(`invalid IPv6 address: ${text}`, 'use ADDR/PREFIX, e.g. fd00::2/64');
  }
  const prefix = mask === undefined ? 64 : Number(mask);
  if (mask !== undefined && (!/^\d{1,3}$/.test(mask) || prefix > 128 || prefix === 0)) {
    throw new UsageError(`invalid IPv6 prefix in ${text}`, 'the prefix is 1..128');
  }
  const address = new (lib().Address6)(addr).correctForm();
  return { address, prefix, cidr: `${address}/${prefix}` };
}

export function parseIpv4(text: string): string {
  if (!lib().Address4.isValid(text) || text.includes('/') || text.split('.').length !== 4) {
    throw new UsageError(`invalid IPv4 address: ${text}`);
  }
  return new (lib().Address4)(text).correctForm();
}

/** Whether an IPv4 address lies in address/prefix. */
export function ipv4InSubnet(address: string, cidr: string): boolean {
  return new (lib().Address4)(address).isInSubnet(new (lib().Address4)(cidr));
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function parseMac(text: string): Buffer {
  const lower = text.toLowerCase().replace(/-/g, ':');
  if (!MAC_RE.test(lower)) throw new UsageError(`invalid MAC address: ${text}`, 'use six hex octets, e.g. 02:00:00:00:00:01');
  return Buffer.from(lower.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast MAC (IEEE 802: bit 1 set, bit 0 clear). */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return formatMac(b);
}

/** The network of an address/prefix, e.g. 10.0.0.7/24 -> 10.0.0.0/24. */
export function ipv4Network(cidr: Ipv4Cidr): string {
  return `${new (lib().Address4)(cidr.cidr).startAddress().correctForm()}/${cidr.prefix}`;
}
