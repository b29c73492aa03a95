/** `containet detach [--permanent] PORT`: drop a port (by id or node identity). */
import { UsageError } from '@containet/common';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['detach'];

export const help =
  'Detach a port, given its id or the node identity attached to it; its tap is closed and its MAC entries flushed. ' +
  'A plain detach lasts until the switch restarts: a container whose link re-attaches (containode, containet.reattach) comes back then. ' +
  'With --permanent, as docker network disconnect, the switch also refuses the node\'s attaches from then on, across restarts, until containet undetach NODE.';

export interface DetachOptions extends ClientOptions {
  permanent?: boolean;
}

export async function handler(opts: DetachOptions, args: string[]): Promise<string> {
  const [which, extra] = args;
  if (which === undefined || which === '' || extra !== undefined) throw new UsageError('detach takes one PORT (a port id or node identity)', 'see containet detach --help');
  const port = /^\d+$/.test(which) ? Number(which) : which;
  const reply = await withClient(opts, (c) => c.request({ op: 'detach', port, ...(opts.permanent ? { permanent: true } : {}) }));
  if (opts.json) return JSON.stringify({ port: reply.port, node: reply.node, permanent: opts.permanent === true }) + '\n';
  return `detached port ${reply.port} (node ${reply.node})${opts.permanent ? `; its attaches are refused until containet undetach ${reply.node}` : ''}\n`;
}
