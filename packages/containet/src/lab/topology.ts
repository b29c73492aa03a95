/**
 * A lab's topology: containerlab's file format (https://containerlab.dev/manual/topo-def-file/),
 * the subset that makes sense without Docker, read into one checked object.
 * Anything the file says that labs do not do (a vendor router kind, an
 * unknown field, a link to a node that does not exist, an interface used
 * twice) is refused here, naming its place, before anything starts.
 *
 * Our extensions live under link `vars` (containerlab keeps `vars` for
 * user data, so a file stays valid for containerlab): delay, jitter, loss,
 * rate (tc-netem(8) units) and vlan.
 */
import { basename } from 'node:path';
import { parseIpv4Cidr } from '@containet/common';
import { SourceFile, TopologyError, type SourceValue } from './yaml-source.js';
import { parseLinkVars, type LinkVars } from './link-vars.js';
import { formatSubnet, parseSubnet } from './mgmt-subnet.js';

export const NODE_KINDS = ['linux', 'bridge', 'ovs-bridge', 'host'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** Fields a node (and its kind, group and the defaults) may set. */
const NODE_FIELDS = ['kind', 'group', 'image', 'cmd', 'entrypoint', 'env', 'binds', 'exec', 'sysctls', 'labels', 'mgmt-ipv4', 'user', 'memory', 'cpu'] as const;
/** What a switch node (bridge, ovs-bridge) or the host may set. */
const SWITCH_FIELDS = new Set(['kind', 'group', 'labels']);
const TOP_FIELDS = ['name', 'prefix', 'mgmt', 'topology'];
const MGMT_FIELDS = ['network', 'ipv4-subnet'];
const TOPOLOGY_FIELDS = ['defaults', 'kinds', 'groups', 'nodes', 'links'];
const LINK_FIELDS_BRIEF = ['endpoints', 'mtu', 'vars', 'labels'];
const LINK_FIELDS_EXTENDED = ['type', 'endpoints', 'mtu', 'vars', 'labels'];
const ENDPOINT_FIELDS = ['node', 'interface', 'mac'];

/** containerlab's name for the host's own namespace as a link endpoint. */
export const HOST_NODE = 'host';

export interface LabNode {
  name: string;
  kind: NodeKind;
  group?: string | undefined;
  image?: string | undefined;
  cmd?: string | undefined;
  entrypoint?: string | undefined;
  env: Record<string, string>;
  binds: string[];
  exec: string[];
  sysctls: Record<string, string>;
  labels: Record<string, string>;
  mgmtIpv4?: string | undefined;
  user?: string | undefined;
  /** Bytes. */
  memory?: number | undefined;
  cpu?: number | undefined;
  /** FILE:LINE:COL of the node's name. */
  place: string;
}

export interface LabEndpoint {
  node: string;
  ifname: string;
  mac?: string | undefined;
  place: string;
}

export interface LabLink {
  endpoints: [LabEndpoint, LabEndpoint];
  mtu?: number | undefined;
  vars: LinkVars;
  labels: Record<string, string>;
  place: string;
}

export interface LabTopology {
  /** The file as given (for messages) */
  file: string;
  name: string;
  /** Container names are PREFIX-LAB-NODE (containerlab's `clab` unless `prefix` says otherwise). */
  prefix: string;
  mgmt: { network?: string | undefined; ipv4Subnet?: string | undefined };
  nodes: LabNode[];
  links: LabLink[];
}

const LAB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
// IFNAMSIZ is 16 with the terminating NUL (netdevice(7)).
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function checkFields(v: SourceValue, allowed: readonly string[] | Set<string>, what: string): Array<[string, SourceValue]> {
  const list = [...allowed];
  const entries = v.entries(what);
  for (const [key, value] of entries) {
    if (!list.includes(key)) throw value.error('unknown field', `${what} may have: ${list.join(', ')}`);
  }
  return entries;
}

/** Read and check a topology file; throws TopologyError naming the place of the first problem. */
export function readTopology(path: string): LabTopology {
  return parseTopology(SourceFile.read(path, basename(path)), path);
}

export function parseTopologyText(text: string, name = 'topology.clab.yml'): LabTopology {
  return parseTopology(new SourceFile(text, name), name);
}

function parseTopology(src: SourceFile, file: string): LabTopology {
  const root = src.root;
  if (root.isEmpty) throw root.error('the file is empty', 'a topology has `name:` and `topology: {nodes: ..., links: ...}`');
  const top = new Map(checkFields(root, TOP_FIELDS, 'a topology file'));
  const nameV = top.get('name');
  if (!nameV) throw root.error('no `name`', 'give the lab a name: `name: mylab`');
  const name = nameV.string('a lab name');
  if (!LAB_NAME.test(name)) throw nameV.error(`bad lab name ${JSON.stringify(name)}`, 'letters, digits, `-`, `_`, `.`, at most 40, starting with a letter or digit');
  const prefixV = top.get('prefix');
  const prefix = prefixV === undefined ? 'clab' : prefixV.isEmpty ? '' : prefixV.string();
  if (prefix !== '' && prefix !== '__lab-name' && !NODE_NAME.test(prefix)) throw prefixV!.error(`bad prefix ${JSON.stringify(prefix)}`, 'letters, digits, `-`, `_`, `.`');
  const mgmt: LabTopology['mgmt'] = {};
  const mgmtV = top.get('mgmt');
  if (mgmtV && !mgmtV.isEmpty) {
    for (const [k, v] of checkFields(mgmtV, MGMT_FIELDS, 'mgmt')) {
      if (k === 'network') mgmt.network = v.string();
      if (k === 'ipv4-subnet') {
        const text = v.string('an IPv4 subnet');
        let cidr;
        try {
          cidr = parseIpv4Cidr(text);
        } catch {
          throw v.error(`bad IPv4 subnet ${JSON.stringify(text)}`, 'e.g. 172.20.20.0/24');
        }
        if (cidr.prefix > 29 || cidr.prefix < 8) throw v.error(`subnet /${cidr.prefix} out of range`, 'give a prefix from /8 to /29');
        mgmt.ipv4Subnet = formatSubnet(parseSubnet(cidr.cidr));
      }
    }
  }
  const topoV = top.get('topology');
  if (!topoV || topoV.isEmpty) throw root.error('no `topology`', 'add `topology:` with `nodes:` (and `links:`)');
  const topo = new Map(checkFields(topoV, TOPOLOGY_FIELDS, 'topology'));

  const defaults = topo.get('defaults');
  const kinds = new Map<string, SourceValue>();
  const kindsV = topo.get('kinds');
  if (kindsV && !kindsV.isEmpty) {
    for (const [k, v] of kindsV.entries()) {
      checkKind(k, v);
      kinds.set(k, v);
    }
  }
  const groups = new Map<string, SourceValue>();
  const groupsV = topo.get('groups');
  if (groupsV && !groupsV.isEmpty) for (const [g, v] of groupsV.entries()) groups.set(g, v);

  const nodesV = topo.get('nodes');
  if (!nodesV || nodesV.isEmpty) throw topoV.error('no `nodes`', 'list the lab\'s nodes under `topology.nodes`');
  const nodes: LabNode[] = [];
  for (const [nodeName, v] of nodesV.entries('a map of node names to nodes')) {
    if (!NODE_NAME.test(nodeName)) throw v.error(`bad node name ${JSON.stringify(nodeName)}`, 'letters, digits, `-`, `_`, `.`, at most 40');
    nodes.push(readNode(nodeName, v, { defaults, kinds, groups }));
  }
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const linksV = topo.get('links');
  const links: LabLink[] = [];
  const used = new Map<string, string>();
  if (linksV && !linksV.isEmpty) {
    for (const lv of linksV.items('a list of links')) links.push(readLink(lv, byName, used));
  }
  return { file, name, prefix: prefix === '__lab-name' ? name : prefix, mgmt, nodes, links };
}

function checkKind(kind: string, at: SourceValue): NodeKind {
  if ((NODE_KINDS as readonly string[]).includes(kind)) return kind as NodeKind;
  const vendor = /^(nokia_|arista_|juniper_|cisco_|vr-|crpd|ceos|srl|sonic|cumulus|fortinet|paloalto|mikrotik|openbsd|ipinfusion|xrd|vr_|huawei|keysight|ext-container|k8s-kind|rare|checkpoint|dell|6wind|c8000|border0|generic_vm|fdio)/i.test(kind);
  throw at.error(
    `unsupported kind ${JSON.stringify(kind)}${vendor ? ' (a vendor router: it needs its vendor image under Docker)' : ''}`,
    `supported kinds: ${NODE_KINDS.join(', ')} (a Linux router is a linux node with sysctls net.ipv4.ip_forward: 1)`,
  );
}

interface Inherited {
  defaults: SourceValue | undefined;
  kinds: Map<string, SourceValue>;
  groups: Map<string, SourceValue>;
}

/**
 * A node's fields as containerlab resolves them: the node's own, then its
 * group's, its kind's, then the defaults (the first that sets a field wins;
 * env, labels and sysctls are merged key by key in that order).
 */
function readNode(name: string, v: SourceValue, inh: Inherited): LabNode {
  const own = v.isEmpty ? [] : checkFields(v, NODE_FIELDS, `node ${name}`);
  const ownMap = new Map(own);
  const groupV = ownMap.get('group');
  const groupName = groupV?.string();
  let group: Map<string, SourceValue> | undefined;
  if (groupName !== undefined) {
    const g = inh.groups.get(groupName);
    if (!g) throw groupV!.error(`no group ${JSON.stringify(groupName)}`, inh.groups.size ? `groups: ${[...inh.groups.keys()].join(', ')}` : 'define it under topology.groups');
    group = new Map(checkFields(g, NODE_FIELDS, `group ${groupName}`));
  }
  const defaults = inh.defaults && !inh.defaults.isEmpty ? new Map(checkFields(inh.defaults, NODE_FIELDS, 'defaults')) : new Map<string, SourceValue>();
  const kindV = ownMap.get('kind') ?? group?.get('kind') ?? defaults.get('kind');
  if (!kindV) throw v.error('no `kind`', `give the node a kind (${NODE_KINDS.join(', ')}), or set one in its group or the defaults`);
  const kind = checkKind(kindV.string('a kind'), kindV);
  const kindMap = inh.kinds.get(kind);
  const ofKind = kindMap && !kindMap.isEmpty ? new Map(checkFields(kindMap, NODE_FIELDS, `kinds.${kind}`)) : new Map<string, SourceValue>();
  const layers = [ownMap, group ?? new Map<string, SourceValue>(), ofKind, defaults];
  const first = (field: string): SourceValue | undefined => layers.map((l) => l.get(field)).find((x) => x !== undefined && !x.isEmpty);
  const merged = (field: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const l of [...layers].reverse()) {
      const x = l.get(field);
      if (x && !x.isEmpty) for (const [k, val] of x.stringMap()) out[k] = val;
    }
    return out;
  };
  if (kind !== 'linux') {
    // Only the node's own fields: a bridge in a group with images is fine.
    for (const [field, fv] of own) {
      if (!SWITCH_FIELDS.has(field)) throw fv.error(`a ${kind} node takes no ${field}`, `${kind} nodes may have: ${[...SWITCH_FIELDS].join(', ')}`);
    }
    return { name, kind, group: groupName, env: {}, binds: [], exec: [], sysctls: {}, labels: merged('labels'), place: v.place };
  }
  const node: LabNode = {
    name,
    kind,
    group: groupName,
    env: merged('env'),
    binds: first('binds')?.strings() ?? [],
    exec: first('exec')?.strings() ?? [],
    sysctls: merged('sysctls'),
    labels: merged('labels'),
    place: v.place,
  };
  const str = (field: string): string | undefined => first(field)?.string();
  node.image = str('image');
  node.cmd = str('cmd');
  node.entrypoint = str('entrypoint');
  node.user = str('user');
  const ip = first('mgmt-ipv4');
  if (ip) {
    const text = ip.string('an IPv4 address');
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.split('.').some((o) => Number(o) > 255)) throw ip.error(`bad IPv4 address ${JSON.stringify(text)}`, 'an address without prefix, e.g. 172.20.20.10');
    node.mgmtIpv4 = text;
  }
  const mem = first('memory');
  if (mem) node.memory = parseMemory(mem);
  const cpu = first('cpu');
  if (cpu) {
    const n = cpu.number('a number of CPUs');
    if (!(n > 0 && n <= 1024)) throw cpu.error(`bad cpu ${n}`, 'a number of CPUs above 0, e.g. 0.5 or 2');
    node.cpu = n;
  }
  for (const b of first('binds')?.items() ?? []) checkBind(b);
  for (const [k] of Object.entries(node.sysctls)) {
    if (!/^[a-z0-9_.\-/]+$/i.test(k)) throw (first('sysctls') ?? v).error(`bad sysctl name ${JSON.stringify(k)}`, 'e.g. net.ipv4.ip_forward');
  }
  return node;
}

