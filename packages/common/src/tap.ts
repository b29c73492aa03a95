/** Tap devices (/dev/net/tun) in the calling thread's network namespace. */
import { check } from './errors.js';
import { native } from './native.js';

export const TAP_VNET_HDR = 0x1;
/** IFF_VNET_HDR as TUNGETIFF reports it (linux/if_tun.h). */
export const IFF_VNET_HDR = 0x4000;

export interface TapDevice {
  fd: number;
  name: string;
}

function cString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return Buffer.from(buf.subarray(0, end < 0 ? buf.length : end)).toString('utf8');
}

/**
 * Create tap `name` (IFF_TAP|IFF_NO_PI; with vnetHdr, IFF_VNET_HDR with the
 * 12-byte header). An empty name lets the kernel pick tapN.
 */
export function openTap(name: string, opts: { vnetHdr?: boolean } = {}): TapDevice {
  const out = Buffer.alloc(16);
  const fd = check(
    Number(native().cn_tap_open(name === '' ? null : name, opts.vnetHdr ? TAP_VNET_HDR : 0, out)),
    'ioctl(TUNSETIFF)',
    name || '/dev/net/tun',
  );
  return { fd, name: cString(out) };
}

export interface TapInfo {
  name: string;
  vnetHdr: boolean;
}

/** Check that `fd` is a tap device; throws (ENOTTY/EBADFD/EINVAL) when not. */
export function tapInfo(fd: number): TapInfo {
  const out = Buffer.alloc(16);
  const flags = [0];
  check(Number(native().cn_tap_info(fd, out, flags)), 'ioctl(TUNGETIFF)');
  return { name: cString(out), vnetHdr: ((flags[0] ?? 0) & IFF_VNET_HDR) !== 0 };
}
