/** `containode kill ID [SIGNAL]`: a signal to the container's PID 1. */
import { UsageError } from '@containet/common';
import { killContainer } from '../container/container-kill.js';
import { parseSignal } from '../container/signals.js';
import { findRunning, runningInit } from './common.js';

export const commandNames = ['kill'];

export const help = 'Send SIGNAL (default KILL; a name like TERM/SIGTERM or a number) to the container\'s PID 1.';

export async function handler(_opts: object, args: string[]): Promise<string> {
  const [id, signal = 'KILL', extra] = args;
  if (!id) throw new UsageError('kill needs a container identity', 'containode kill ID [SIGNAL]');
  if (extra !== undefined) throw new UsageError(`kill: unexpected argument ${extra}`);
  const sig = parseSignal(signal);
  killContainer(runningInit(findRunning(id)), sig);
  return '';
}
