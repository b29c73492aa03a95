/** `containode stop [--time S] ID`: SIGTERM, then SIGKILL after a grace period. */
import { constants } from 'node:os';
import { UsageError } from '@containet/common';
import { killContainer } from '../container/container-kill.js';
import { recordAlive } from '../container/state.js';
import { containerId, findRunning } from './common.js';

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
  killContainer(rec, constants.signals.SIGTERM);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (!recordAlive(rec)) return '';
    await new Promise((r) => setTimeout(r, 50));
  }
  if (recordAlive(rec)) killContainer(rec, constants.signals.SIGKILL);
  while (recordAlive(rec) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
  return '';
}