/** containerlab's memory (Docker's units): 512MB, 1Gb, 1GiB, 2g, a number of bytes. */
function parseMemory(v: SourceValue): number {
  const text = v.string('a memory size').trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text);
  if (!m) throw v.error(`bad memory ${JSON.stringify(text)}`, 'a size such as 512MB, 1GiB or 268435456');
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * unit);
  if (bytes < 4 * 1024 * 1024) throw v.error(`memory ${text} is too small`, 'give at least 4MB');
  return bytes;
}

function checkBind(v: SourceValue): void {
  const text = v.string('a bind SRC:DST[:ro|rw]');
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]?.startsWith('/') || (parts[2] !== undefined && !['ro', 'rw'].includes(parts[2]))) {
    throw v.error(`bad bind ${JSON.stringify(text)}`, 'SRC:DST or SRC:DST:ro, DST an absolute path in the node (SRC relative to the topology file)');
  }
}

function readEndpoint(v: SourceValue, brief: boolean, nodes: Map<string, LabNode>): LabEndpoint {
  let node: string;
  let ifname: string;
  let mac: string | undefined;
  if (brief) {
    const text = v.string('an endpoint "node:interface"');
    const i = text.indexOf(':');
    if (i <= 0 || i === text.length - 1) throw v.error(`bad endpoint ${JSON.stringify(text)}`, 'write endpoints as "node:interface", e.g. "r1:eth1"');
    node = text.slice(0, i);
    ifname = text.slice(i + 1);
  } else {
    const f = new Map(checkFields(v, ENDPOINT_FIELDS, 'an endpoint'));
    const n = f.get('node');
    const ifv = f.get('interface');
    if (!n || !ifv) throw v.error('an endpoint needs `node` and `interface`', 'e.g. {node: r1, interface: eth1, mac: 02:00:00:00:01:01}');
    node = n.string();
    ifname = ifv.string();
    const m = f.get('mac');
    if (m) {
      mac = m.string('a MAC address').toLowerCase();
      if (!MAC.test(mac)) throw m.error(`bad MAC ${JSON.stringify(mac)}`, 'six hex bytes separated by colons, e.g. 02:00:00:00:01:01');
      if (parseInt(mac.slice(0, 2), 16) & 1) throw m.error(`MAC ${mac} is a multicast address`, 'the first byte must be even (02:... is a local unicast address)');
    }
  }
  if (node === 'mgmt-net' || node === 'macvlan' || node === 'vxlan' || node === 'vxlan-stitch') {
    throw v.error(`${node} endpoints are not supported`, 'endpoints are linux, bridge or ovs-bridge nodes, or host:IFNAME (a tap on the host)');
  }
  const target = nodes.get(node);
  if (!target && node !== HOST_NODE) {
    throw v.error(`no node ${JSON.stringify(node)}`, `nodes of this lab: ${[...nodes.keys()].join(', ')}`);
  }
  if (!IFNAME.test(ifname)) throw v.error(`bad interface name ${JSON.stringify(ifname)}`, 'at most 15 letters, digits, `-`, `_`, `.` (IFNAMSIZ)');
  if (target?.kind === 'linux' && ifname === 'eth0') {
    throw v.error(`${node}:eth0 is the management interface`, 'data links start at eth1; eth0 is on the lab\'s management network');
  }
  return { node, ifname, mac, place: v.place };
}

