/**
 * A deployed lab as it is now: each node's container state (containode),
 * each switch's process and ports (the control protocol), so that a node's
 * interfaces are listed with their switch port, MAC and counters.
 */
import { ContainetError, ControlClient, type PortInfo } from '@containet/common';
import { run, suiteProgram, processStart } from './programs.js';
import { loadRecord, type LabRecord } from './record.js';
import { runDirFor } from './plan.js';
import { readTopologyName } from './topology-name.js';

export interface InterfaceView {
  ifname: string;
  switch: string;
  port: number | null;
  mac: string | null;
  addresses: string[];
  rxPackets: number | null;
  txPackets: number | null;
}

export interface NodeView {
  name: string;
  container: string;
  kind: string;
  image: string | null;
  group: string | null;
  state: string;
  pid: number | null;
  mgmtIpv4: string;
  labels: Record<string, string>;
  interfaces: InterfaceView[];
}

export interface SwitchView {
  id: string;
  kind: string;
  label: string;
  socket: string;
  pid: number;
  state: 'running' | 'gone';
  ports: number | null;
}

export interface LabView {
  name: string;
  file: string;
  dir: string;
  state: LabRecord['state'];
  created: string;
  mgmt: { subnet: string; gateway: string };
  nodes: NodeView[];
  switches: SwitchView[];
  links: Array<{ switch: string; endpoints: string[] }>;
}

/** The record of the lab a file describes; a clear error when it is not deployed. */
export function deployedRecord(file: string): LabRecord {
  const name = readTopologyName(file);
  const rec = loadRecord(runDirFor(name));
  if (!rec) throw new ContainetError('CN_LAB_NOT_DEPLOYED', `lab ${name} is not deployed`, { hint: `containet lab deploy -t ${file}` });
  return rec;
}

async function switchPorts(socket: string): Promise<PortInfo[] | undefined> {
  try {
    const c = await ControlClient.connect(socket);
    try {
      return (await c.request({ op: 'ports' })).ports;
    } finally {
      c.close();
    }
  } catch {
    return undefined;
  }
}

interface ContainerState {
  id: string;
  status?: string;
  pid?: number;
}

export async function inspectLab(rec: LabRecord): Promise<LabView> {
  const plan = rec.plan;
  const [file, args] = suiteProgram('containode', ['ps', '-a', '--json']);
  const ps = await run(file, args);
  const states = new Map<string, ContainerState>(ps.code === 0 ? (JSON.parse(ps.stdout) as ContainerState[]).map((c) => [c.id, c]) : []);
  const portsBy = new Map<string, PortInfo[] | undefined>();
  await Promise.all(plan.switches.map(async (s) => portsBy.set(s.id, await switchPorts(s.socket))));
  const portOf = (switchId: string, node: string, ifname: string): PortInfo | undefined => portsBy.get(switchId)?.find((p) => p.node === node && p.ifname === ifname);
  const iface = (switchId: string, node: string, ifname: string, addresses: string[]): InterfaceView => {
    const p = portOf(switchId, node, ifname);
    return { ifname, switch: switchId, port: p?.port ?? null, mac: p?.macs[0] ?? null, addresses: p?.addresses.length ? p.addresses : addresses, rxPackets: p ? p.counters.rxPackets : null, txPackets: p ? p.counters.txPackets : null };
  };
  const nodes: NodeView[] = plan.nodes.map((n) => {
    const c = states.get(n.container);
    return {
      name: n.name,
      container: n.container,
      kind: n.spec.kind,
      image: n.spec.image ?? null,
      group: n.spec.group ?? null,
      state: c?.status ?? 'absent',
      pid: c?.pid ?? null,
      mgmtIpv4: n.mgmtAddress,
      labels: n.spec.labels,
      interfaces: [iface('mgmt', n.container, 'eth0', [n.mgmtAddress]), ...n.interfaces.map((i) => iface(i.switchId, n.container, i.ifname, []))],
    };
  });
  const switches: SwitchView[] = plan.switches.map((s) => {
    const running = rec.switches.find((r) => r.id === s.id);
    const up = running !== undefined && processStart(running.pid) !== undefined && (running.start === 0 || processStart(running.pid) === running.start);
    return { id: s.id, kind: s.kind, label: s.label, socket: s.socket, pid: running?.pid ?? 0, state: up ? 'running' : 'gone', ports: portsBy.get(s.id)?.length ?? null };
  });
  return {
    name: plan.name,
    file: plan.file,
    dir: plan.dir,
    state: rec.state,
    created: rec.created,
    mgmt: { subnet: plan.subnet, gateway: plan.gateway },
    nodes,
    switches,
    links: plan.links.map((l) => ({ switch: l.switchId, endpoints: l.endpoints.map((e) => `${e.node}:${e.ifname}`) })),
  };
}

/** The table `lab inspect` prints: one line per node, then the switches. */
export function formatLab(v: LabView): string {
  const rows = [['NAME', 'CONTAINER', 'KIND', 'IMAGE', 'STATE', 'MGMT IPV4', 'INTERFACES']];
  for (const n of v.nodes) {
    const ifs = n.interfaces.map((i) => `${i.ifname}@${i.switch}${i.port === null ? '(absent)' : `:${i.port}`}`).join(' ');
    rows.push([n.name, n.container, n.kind, n.image ?? '(host files)', n.state, n.mgmtIpv4, ifs]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = [`lab ${v.name} (${v.state}) from ${v.file}, management ${v.mgmt.subnet} via ${v.mgmt.gateway}`];
  for (const r of rows) lines.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  lines.push('');
  lines.push('switches:');
  for (const s of v.switches) lines.push(`  ${s.id.padEnd(10)} ${s.state.padEnd(8)} pid ${String(s.pid).padEnd(8)} ${s.ports ?? '?'} ports  ${s.label}`);
  return lines.join('\n') + '\n';
}
