/**
 * `lab graph`: a lab as one self-contained HTML page with an inline SVG (no
 * fonts, styles or scripts from elsewhere): linux nodes as circles, bridges
 * as boxes, the host as a rounded box, each link a line labelled with its
 * interfaces and its vars (impairments, VLAN). Drawn from a topology file
 * (the static page) or from a deployed lab's plan (the live view, whose
 * links carry an id its script fills with rates: src/web/lab-view.ts).
 */
import type { LinkImpairment } from '@containet/common';
import type { LabLink, LabTopology } from './topology.js';
import { HOST_NODE } from './topology.js';
import type { LabPlan } from './plan.js';

/** What is drawn: the same picture from a file or from a running lab. */
export interface GraphModel {
  name: string;
  mgmtSubnet: string;
  nodes: Array<{ name: string; kind: string; sub: string }>;
  links: Array<{ endpoints: [{ node: string; ifname: string }, { node: string; ifname: string }]; note: string }>;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function linkNote(i: LinkImpairment | undefined, vlan: number | undefined, mtu: number | undefined): string {
  const parts: string[] = [];
  if (i?.delayUs !== undefined) parts.push(`delay ${i.delayUs / 1000}ms${i.jitterUs ? `±${i.jitterUs / 1000}ms` : ''}`);
  if (i?.lossPercent !== undefined) parts.push(`loss ${i.lossPercent}%`);
  if (i?.rateBps !== undefined) parts.push(`rate ${i.rateBps >= 1e6 ? `${i.rateBps / 1e6}mbit` : `${i.rateBps / 1e3}kbit`}`);
  if (vlan !== undefined) parts.push(`vlan ${vlan}`);
  if (mtu !== undefined) parts.push(`mtu ${mtu}`);
  return parts.join(', ');
}

function linkOf(l: LabLink): GraphModel['links'][number] {
  const [a, b] = l.endpoints;
  return { endpoints: [{ node: a.node, ifname: a.ifname }, { node: b.node, ifname: b.ifname }], note: linkNote(l.vars.impair, l.vars.vlan, l.mtu) };
}

/** The picture of a topology file. */
export function graphOfTopology(topo: LabTopology): GraphModel {
  const names = topo.nodes.map((n) => n.name);
  for (const l of topo.links) for (const e of l.endpoints) if (!names.includes(e.node)) names.push(e.node);
  const nodes = names.map((name) => {
    const node = topo.nodes.find((x) => x.name === name);
    const kind = node?.kind ?? (name === HOST_NODE ? 'host' : 'linux');
    return { name, kind, sub: kind === 'linux' ? (node?.image ?? 'host files') : kind };
  });
  return { name: topo.name, mgmtSubnet: topo.mgmt.ipv4Subnet ?? 'a free /24 from 172.20.20.0/24', nodes, links: topo.links.map(linkOf) };
}

/**
 * The picture of a deployed lab, from its plan (the file may have changed
 * since). Link i is plan.links[i]; a point-to-point link's VLAN is the
 * lab's own doing, not drawn.
 */
export function graphOfPlan(plan: LabPlan): GraphModel {
  const nodes: GraphModel['nodes'] = plan.nodes.map((n) => ({ name: n.name, kind: 'linux', sub: n.spec.image ?? 'host files' }));
  for (const o of plan.others) nodes.push({ name: o.name, kind: o.kind, sub: o.kind });
  const ports = [...plan.nodes.flatMap((n) => n.interfaces), ...plan.hostTaps];
  const links = plan.links.map((l) => {
    for (const e of l.endpoints) if (!nodes.some((n) => n.name === e.node)) nodes.push({ name: e.node, kind: 'host', sub: 'host' });
    const mine = ports.filter((p) => p.switchId === l.switchId && l.endpoints.some((e) => e.ifname === p.ifname) && (l.vlan === undefined || p.vlan === l.vlan));
    const impair = mine.find((p) => p.impair)?.impair;
    const isBridge = plan.switches.find((s) => s.id === l.switchId)?.kind === 'bridge';
    return { endpoints: l.endpoints, note: linkNote(impair, isBridge ? l.vlan : undefined, mine[0]?.mtu) };
  });
  return { name: plan.name, mgmtSubnet: plan.subnet, nodes, links };
}

/** The topology file's page (static, no script). */
export function renderGraph(topo: LabTopology): string {
  return renderGraphPage(graphOfTopology(topo));
}

/**
 * The page of `model`. With `live`, each link has a rate label
 * (`id="rate-I"`, the way back `back-I`), the layout roomier for them, and the page ends with `live.script` (inline: the
 * dashboard's CSP allows nothing from elsewhere).
 */
export function renderGraphPage(model: GraphModel, live?: { script: string; header?: string }): string {
  const names = model.nodes.map((n) => n.name);
  const kindOf = new Map(model.nodes.map((n) => [n.name, n.kind]));
  const count = names.length;
  const radius = live ? Math.max(260, count * 40) : Math.max(160, count * 28);
  const size = radius * 2 + 240;
  const c = size / 2;
  const pos = new Map(names.map((n, i) => [n, { x: c + radius * Math.cos((2 * Math.PI * i) / count - Math.PI / 2), y: c + radius * Math.sin((2 * Math.PI * i) / count - Math.PI / 2) }]));
  const out: string[] = [];
  model.links.forEach((l, i) => {
    const [a, b] = l.endpoints.map((e) => pos.get(e.node)!);
    const [ea, eb] = l.endpoints;
    out.push(`<line x1="${a!.x.toFixed(1)}" y1="${a!.y.toFixed(1)}" x2="${b!.x.toFixed(1)}" y2="${b!.y.toFixed(1)}" class="link"${live ? ` id="link-${i}"` : ''}/>`);
    // Interface names a quarter of the way from each end, the vars in the middle.
    const at = (p: { x: number; y: number }, q: { x: number; y: number }, t: number, k: 'x' | 'y'): string => (p[k] + (q[k] - p[k]) * t).toFixed(1);
    out.push(`<text x="${at(a!, b!, 0.22, 'x')}" y="${at(a!, b!, 0.22, 'y')}" class="if">${esc(ea.ifname)}</text>`);
    out.push(`<text x="${at(a!, b!, 0.78, 'x')}" y="${at(a!, b!, 0.78, 'y')}" class="if">${esc(eb.ifname)}</text>`);
    if (l.note) out.push(`<text x="${at(a!, b!, 0.5, 'x')}" y="${at(a!, b!, 0.5, 'y')}" class="note">${esc(l.note)}</text>`);
    // The rates a line below the vars, each way named by its ends (data-a, data-b) for the script.
    if (live) {
      const y = Number(at(a!, b!, 0.5, 'y')) + (l.note ? 23 : 10);
      out.push(`<text x="${at(a!, b!, 0.5, 'x')}" y="${y.toFixed(1)}" class="rate" id="rate-${i}" data-a="${esc(ea.node)}" data-b="${esc(eb.node)}"></text>`);
      out.push(`<text x="${at(a!, b!, 0.5, 'x')}" y="${(y + 12).toFixed(1)}" class="rate" id="back-${i}"></text>`);
    }
  });
  for (const n of model.nodes) {
    const p = pos.get(n.name)!;
    const kind = kindOf.get(n.name) ?? 'linux';
    if (kind === 'linux') out.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="34" class="node linux"/>`);
    else out.push(`<rect x="${(p.x - 48).toFixed(1)}" y="${(p.y - 24).toFixed(1)}" width="96" height="48" rx="${kind === 'host' ? 14 : 3}" class="node ${kind === 'host' ? 'host' : 'bridge'}"/>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(p.y - 2).toFixed(1)}" class="name">${esc(n.name)}</text>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(p.y + 13).toFixed(1)}" class="sub">${esc(n.sub)}</text>`);
  }
  const linux = model.nodes.filter((n) => n.kind === 'linux').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lab ${esc(model.name)}</title>
<style>
body{font-family:sans-serif;margin:1em;color:#222}
.link{stroke:#555;stroke-width:2}
.link.down{stroke:#c00;stroke-dasharray:6 4}
.node{stroke:#333;stroke-width:1.5}
.linux{fill:#cfe3ff}.bridge{fill:#ffe8b0}.host{fill:#d8f0d0}
text{text-anchor:middle;dominant-baseline:middle}
.name{font-weight:bold;font-size:13px}.sub{font-size:10px;fill:#555}
.if{font-size:10px;fill:#0a4;paint-order:stroke;stroke:#fff;stroke-width:3px}
.note{font-size:10px;fill:#a30;paint-order:stroke;stroke:#fff;stroke-width:3px}
.rate{font-size:10px;fill:#03a;paint-order:stroke;stroke:#fff;stroke-width:3px}.rate.down{fill:#c00}
</style></head><body>
${live?.header ?? ''}<h1>lab ${esc(model.name)}</h1>
<p>${linux} linux nodes, ${model.links.length} links. Every linux node's eth0 is on the management network (${esc(model.mgmtSubnet)}), not drawn.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${size.toFixed(0)}" height="${size.toFixed(0)}" viewBox="0 0 ${size.toFixed(0)} ${size.toFixed(0)}">
${out.join('\n')}
</svg>
${live ? `<script>${live.script}</script>\n` : ''}</body></html>
`;
}
