/**
 * From a checked topology to what deploy makes, with nothing started: the
 * switches (the management one, one per bridge node, one for every
 * point-to-point link, a VLAN each), each node's container and the ports of its
 * interfaces, the host's taps, the management addresses and /etc/hosts.
 * Pure, so that what a file means can be tested without root.
 */
import { join, dirname, resolve } from 'node:path';
import { stateDir, type LinkImpairment } from '@containet/common';
import { HOST_NODE, TopologyError, type LabLink, type LabNode, type LabTopology } from './topology.js';
import { contains, formatSubnet, intToIpv4, ipv4ToInt, subnetSize, type Subnet } from './mgmt-subnet.js';

/** Where labs keep their sockets, switch logs and records: STATE/labs (tmpfs /run: gone at reboot, as the processes are). */
export const LABS_RUN_DIR = join(stateDir(), 'labs');

export interface SwitchPlan {
  /** `mgmt`, `bridge-N` or `links`: its socket's name in the lab's run directory. */
  id: string;
  kind: 'mgmt' | 'bridge' | 'link';
  socket: string;
  /** The bridge node's name, or the link's endpoints. */
  label: string;
  /** The host's port on it (ADDR/PREFIX): the management gateway. */
  hostAddress?: string | undefined;
}

/** An interface of a node or of the host, plugged into one switch port. */
export interface PortPlan {
  switchId: string;
  /** The port's node on the switch: the container's name, or `host`. */
  attachNode: string;
  ifname: string;
  mac?: string | undefined;
  mtu?: number | undefined;
  vlan?: number | undefined;
  impair?: LinkImpairment | undefined;
}

export interface NodePlan {
  name: string;
  /** PREFIX-LAB-NAME: the containode identity (and hostname). */
  container: string;
  spec: LabNode;
  /** eth0 on the management switch, ADDR/PREFIX. */
  mgmtAddress: string;
  /** eth1...: the data interfaces. */
  interfaces: PortPlan[];
  /** Absolute sources of `binds` (relative ones are relative to the topology file). */
  binds: Array<{ source: string; target: string; readonly: boolean }>;
}

/** The switch of every point-to-point link of a lab. */
export const LINKS_SWITCH = 'links';
/** The VLAN of the first point-to-point link on it (VLAN 1 is every switch's default: never a link's). */
const FIRST_LINK_VLAN = 2;

export interface LinkPlan {
  switchId: string;
  /** The link's VLAN on its switch (point-to-point links: their own; bridge links: vars.vlan). */
  vlan?: number | undefined;
  endpoints: [{ node: string; ifname: string }, { node: string; ifname: string }];
  place: string;
}

export interface LabPlan {
  name: string;
  /** The topology file, absolute. */
  file: string;
  /** clab-NAME next to the file: generated files (hosts, hooks, node roots' changes). */
  dir: string;
  /** LABS_RUN_DIR/NAME: sockets, switch logs, the record. */
  runDir: string;
  subnet: string;
  gateway: string;
  switches: SwitchPlan[];
  nodes: NodePlan[];
  /** Switch nodes (bridge, ovs-bridge) and the host: drawn, not started as containers. */
  others: Array<{ name: string; kind: string; switchId?: string | undefined }>;
  hostTaps: PortPlan[];
  links: LinkPlan[];
  /** The /etc/hosts every node gets. */
  hosts: string;
}

export function containerName(topo: LabTopology, node: string): string {
  return topo.prefix === '' ? node : `${topo.prefix}-${topo.name}-${node}`;
}

export function labDirFor(file: string, name: string): string {
  return join(dirname(resolve(file)), `clab-${name}`);
}

export function runDirFor(name: string): string {
  return join(LABS_RUN_DIR, name);
}

