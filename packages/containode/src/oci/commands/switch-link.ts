/**
 * `__switch-link ID` (internal, started by create for containet.reattach):
 * the keeper of a container's tap. It gets the tap as fd 3, attaches it
 * through the one attach path (SwitchLink, persist: false) and stays, so
 * that the link re-attaches the port when the switch comes back after a
 * restart, as containode does for its containers. It says `ok` (or
 * `error\tMESSAGE`) on its stdout, a pipe to create, then ends when the
 * container's init does (the liveness rule, polled) or on SIGTERM (delete);
 * its port goes with its connection.
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
const TAP_FD = 3;

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
  let link: SwitchLinkType;
  try {
    link = await SwitchLink.open(rec.switch.socket);
    await link.attach({ node: rec.switch.node, ifname: 'eth0', mac: rec.mac, addresses: rec.addresses, pid: rec.pid }, TAP_FD);
  } catch (err) {
    say(`error\t${(err as Error).message.replace(/\n/g, ' ')}`);
    return 1;
  }
  say(`ok\t${link.port}`);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (!processAlive(rec.pid, rec.pidStart)) done();
    }, POLL_MS);
    const done = () => {
      clearInterval(timer);
      process.off('SIGTERM', done);
      link.close();
      resolve();
    };
    process.on('SIGTERM', done);
  });
  return 0;
}
