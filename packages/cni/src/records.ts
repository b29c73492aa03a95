/**
 * What ADD made, kept so that DEL, CHECK, GC and `reattach` can find it
 * again: one JSON file per attachment, STATE/NETWORK/CONTAINERID@IFNAME.json
 * (container ids and network names never contain "@"), written to a
 * temporary file and renamed over the old one, so a reader sees the old
 * record or the new one, never a part. STATE is $CONTAINET_CNI_STATE, or
 * cni/ under containet's state directory ($CONTAINET_STATE, /run/containet):
 * under /run, so records go with a reboot, as the namespaces and taps do.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '@containet/common';
import type { CniResult } from './result.js';

export interface AttachmentRecord {
  version: 1;
  network: string;
  containerId: string;
  ifname: string;
  netns: string;
  socket: string;
  /** The switch's node identity of the port. */
  node: string;
  mac: string;
  mtu: number;
  /** The IPAM plugin's result, as it answered ADD. */
  ipam: CniResult | null;
  /** The request configuration of ADD (without prevResult), for a later IPAM DEL from GC. */
  config: Record<string, unknown>;
  createdAt: string;
}

export function cniStateDir(): string {
  return process.env['CONTAINET_CNI_STATE'] ?? join(stateDir(), 'cni');
}

function recordPath(network: string, containerId: string, ifname: string): string {
  return join(cniStateDir(), network, `${containerId}@${encodeURIComponent(ifname)}.json`);
}

export function writeRecord(rec: AttachmentRecord): void {
  const file = recordPath(rec.network, rec.containerId, rec.ifname);
  mkdirSync(join(cniStateDir(), rec.network), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

function parse(file: string): AttachmentRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as AttachmentRecord;
    return rec.version === 1 && typeof rec.node === 'string' && typeof rec.netns === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function readRecord(network: string, containerId: string, ifname: string): AttachmentRecord | undefined {
  return parse(recordPath(network, containerId, ifname));
}

export function removeRecord(network: string, containerId: string, ifname: string): void {
  rmSync(recordPath(network, containerId, ifname), { force: true });
}

/** Every record of `network`, or of all networks. */
export function listRecords(network?: string): AttachmentRecord[] {
  const root = cniStateDir();
  let networks: string[];
  try {
    networks = network ? [network] : readdirSync(root);
  } catch {
    return [];
  }
  const out: AttachmentRecord[] = [];
  for (const net of networks) {
    let files: string[];
    try {
      files = readdirSync(join(root, net));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const rec = parse(join(root, net, f));
      if (rec) out.push(rec);
    }
  }
  return out;
}
