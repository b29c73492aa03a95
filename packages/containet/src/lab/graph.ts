/**
 * `lab graph`: the topology as one self-contained HTML page with an inline
 * SVG (no scripts, fonts or styles from elsewhere): linux nodes as circles,
 * bridges as boxes, the host as a rounded box, each link a line labelled with
 * its interfaces and its vars (impairments, VLAN).
 */
import type { LabLink, LabTopology } from './topology.js';
import { HOST_NODE } from './topology.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function linkNote(l: LabLink): string {
  const parts: string[] = [];
  const i = l.vars.impair;
  if (i?.delayUs !== undefined) parts.push(`delay ${i.delayUs / 1000}ms${i.jitterUs ? `±${i.jitterUs / 1000}ms` : ''}`);
  if (i?.lossPercent !== undefined) parts.push(`loss ${i.lossPercent}%`);
  if (i?.rateBps !== undefined) parts.push(`rate ${i.rateBps >= 1e6 ? `${i.rateBps / 1e6}mbit` : `${i.rateBps / 1e3}kbit`}`);
  if (l.vars.vlan !== undefined) parts.push(`vlan ${l.vars.vlan}`);
  if (l.mtu !== undefined) parts.push(`mtu ${l.mtu}`);
  return parts.join(', ');
}

export function renderGraph(topo: LabTopology): string {
  const names = topo.nodes.map((n) => n.name);
  for (const l of topo.links) for (const e of l.endpoints) if (!names.includes(e.node)) names.push(e.node);
  const kindOf = new Map(topo.nodes.map((n) => [n.name, n.kind as string]));
  if (!kindOf.has(HOST_NODE)) kindOf.set(HOST_NODE, 'host');
  const count = names.length;
  const radius = Math.max(160, count * 28);
  const size = radius * 2 + 240;
  const c = size / 2;
  const pos = new Map(names.map((n, i) => [n, { x: c + radius * Math.cos((2 * Math.PI * i) / count - Math.PI / 2), y: c + radius * Math.sin((2 * Math.PI * i) / count - Math.PI / 2) }]));
  const out: string[] = [];
  for (const l of topo.links) {
    const [a, b] = l.endpoints.map((e) => pos.get(e.node)!);
    const [ea, eb] = l.endpoints;
    out.push(`<line x1="${a!.x.toFixed(1)}" y1="${a!.y.toFixed(1)}" x2="${b!.x.toFixed(1)}" y2="${b!.y.toFixed(1)}" class="link"/>`);
    // Interface names a quarter of the way from each end, the vars in the middle.
    const at = (p: { x: number }, q: { x: number }, t: number, k: 'x' | 'y'): string => ((p as Record<string, number>)[k]! + ((q as Record<string, number>)[k]! - (p as Record<string, number>)[k]!) * t).toFixed(1);
    out.push(`<text x="${at(a!, b!, 0.22, 'x')}" y="${at(a!, b!, 0.22, 'y')}" class="if">${esc(ea.ifname)}</text>`);
    out.push(`<text x="${at(a!, b!, 0.78, 'x')}" y="${at(a!, b!, 0.78, 'y')}" class="if">${esc(eb.ifname)}</text>`);
    const note = linkNote(l);
    if (note) out.push(`<text x="${at(a!, b!, 0.5, 'x')}" y="${at(a!, b!, 0.5, 'y')}" class="note">${esc(note)}</text>`);
  }
  for (const n of names) {
    const p = pos.get(n)!;
    const kind = kindOf.get(n) ?? 'linux';
    const node = topo.nodes.find((x) => x.name === n);
    const sub = kind === 'linux' ? (node?.image ?? 'host files') : kind;
    if (kind === 'linux') out.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="34" class="node linux"/>`);
    else out.push(`<rect x="${(p.x - 48).toFixed(1)}" y="${(p.y - 24).toFixed(1)}" width="96" height="48" rx="${kind === 'host' ? 14 : 3}" class="node ${kind === 'host' ? 'host' : 'bridge'}"/>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(p.y - 2).toFixed(1)}" class="name">${esc(n)}</text>`);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(p.y + 13).toFixed(1)}" class="sub">${esc(sub)}</text>`);
  }
  const mgmt = topo.mgmt.ipv4Subnet ?? 'a free /24 from 172.20.20.0/24';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lab ${esc(topo.name)}</title>
<style>
body{font-family:sans-serif;margin:1em;color:#222}
.link{stroke:#555;stroke-width:2}
.node{stroke:#333;stroke-width:1.5}
.linux{fill:#cfe3ff}.bridge{fill:#ffe8b0}.host{fill:#d8f0d0}
text{text-anchor:middle;dominant-baseline:middle}
.name{font-weight:bold;font-size:13px}.sub{font-size:10px;fill:#555}
.if{font-size:10px;fill:#0a4;paint-order:stroke;stroke:#fff;stroke-width:3px}
.note{font-size:10px;fill:#a30;paint-order:stroke;stroke:#fff;stroke-width:3px}
</style></head><body>
<h1>lab ${esc(topo.name)}</h1>
<p>${topo.nodes.filter((n) => n.kind === 'linux').length} linux nodes, ${topo.links.length} links. Every linux node's eth0 is on the management network (${esc(mgmt)}), not drawn.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${size.toFixed(0)}" height="${size.toFixed(0)}" viewBox="0 0 ${size.toFixed(0)} ${size.toFixed(0)}">
${out.join('\n')}
</svg>
</body></html>
`;
}
