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
 *
 * More interfaces: `containet.net.N` (N a number; in N's order, after
 * containet.socket's eth0) takes what containode's --net takes,
 * `SOCK[,if=NAME][,ip=ADDR/LEN][,ip6=ADDR/LEN][,mac=MAC][,mtu=N]
 * [,vlan=ID|trunk=ID:ID...[,native=ID]]` (../container/net-option.ts);
 * unnamed ones are the next free ethN. containet.gateway goes via the
 * interface whose subnet holds it. Each interface is attached as eth0 is
 * (persistent ports, or all held by the keeper with containet.reattach).
 */
import { ContainetError } from '@containet/common';
import type { PortVlan } from '@containet/common';
import type { NetworkSpec } from '../runtime/spec.js';
import type { InterfaceOptions } from '../container/net-option.js';

/** One interface of the container on a switch. */
export interface PlannedInterface {
  ifname: string;
  socket: string;
  mac: string;
  addresses: string[];
  vlan?: PortVlan | undefined;
}

export interface SwitchPlan {
  /** containet.socket's eth0 first, then containet.net.N in N's order. */
  interfaces: PlannedInterface[];
  /** Every address of every interface (the record's `addresses`). */
  addresses: string[];
  network: NetworkSpec;
  /** A keeper process re-attaches the ports after a switch restart. */
  reattach: boolean;
}

const PREFIX = 'containet.';
const KNOWN = ['containet.socket', 'containet.ipv4', 'containet.ipv6', 'containet.gateway', 'containet.mac', 'containet.reattach'];
const NET_KEY = /^containet\.net\.(\d{1,6})$/;

function configError(key: string, err: unknown): ContainetError {
  return new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${key}: ${(err as Error).message}`, { hint: (err as ContainetError).hint });
}

/** The switch attachments the annotations ask for, or undefined. */
export async function planSwitch(annotations: Record<string, string> | undefined, newNetns: boolean): Promise<SwitchPlan | undefined> {
  const a = annotations ?? {};
  const keys = Object.keys(a).filter((k) => k.startsWith(PREFIX));
  if (keys.length === 0) return undefined;
  for (const k of keys) {
    if (!KNOWN.includes(k) && !NET_KEY.test(k)) {
      throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${k}: unknown containet annotation`, {
        hint: `known: ${KNOWN.join(', ')}, containet.net.N`,
      });
    }
  }
  const reattach = a['containet.reattach'] ?? 'false';
  if (reattach !== 'true' && reattach !== 'false') throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.containet.reattach: ${reattach} is not "true" or "false"`);
  const netKeys = keys.filter((k) => NET_KEY.test(k)).sort((x, y) => Number(NET_KEY.exec(x)![1]) - Number(NET_KEY.exec(y)![1]));
  const socket = a['containet.socket'];
  if (!socket && !netKeys.length) {
    throw new ContainetError('CN_OCI_CONFIG', 'config.json: annotations: containet.* addresses need containet.socket (the switch control socket) or containet.net.N');
  }
  if (!newNetns) {
    throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${socket ? 'containet.socket' : netKeys[0]!} needs a new network namespace`, { hint: 'add {"type": "network"} (without a path) to linux.namespaces' });
  }
  const { parseIpv4Cidr, parseIpv6Cidr, parseIpv4, parseMac, formatMac, randomMac } = await import('@containet/common');
  const { nameInterfaces, parseNetOption, routeOf } = await import('../container/net-option.js');
  const wrap = <T>(key: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw configError(key, err);
    }
  };
  for (const k of ['containet.ipv4', 'containet.ipv6', 'containet.mac']) {
    if (a[k] && !socket) throw new ContainetError('CN_OCI_CONFIG', `config.json: annotations.${k} needs containet.socket (it describes its eth0)`, { hint: 'give ip=, ip6= or mac= in containet.net.N' });
  }
  for (const k of netKeys) wrap(k, () => parseNetOption(a[k]!));
  let eth0: InterfaceOptions | undefined;
  if (socket) {
    const addresses: string[] = [];
    if (a['containet.ipv4']) addresses.push(wrap('containet.ipv4', () => parseIpv4Cidr(a['containet.ipv4']!).cidr));
    if (a['containet.ipv6']) addresses.push(wrap('containet.ipv6', () => parseIpv6Cidr(a['containet.ipv6']!).cidr));
    const mac = a['containet.mac'] ? wrap('containet.mac', () => formatMac(parseMac(a['containet.mac']!))) : undefined;
    eth0 = { socket, ifname: 'eth0', addresses, mac, mtu: undefined, vlan: undefined };
  }
  const named = wrap(netKeys.length ? 'containet.net' : 'containet.socket', () => nameInterfaces(eth0, netKeys.map((k) => a[k]!)));
  const gw = a['containet.gateway'];
  const routes = gw
    ? [wrap('containet.gateway', () => routeOf(gw.includes(':') ? parseIpv6Cidr(gw).address : parseIpv4(gw), named, !netKeys.length))]
    : [];
  const interfaces = named.map((i) => ({ ifname: i.ifname, socket: i.socket, mac: i.mac ?? randomMac(), addresses: i.addresses, mtu: i.mtu, vlan: i.vlan }));
  return {
    interfaces: interfaces.map(({ mtu: _mtu, ...i }) => i),
    addresses: interfaces.flatMap((i) => i.addresses),
    network: { taps: interfaces.map((i) => ({ ifname: i.ifname, mac: i.mac, mtu: i.mtu, addresses: i.addresses })), routes },
    reattach: reattach === 'true',
  };
}
