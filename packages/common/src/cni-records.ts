/**
 * The records containet's CNI plugin keeps of what ADD made, one JSON file
 * per attachment: STATE/NETWORK/CONTAINERID@IFNAME.json (container ids and
 * network names never contain "@"), written to a temporary file and renamed
 * over the old one, so a reader sees the old record or the new one, never a
 * part. STATE is $CONTAINET_CNI_STATE, or cni/ under containet's state
 * directory ($CONTAINET_STATE, /run/containet): under /run, so records go
 * with a reboot, as the namespaces and taps do.
 *
 * Here in common because two programs read them: the plugin (DEL, CHECK,
 * GC, `containet-cni reattach`) and the switch, which on start-up has the
 * pods recorded for its socket re-attached.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LinkImpairment } from './protocol.js';
import { stateDir } from './settings.js';

/** What a record keeps of the IPAM plugin's result (CNI SPEC.md, section 5). */
export interface CniIpamResult {
  cniVersion?: string;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: object;
}

export interface CniAttachmentRecord {
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
  ipam: CniIpamResult | null;
  /** The request configuration of ADD (without prevResult), for a later IPAM DEL from GC. */
  config: Record<string, unknown>;
  /** The port's shaping from the `bandwidth` capability, per switch direction, to apply again on re-attach. */
  impair?: { in?: LinkImpairment; out?: LinkImpairment } | undefined;
  createdAt: string;
}

export function cniStateDir(): string {
  return process.env['CONTAINET_CNI_STATE'] ?? join(stateDir(), 'cni');
}

function recordPath(network: string, containerId: string, ifname: string): string {
  return join(cniStateDir(), network, `${containerId}@${encodeURIComponent(ifname)}.json`);
}

export function writeCniRecord(rec: CniAttachmentRecord): void {
  const file = recordPath(rec.network, rec.containerId, rec.ifname);
  mkdirSync(join(cniStateDir(), rec.network), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

function parse(file: string): CniAttachmentRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as CniAttachmentRecord;
    return rec.version === 1 && typeof rec.node === 'string' && typeof rec.netns === 'string' && typeof rec.socket === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function readCniRecord(network: string, containerId: string, ifname: string): CniAttachmentRecord | undefined {
  return parse(recordPath(network, containerId, ifname));
}

export function removeCniRecord(network: string, containerId: string, ifname: string): void {
  rmSync(recordPath(network, containerId, ifname), { force: true });
}

/** Every record of `network`, or of all networks. */
export function listCniRecords(network?: string): CniAttachmentRecord[] {
  const root = cniStateDir();
  let networks: string[];
  try {
    networks = network ? [network] : readdirSync(root);
  } catch {
    return [];
  }
  const out: CniAttachmentRecord[] = [];
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

/**
 * The records of the switch listening at `socket`: those naming that path,
 * or another path of the same socket file (/var/run is a link to /run).
 */
export function cniRecordsOfSocket(socket: string): CniAttachmentRecord[] {
  const path = resolve(socket);
  let id: string | undefined;
  try {
    const st = statSync(path);
    id = `${st.dev}:${st.ino}`;
  } catch {}
  const same = new Map<string, boolean>();
  return listCniRecords().filter((r) => {
    if (r.socket === path) return true;
    if (!id) return false;
    let hit = same.get(r.socket);
    if (hit === undefined) {
      try {
        const st = statSync(r.socket);
        hit = `${st.dev}:${st.ino}` === id;
      } catch {
        hit = false;
      }
      same.set(r.socket, hit);
    }
    return hit;
  });
}