function readLink(v: SourceValue, nodes: Map<string, LabNode>, used: Map<string, string>): LabLink {
  const fields = new Map(v.entries('a link'));
  const extended = fields.has('type');
  checkFields(v, extended ? LINK_FIELDS_EXTENDED : LINK_FIELDS_BRIEF, extended ? 'an extended link' : 'a link');
  if (extended) {
    const type = fields.get('type')!.string();
    if (type !== 'veth') throw fields.get('type')!.error(`unsupported link type ${JSON.stringify(type)}`, 'supported: veth (a point-to-point link); or the brief form `endpoints: ["a:eth1", "b:eth1"]`');
  }
  const epV = fields.get('endpoints');
  if (!epV) throw v.error('a link needs `endpoints`', 'e.g. endpoints: ["r1:eth1", "r2:eth1"]');
  const eps = epV.items('a list of two endpoints');
  if (eps.length !== 2) throw epV.error(`a link has two endpoints, found ${eps.length}`, 'e.g. endpoints: ["r1:eth1", "r2:eth1"]');
  const endpoints = eps.map((e) => readEndpoint(e, !extended, nodes)) as [LabEndpoint, LabEndpoint];
  for (const [i, ep] of endpoints.entries()) {
    const key = `${ep.node}:${ep.ifname}`;
    const before = used.get(key);
    if (before) throw eps[i]!.error(`interface ${key} is used twice (first at ${before})`, 'each interface is in one link; give this link another interface, e.g. eth2');
    used.set(key, ep.place);
  }
  const [a, b] = endpoints;
  const kindOf = (e: LabEndpoint): string => (e.node === HOST_NODE && !nodes.has(HOST_NODE) ? 'host' : nodes.get(e.node)!.kind);
  const ka = kindOf(a);
  const kb = kindOf(b);
  const sw = (k: string): boolean => k === 'bridge' || k === 'ovs-bridge';
  if (a.node === b.node) throw epV.error(`a link from ${a.node} to itself`, 'link two different nodes');
  if (sw(ka) && sw(kb)) throw epV.error('a link between two bridges is not supported', 'connect nodes to one bridge, or put a linux node between the bridges');
  if ((ka === 'host' && kb !== 'linux') || (kb === 'host' && ka !== 'linux')) throw epV.error('host links go to a linux node', 'e.g. endpoints: ["host:lab1", "n1:eth1"]');
  let mtu: number | undefined;
  const mtuV = fields.get('mtu');
  if (mtuV) {
    mtu = mtuV.number('an MTU');
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw mtuV.error(`bad MTU ${mtu}`, 'from 68 to 65535');
  }
  const varsV = fields.get('vars');
  const vars = varsV && !varsV.isEmpty ? parseLinkVars(varsV) : {};
  if (vars.vlan !== undefined && !(sw(ka) || sw(kb))) {
    throw varsV!.error('vars.vlan is for links to a bridge', 'a point-to-point link is its own segment; put the VLAN on the bridge link');
  }
  const labelsV = fields.get('labels');
  return { endpoints, mtu, vars, labels: labelsV && !labelsV.isEmpty ? Object.fromEntries(labelsV.stringMap()) : {}, place: v.place };
}

export { TopologyError };
