/**
 * Annotations that plug the container into a containet switch, as
 * containode -s/-4 does: `containet.socket` (control socket), and
 * optionally `containet.ipv4` (ADDR[/MASK]), `containet.ipv6`
 * (ADDR/PREFIX), `containet.gateway` (default route, v4 or v6),
 * `containet.mac`, and `containet.reattach` ("true" or "false", default
 * false: see below). The spawner creates the tap eth0 inside the new network
 * namespace; create attaches it through the one attach path
 * (../container/switch-link.ts) with `persist: true`, since nothing of this
 * runtime stays connected after create returns; `delete` detaches the port
 * (the switch's tap fd would otherwise keep the netns alive).
 *
 * Such a port goes with the switch: after a switch restart the container
 * has no eth0 peer. With `containet.reattach: "true"` a small keeper
 * process (oci/commands/switch-link.ts) holds the tap instead, attached
 * with `persist: false`, and re-attaches it to the new switch as containode
 * does; it ends with the container's init, or at delete.
 */
import { ContainetError } from '@containet/common';
import type { NetworkSpec } from '../runtime/spec.js';

export interface SwitchPlan {
  socket: string;
  mac: string;
  addresses: string[];
  network: NetworkSpec;
  /** A keeper process re-attaches the port after a switch restart. */
  reattach: boolean;
}

const PREFIX = 'containet.';

/** The switch attachment the annotations ask for, or undefined. */
export async function planSwitch(annotations: Record<string, string> | undefined, newNetns: boolean): Promise<SwitchPlan | undefined> {
  const a = annotations ?? {};
  const keys = Object.keys(a).filter((k) => k.startsWith(PREFIX));
  if (keys.length === 0) return undefined;
  for (const k of keys) {
    if (!['containet.socket', 'containet.ipv4', 'containet.ipv6', 'containet.gateway', 'containet.mac', 'containet.reattach'].includes(k)) {
      throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${k}: unknown containet annotation`, {
        hint: 'known: containet.socket, containet.ipv4, containet.ipv6, containet.gateway, containet.mac, containet.reattach',
      });
    }
  }
  const reattach = a['containet.reattach'] ?? 'false';
  if (reattach !== 'true' && reattach !== 'false') throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.containet.reattach: ${reattach} is not "true" or "false"`);
  const socket = a['containet.socket'];
  if (!socket) {
    throw new ContainetError('CN_OCI_CONFIG', 'config.json: annotations: containet.* addresses need containet.socket (the switch control socket)');
  }
  if (!newNetns) {
    throw new ContainetError('CN_OCI_CONFIG', 'config.json: annotations.containet.socket needs a new network namespace', { hint: 'add {"type": "network"} (without a path) to linux.namespaces' });
  }
  const { parseIpv4Cidr, parseIpv6Cidr, parseIpv4, parseMac, formatMac, randomMac } = await import('@containet/common');
  const addresses: string[] = [];
  const wrap = <T>(key: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${key}: ${(err as Error).message}`);
    }
  };
  if (a['containet.ipv4']) addresses.push(wrap('containet.ipv4', () => parseIpv4Cidr(a['containet.ipv4']!).cidr));
  if (a['containet.ipv6']) addresses.push(wrap('containet.ipv6', () => parseIpv6Cidr(a['containet.ipv6']!).cidr));
  const gateways: string[] = [];
  const gw = a['containet.gateway'];
  if (gw) gateways.push(wrap('containet.gateway', () => (gw.includes(':') ? parseIpv6Cidr(gw).address : parseIpv4(gw))));
  const mac = a['containet.mac'] ? wrap('containet.mac', () => formatMac(parseMac(a['containet.mac']!))) : randomMac();
  return {
    socket,
    mac,
    addresses,
    network: { taps: [{ ifname: 'eth0', mac, addresses }], routes: gateways.map((gateway) => ({ ifname: 'eth0', gateway })) },
    reattach: reattach === 'true',
  };
}
