/** `containet detach PORT`: drop a port (by id or node identity). */
import { UsageError } from '@containet/common';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['detach'];

export const help = 'Detach a port, given its id or the node identity attached to it; its tap is closed and its MAC entries flushed.';

export async function handler(opts: ClientOptions, args: string[]): Promise<string> {
  const [which, extra] = args;
  if (which === undefined || which === '' || extra !== undefined) throw new UsageError('detach takes one PORT (a port id or node identity)');
  const port = /^\d+$/.test(which) ? Number(which) : which;
  const reply = await withClient(opts, (c) => c.request({ op: 'detach', port }));
  if (opts.json) return JSON.stringify({ port: reply.port, node: reply.node }) + '\n';
  return `detached port ${reply.port} (node ${reply.node})\n`;
}
