/** `containet undetach NODE`: lift a permanent detach, so the node may attach again. */
import { UsageError } from '@containet/common';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['undetach'];

export const help =
  'Lift a permanent detach (containet detach --permanent): NODE may attach again. Nothing attaches it by itself: its re-attacher stopped when refused, so restart the container (or attach it again).';

export async function handler(opts: ClientOptions, args: string[]): Promise<string> {
  const [node, extra] = args;
  if (node === undefined || node === '' || extra !== undefined) throw new UsageError('undetach takes one NODE (a node identity)', 'see containet undetach --help');
  const reply = await withClient(opts, (c) => c.request({ op: 'undetach', node }));
  if (opts.json) return JSON.stringify(reply) + '\n';
  return reply.lifted ? `node ${node} may attach again\n` : `node ${node} was not detached permanently\n`;
}
