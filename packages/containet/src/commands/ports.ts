/** `containet ports`: the attached ports with their counters. */
import { formatTable, humanBytes } from '../table.js';
import { formatImpairments, formatVlan } from '../port-settings.js';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['ports'];

export const help =
  'List the attached ports: id, node identity, interface (the name inside the container, then the host-side device in parentheses when its name differs; "plain" for a tap without a virtio header), MACs seen, addresses, VLAN (an access VLAN, or trunk ID,.. [native ID]), rx/tx packets and bytes, drops, errors, impairments (containet port set).';

/** One column for the interface: a tap opened in the container's namespace has one name there, shown once. */
export function interfaceName(p: { ifname: string; tap: string; vnetHdr: boolean }): string {
  return (p.tap === p.ifname ? p.ifname : `${p.ifname} (${p.tap})`) + (p.vnetHdr ? '' : ' plain');
}

export async function handler(opts: ClientOptions): Promise<string> {
  const { ports } = await withClient(opts, (c) => c.request({ op: 'ports' }));
  if (opts.json) return JSON.stringify(ports, null, 2) + '\n';
  if (ports.length === 0) return 'no ports attached\n';
  return formatTable(
    ['PORT', 'NODE', 'INTERFACE', 'MACS', 'ADDRESSES', 'VLAN', 'RX-PKTS', 'RX-BYTES', 'TX-PKTS', 'TX-BYTES', 'DROPS', 'ERRORS', 'IMPAIRMENTS'],
    ports.map((p) => [
      p.port,
      p.node,
      interfaceName(p),
      (p.macs.join(',') || '-') + (p.macCount > p.macs.length ? ` (+${p.macCount - p.macs.length})` : ''),
      p.addresses.join(',') || '-',
      formatVlan(p.vlan),
      p.counters.rxPackets,
      humanBytes(p.counters.rxBytes),
      p.counters.txPackets,
      humanBytes(p.counters.txBytes),
      // Frames the switch chose not to pass count as drops too.
      p.counters.drops + (p.counters.vlanDrops ?? 0) + (p.counters.impairLost ?? 0) + (p.counters.queueDrops ?? 0),
      p.counters.errors,
      formatImpairments(p.impair),
    ]),
  );
}
