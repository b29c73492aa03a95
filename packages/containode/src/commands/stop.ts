/** `containode stop [--time S] ID`: SIGTERM, then SIGKILL after a grace period. */
import { constants } from 'node:os';
import { UsageError } from '@containet/common';
import { killContainer } from '../container/container-kill.js';
import { recordAlive, type ContainerRecord } from '../container/state.js';
import { containerId, findRunning } from './common.js';
import { containodeStore } from '../container/containode-store.js';
import { initOf, isDetached, markStopped } from '../container/detach.js';

export const commandNames = ['stop'];

export const help = 'Stop a container: SIGTERM to its PID 1, then SIGKILL when it is still running after --time seconds (default 10).';

export interface StopOptions {
  /** Seconds to wait after SIGTERM (default 10). */
  time?: string;
}

export async function handler(opts: StopOptions, args: string[]): Promise<string> {
  const timeSeconds = opts.time ?? '10';
  const seconds = Number(timeSeconds);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`invalid --time ${timeSeconds}`, 'seconds, 0 or more');
  const rec = findRunning(containerId(args, 'stop'));
  // A detached container's supervisor must not start it again.
  if (isDetached(rec)) markStopped(containodeStore(), rec.id);
  const signal = (sig: number) => {
    const init = initOf(rec);
    if (init) killContainer(init, sig);
  };
  signal(constants.signals.SIGTERM);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (!recordAlive(rec)) return detachPort(rec).then(() => '');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (recordAlive(rec)) signal(constants.signals.SIGKILL);
  while (recordAlive(rec) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
  await detachPort(rec);
  return '';
}

/**
 * A persistent switch port of a detached container started before its
 * supervisor held the ports (it would stay until `rm`); today's go with
 * the supervisor.
 */
async function detachPort(rec: ContainerRecord): Promise<void> {
  if (!rec.switch?.persist || recordAlive(rec)) return;
  const { SwitchLink } = await import('../container/switch-link.js');
  await SwitchLink.detachInterfaces(rec.switch.socket, rec.switch.node, rec.interfaces);
}
