/** `containet macs`: the MAC learning table. */
import { formatTable } from '../table.js';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['macs'];

export const help = 'Show the MAC table: each learned address, its port and node, the VLAN it was learned in (when any is not 1), and seconds since it was last seen.';

export async function handler(opts: ClientOptions): Promise<string> {
  const { macs, ports } = await withClient(opts, async (c) => ({
    ...(await c.request({ op: 'macs' })),
    ...(await c.request({ op: 'ports' })),
  }));
  if (opts.json) return JSON.stringify(macs, null, 2) + '\n';
  if (macs.length === 0) return 'MAC table is empty\n';
  const node = new Map(ports.map((p) => [p.port, p.node]));
  const vtep = macs.some((m) => m.vtep);
  // MACs are learned per VLAN; the column appears once a VLAN other than 1 is in use.
  const vlan = macs.some((m) => m.vlan !== undefined && m.vlan !== 1);
  return formatTable(
    ['MAC', ...(vlan ? ['VLAN'] : []), 'PORT', 'NODE', ...(vtep ? ['VTEP'] : []), 'AGE'],
    macs.map((m) => [m.mac, ...(vlan ? [m.vlan ?? 1] : []), m.port, node.get(m.port) ?? '-', ...(vtep ? [m.vtep ?? '-'] : []), m.age]),
  );
}