/** The plan of `topo` with its management network on `subnet`. */
export function planLab(topo: LabTopology, subnet: Subnet): LabPlan {
  const runDir = runDirFor(topo.name);
  const gateway = intToIpv4(subnet.network + 1);
  const sock = (id: string): string => join(runDir, `${id}.sock`);
  const switches: SwitchPlan[] = [{ id: 'mgmt', kind: 'mgmt', socket: sock('mgmt'), label: `management ${formatSubnet(subnet)}`, hostAddress: `${gateway}/${subnet.prefix}` }];
  const others: LabPlan['others'] = [];
  const bridgeOf = new Map<string, string>();
  for (const n of topo.nodes) {
    if (n.kind === 'bridge' || n.kind === 'ovs-bridge') {
      const id = `bridge-${bridgeOf.size + 1}`;
      bridgeOf.set(n.name, id);
      switches.push({ id, kind: 'bridge', socket: sock(id), label: n.name });
      others.push({ name: n.name, kind: n.kind, switchId: id });
    } else if (n.kind === 'host') {
      others.push({ name: n.name, kind: 'host' });
    }
  }
  const linux = topo.nodes.filter((n) => n.kind === 'linux');
  const mgmt = assignMgmtAddresses(linux, subnet);
  const nodes = new Map<string, NodePlan>(
    linux.map((n) => [
      n.name,
      { name: n.name, container: containerName(topo, n.name), spec: n, mgmtAddress: `${mgmt.get(n.name)!}/${subnet.prefix}`, interfaces: [], binds: n.binds.map((b) => parseBind(b, topo.file)) },
    ]),
  );
  const hostNames = new Set([HOST_NODE, ...topo.nodes.filter((n) => n.kind === 'host').map((n) => n.name)]);
  const isHost = (node: string): boolean => hostNames.has(node) && !nodes.has(node) && !bridgeOf.has(node);
  const hostTaps: PortPlan[] = [];
  const links: LinkPlan[] = [];
  let wires = 0;
  for (const link of topo.links) {
    const bridge = link.endpoints.map((e) => bridgeOf.get(e.node)).find((b) => b !== undefined);
    // Point-to-point links share one switch, each link an access VLAN of
    // its own (IEEE 802.1Q: frames never cross VLANs), so that a lab costs a
    // switch daemon per bridge, not per link.
    const switchId = bridge ?? LINKS_SWITCH;
    let vlan = link.vars.vlan;
    if (!bridge) {
      if (++wires === 1) switches.push({ id: LINKS_SWITCH, kind: 'link', socket: sock(LINKS_SWITCH), label: 'point-to-point links, a VLAN each' });
      vlan = FIRST_LINK_VLAN + wires - 1;
      if (vlan > 4094) throw new TopologyError(`${link.place}: topology.links: more than ${4094 - FIRST_LINK_VLAN + 1} point-to-point links`, 'connect some of the nodes through a bridge node');
    }
    links.push({ switchId, vlan, endpoints: [{ node: link.endpoints[0].node, ifname: link.endpoints[0].ifname }, { node: link.endpoints[1].node, ifname: link.endpoints[1].ifname }], place: link.place });
    let impairSet = false;
    for (const ep of link.endpoints) {
      if (bridgeOf.has(ep.node)) continue; // a bridge's endpoint names its port: the other side's
      const port: PortPlan = { switchId, attachNode: isHost(ep.node) ? HOST_NODE : nodes.get(ep.node)!.container, ifname: ep.ifname, mac: ep.mac, mtu: link.mtu };
      // A link's impairments act once per frame: on the first port, both directions (each frame crosses it once).
      if (!impairSet && link.vars.impair) {
        port.impair = link.vars.impair;
        impairSet = true;
      }
      if (vlan !== undefined) port.vlan = vlan;
      if (isHost(ep.node)) hostTaps.push(port);
      else nodes.get(ep.node)!.interfaces.push(port);
    }
  }
  checkHostTapNames(hostTaps, topo.links);
  const plan: LabPlan = {
    name: topo.name,
    file: resolve(topo.file),
    dir: labDirFor(topo.file, topo.name),
    runDir,
    subnet: formatSubnet(subnet),
    gateway,
    switches,
    nodes: [...nodes.values()],
    others,
    hostTaps,
    links,
    hosts: '',
  };
  plan.hosts = hostsFile(plan);
  return plan;
}

function assignMgmtAddresses(nodes: LabNode[], subnet: Subnet): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Map<number, LabNode>();
  const first = subnet.network + 2; // .0 the network, .1 the host (gateway)
  const last = subnet.network + subnetSize(subnet) - 2; // the broadcast address is last + 1
  for (const n of nodes) {
    if (n.mgmtIpv4 === undefined) continue;
    const a = ipv4ToInt(n.mgmtIpv4);
    const where = `${n.place}: topology.nodes.${n.name}.mgmt-ipv4`;
    if (!contains(subnet, n.mgmtIpv4) || a < first || a > last) {
      throw new TopologyError(`${where}: ${n.mgmtIpv4} is not a host address of the management subnet ${formatSubnet(subnet)} other than the gateway`, `give an address from ${intToIpv4(first)} to ${intToIpv4(last)}, or set mgmt.ipv4-subnet`);
    }
    const other = taken.get(a);
    if (other) throw new TopologyError(`${where}: ${n.mgmtIpv4} is also ${other.name}'s`, 'give each node its own mgmt-ipv4');
    taken.set(a, n);
    out.set(n.name, n.mgmtIpv4);
  }
  let next = first;
  for (const n of nodes) {
    if (out.has(n.name)) continue;
    while (taken.has(next)) next++;
    if (next > last) throw new TopologyError(`${n.place}: topology.nodes: ${nodes.length} nodes do not fit the management subnet ${formatSubnet(subnet)}`, 'set a larger mgmt.ipv4-subnet, e.g. 172.20.0.0/16');
    taken.set(next, n);
    out.set(n.name, intToIpv4(next++));
  }
  return out;
}

function parseBind(text: string, file: string): NodePlan['binds'][number] {
  const [source = '', target = '', mode] = text.split(':');
  return { source: resolve(dirname(resolve(file)), source), target, readonly: mode === 'ro' };
}

function checkHostTapNames(taps: PortPlan[], links: LabLink[]): void {
  for (const t of taps) {
    // The host's own interfaces are not ours to take over.
    if (/^(lo|eth\d+|en\S+|wl\S+|docker\d*|cnhost\S*)$/.test(t.ifname)) {
      const link = links.find((l) => l.endpoints.some((e) => e.ifname === t.ifname))!;
      throw new TopologyError(`${link.place}: host:${t.ifname}: that name is for the host's own interfaces`, 'name the host end of a lab link after the lab, e.g. host:lab1-n1');
    }
  }
}

/** Every node's management address under its name and its container's name. */
function hostsFile(plan: LabPlan): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `# containet lab ${plan.name}`];
  for (const n of plan.nodes) lines.push(`${n.mgmtAddress.split('/')[0]}\t${n.container} ${n.name}`);
  return lines.join('\n') + '\n';
}
