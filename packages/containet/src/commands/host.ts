/** `containet host add ADDR/PREFIX [--nat]`: give the host a port on a running switch. */
import { UsageError, parseIpv4Cidr } from '@containet/common';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['host'];

export const help =
  "Give the host a port on a running switch: a tap on the host with ADDR/PREFIX (the containers' gateway, for containode -g), optionally masquerading the subnet to the outside (--nat).";

export interface HostOptions extends ClientOptions {
  nat?: boolean;
}

export async function handler(opts: HostOptions, args: string[]): Promise<string> {
  const [action, address, extra] = args;
  if (action !== 'add' || address === undefined || extra !== undefined) {
    throw new UsageError('usage: containet host add ADDR/PREFIX [--nat]');
  }
  const cidr = parseIpv4Cidr(address).cidr;
  const reply = await withClient(opts, (c) => c.request({ op: 'host-add', address: cidr, nat: opts.nat === true }));
  if (opts.json) return JSON.stringify({ port: reply.port, ifname: reply.ifname, address: reply.address, subnet: reply.subnet, nat: reply.nat }) + '\n';
  return `host port ${reply.port}: ${reply.ifname} ${reply.address}${reply.nat ? `, masquerading ${reply.subnet}` : ''}\n`;
}
