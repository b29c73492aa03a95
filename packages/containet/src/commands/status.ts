/** `containet status`: is the switch up, and its figures. */
import { formatVxlan } from './vxlan.js';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['status'];

export const help = 'Show whether containet is running on the socket, its pid, uptime, port and MAC counts and settings.';

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

export async function handler(opts: ClientOptions): Promise<string> {
  const { status } = await withClient(opts, (c) => c.request({ op: 'status' }));
  if (opts.json) return JSON.stringify(status, null, 2) + '\n';
  return [
    `containet running on ${status.socket} (pid ${status.pid}, up ${status.uptime} s, protocol ${status.version})`,
    `ports: ${status.ports}`,
    `MAC table: ${status.macs}/${status.macTableSize} entries, aging ${status.macAgeSeconds} s, ${status.macEvictions} evicted`,
    `memory: ${mib(status.memory.rss)} MiB resident, JS heap ${mib(status.memory.heapUsed)} MiB used of ${mib(status.memory.heapTotal)} MiB`,
    `clients: ${status.clients.connections} control connections, ${status.clients.dashboard} dashboard; ${status.clients.refused} refused, ${status.clients.dropped} dropped since start`,
    '',
  ].join('\n') + (status.vxlan ? formatVxlan(status.vxlan) : '');
}
