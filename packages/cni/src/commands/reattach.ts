/**
 * `containet-cni reattach [--socket SOCK] [--json]`: give a (re)started
 * switch back the ports of every recorded attachment it does not have. The
 * plugin runs once per container, so after a switch restart nobody would
 * hand over the pods' taps again; the taps are persistent (TUNSETPERSIST)
 * and stay in the pods' namespaces, and the records say where, so the netns
 * helper re-opens each one and sends it with a persistent attach, and the
 * port gets its shaping (`bandwidth`) again. The switch runs this itself
 * when it starts (containet's cni-reattach.ts); by hand it is safe at any
 * time, since ports the switch has are left alone.
 */
import { cniRecordsOfSocket, listCniRecords, UsageError, type CniAttachmentRecord } from '@containet/common';
import { applyShaping } from '../bandwidth.js';
import { reopenTap, NetnsError } from '../netns-helper.js';
import { SwitchConnection } from '../switch-attach.js';
import { listPorts } from '../switch-requests.js';

export const help = `usage: containet-cni reattach [--socket SOCK] [--json]

Re-attach the recorded pod taps (${'$'}CONTAINET_CNI_STATE, /run/containet/cni)
that the switch at SOCK (default: every recorded switch) has no port for.
Exit status 1 when any could not be attached.`;

export interface ReattachOutcome {
  attached: string[];
  present: string[];
  failed: Array<{ node: string; error: string }>;
}

export interface ReattachOptions {
  socket?: string | undefined;
}

export function parseArgs(args: string[]): ReattachOptions & { json: boolean } {
  const opts: ReattachOptions & { json: boolean } = { json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--socket' || a === '-s') {
      opts.socket = args[++i];
      if (!opts.socket) throw new UsageError(`${a} needs a socket path`, help);
    } else if (a === '--json') opts.json = true;
    else throw new UsageError(`unknown argument ${JSON.stringify(a)}`, help);
  }
  return opts;
}

async function attachOne(rec: CniAttachmentRecord): Promise<void> {
  const sw = await SwitchConnection.open(rec.socket);
  try {
    const addresses = (rec.ipam?.ips ?? []).map((ip) => ip.address).slice(0, 64);
    const { frame, reply } = sw.attachFrame({ op: 'attach', node: rec.node, ifname: rec.ifname, mac: rec.mac, addresses, persist: true });
    // A tap still held by a switch that is going away refuses a second
    // queue (TUNSETIFF: EBUSY) until its last fd is closed: wait a little.
    for (let attempt = 0; ; attempt++) {
      try {
        reopenTap(rec.netns, rec.ifname, sw.fd, frame);
        break;
      } catch (err) {
        if (!(err instanceof NetnsError) || err.errno !== 'EBUSY' || attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await reply;
    if (rec.impair) await applyShaping(sw, rec.node, rec.impair);
  } finally {
    sw.close();
  }
}

export async function handler(opts: ReattachOptions): Promise<ReattachOutcome> {
  const out: ReattachOutcome = { attached: [], present: [], failed: [] };
  const records = opts.socket ? cniRecordsOfSocket(opts.socket) : listCniRecords();
  const bySocket = new Map<string, CniAttachmentRecord[]>();
  for (const r of records) bySocket.set(r.socket, [...(bySocket.get(r.socket) ?? []), r]);
  for (const [socket, recs] of bySocket) {
    let have: Set<string>;
    try {
      have = new Set((await listPorts(socket)).map((p) => p.node));
    } catch (err) {
      for (const r of recs) out.failed.push({ node: r.node, error: `switch ${socket}: ${(err as Error).message}` });
      continue;
    }
    for (const r of recs) {
      if (have.has(r.node)) {
        out.present.push(r.node);
        continue;
      }
      try {
        await attachOne(r);
        out.attached.push(r.node);
      } catch (err) {
        const msg = err instanceof NetnsError ? `${r.ifname} in ${r.netns}: ${err.message}` : (err as Error).message;
        out.failed.push({ node: r.node, error: msg });
      }
    }
  }
  return out;
}
