/** `containet host add ADDR/PREFIX [--nat]`, `containet host del`: the host's port on a running switch. */
import { UsageError, parseIpv4Cidr } from '@containet/common';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['host'];

export const help =
  "Give the host a port on a running switch (add ADDR/PREFIX [--nat]): a tap on the host with ADDR/PREFIX (the containers' gateway, for containode -g), optionally masquerading the subnet to the outside (--nat); " +
  'or remove it (del): the tap and its address, the NAT rules and ip_forward go back as a switch shutdown leaves them.';

export interface HostOptions extends ClientOptions {
  nat?: boolean;
}

const USAGE = 'usage: containet host add ADDR/PREFIX [--nat] | containet host del';

export async function handler(opts: HostOptions, args: string[]): Promise<string> {
  const [action, address, extra] = args;
  if (action === 'del' && address === undefined) {
    const reply = await withClient(opts, (c) => c.request({ op: 'host-del' }));
    if (opts.json) return JSON.stringify(reply) + '\n';
    return `host port ${reply.port} removed: ${reply.ifname} ${reply.address}\n`;
  }
  if (action !== 'add' || address === undefined || extra !== undefined) {
    throw new UsageError(action === undefined ? 'containet host needs an action' : `bad arguments for containet host ${action}`, USAGE);
  }
  const cidr = parseIpv4Cidr(address).cidr;
  const reply = await withClient(opts, (c) => c.request({ op: 'host-add', address: cidr, nat: opts.nat === true }));
  if (opts.json) return JSON.stringify({ port: reply.port, ifname: reply.ifname, address: reply.address, subnet: reply.subnet, nat: reply.nat }) + '\n';
  return `host port ${reply.port}: ${reply.ifname} ${reply.address}${reply.nat ? `, masquerading ${reply.subnet}` : ''}\n`;
}
