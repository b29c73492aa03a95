/**
 * `containet vxlan show|add|add-remote|del-remote|del`: the VXLAN uplink of a
 * running switch.
 */
import { UsageError, type RequestBody } from '@containet/common';
import { formatTable, humanBytes } from '../table.js';
import { checkRemote, parseMtu, parseVni, parseVtep, type VxlanShow } from '../vxlan.js';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['vxlan'];

export const help =
  'Show or change the VXLAN uplink of a running switch: show; add VNI --local ADDR[:PORT] [--remote ADDR[:PORT]]... [--mtu N]; add-remote ADDR[:PORT]; del-remote ADDR; del (removes the uplink and closes its UDP socket).';

export interface VxlanOptions extends ClientOptions {
  local?: string;
  remote?: string[];
  mtu?: string;
}

const USAGE = 'usage: containet vxlan show | add VNI --local ADDR[:PORT] [--remote ADDR[:PORT]]... [--mtu N] | add-remote ADDR[:PORT] | del-remote ADDR | del';

/** The uplink as text: settings, drop counters, one row per remote. */
export function formatVxlan(v: VxlanShow | null): string {
  if (!v) return 'no VXLAN uplink\n';
  const lines = [
    `VXLAN VNI ${v.vni} on port ${v.port}: local ${v.local}:${v.localPort}, underlay MTU ${v.mtu} (containers' MTU at most ${v.innerMtu})`,
    `sent ${v.txPackets} datagrams (${humanBytes(v.txBytes)}), received ${v.rxPackets} frames (${humanBytes(v.rxBytes)}), ${v.txSegmented} GSO frames segmented`,
    `dropped: ${v.rxMalformed} malformed, ${v.rxBadVni} wrong VNI, ${v.rxUnknownRemote} from unknown remotes, ${v.txTooBig} too big to send, ` +
      `${v.txBadGso} unsegmentable, ${v.drops} send queue full, ${v.errors} errors`,
    '',
  ];
  if (v.remotes.length === 0) return lines.join('\n') + 'no remotes\n';
  return (
    lines.join('\n') +
    formatTable(
      ['REMOTE', 'MACS', 'RX-PKTS', 'RX-BYTES', 'TX-PKTS', 'TX-BYTES'],
      v.remotes.map((r) => [`${r.address}:${r.port}`, r.macs, r.rxPackets, humanBytes(r.rxBytes), r.txPackets, humanBytes(r.txBytes)]),
    )
  );
}

export async function handler(opts: VxlanOptions, args: string[]): Promise<string> {
  const [action, arg, extra] = args;
  if (action === 'del' && arg === undefined) {
    const reply = await withClient(opts, (c) => c.request({ op: 'vxlan-del' }));
    if (opts.json) return JSON.stringify(reply) + '\n';
    return `VXLAN uplink VNI ${reply.vni} (port ${reply.port}) removed\n`;
  }
  let req: RequestBody<'vxlan-show' | 'vxlan-add' | 'vxlan-remote-add' | 'vxlan-remote-del'>;
  if (action === 'show' && arg === undefined) req = { op: 'vxlan-show' };
  else if (action === 'add' && arg !== undefined && extra === undefined) {
    if (opts.local === undefined) throw new UsageError('containet vxlan add needs --local ADDR[:PORT]', USAGE);
    req = {
      op: 'vxlan-add',
      vni: parseVni(arg),
      local: opts.local,
      remotes: (opts.remote ?? []).map((r) => {
        checkRemote(parseVtep(r, 'remote VTEP'), r);
        return r;
      }),
      mtu: parseMtu(opts.mtu),
    };
    parseVtep(opts.local, '--local');
  } else if (action === 'add-remote' && arg !== undefined && extra === undefined) {
    checkRemote(parseVtep(arg, 'remote VTEP'), arg);
    req = { op: 'vxlan-remote-add', remote: arg };
  } else if (action === 'del-remote' && arg !== undefined && extra === undefined) {
    parseVtep(arg, 'remote VTEP');
    req = { op: 'vxlan-remote-del', remote: arg };
  } else throw new UsageError(action === undefined ? 'containet vxlan needs an action' : `bad arguments for containet vxlan ${action}`, USAGE);
  const reply = await withClient(opts, (c) => c.request(req));
  if (opts.json) return JSON.stringify(reply.vxlan, null, 2) + '\n';
  return formatVxlan(reply.vxlan);
}
