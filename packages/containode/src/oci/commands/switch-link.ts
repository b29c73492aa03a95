/**
 * `__switch-link ID` (internal, started by create for containet.reattach):
 * the keeper of a container's taps. It gets them as fds 3, 4, ... (in the
 * order of the record's interfaces; eth0 alone for a record without
 * them), attaches each through the one attach path (SwitchLink, persist:
 * false) and stays, so that the links re-attach the ports when a switch
 * comes back after a restart, as containode does for its containers. It
 * says `ok\tPORT...` (or `error\tMESSAGE`) on its stdout, a pipe to
 * create, then ends when the container's init does (the liveness rule,
 * polled) or on SIGTERM (delete); its ports go with its connections.
 */
import { closeSync, writeSync } from 'node:fs';
import type { SwitchLink as SwitchLinkType } from '../../container/switch-link.js';
import type { OptionDef } from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['__switch-link'];

export const help = '__switch-link ID: internal; holds a container\'s tap on its switch (containet.reattach)';

export const options: readonly OptionDef[] = [];

/** How often the keeper looks whether the container's init still runs. */
const POLL_MS = 250;
const FIRST_TAP_FD = 3;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id = ''] = operands;
  const { ContainerStore, processAlive } = await import('../../container/state.js');
  const { SwitchLink } = await import('../../container/switch-link.js');
  const rec = new ContainerStore(opts.global.root).read(id);
  const say = (line: string) => {
    writeSync(1, `${line}\n`);
    closeSync(1);
  };
  if (!rec?.switch || !rec.mac) {
    say(`error\tcontainer ${id} has no switch port to keep`);
    return 1;
  }
  const interfaces = rec.interfaces ?? [{ ifname: 'eth0', socket: rec.switch.socket, mac: rec.mac, addresses: rec.addresses, port: -1 }];
  const links: SwitchLinkType[] = [];
  try {
    for (const [n, i] of interfaces.entries()) {
      const link = await SwitchLink.open(i.socket);
      links.push(link);
      await link.attach({ node: rec.switch.node, ifname: i.ifname, mac: i.mac, addresses: i.addresses, pid: rec.pid, ...(i.vlan ? { vlan: i.vlan } : {}) }, FIRST_TAP_FD + n);
    }
  } catch (err) {
    for (const l of links) l.close();
    say(`error\t${(err as Error).message.replace(/\n/g, ' ')}`);
    return 1;
  }
  say(`ok\t${links.map((l) => l.port).join('\t')}`);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (!processAlive(rec.pid, rec.pidStart)) done();
    }, POLL_MS);
    const done = () => {
      clearInterval(timer);
      process.off('SIGTERM', done);
      for (const l of links) l.close();
      resolve();
    };
    process.on('SIGTERM', done);
  });
  return 0;
}
