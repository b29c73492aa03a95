/** `containode kill ID [SIGNAL]` and `containode stop ID`. */
import { constants } from 'node:os';
import { UsageError } from '@containet/common';
import { processAlive, recordAlive, type ContainerRecord } from '../container/state.js';
import { findRunning } from './common.js';

export const help = 'Send SIGNAL (default KILL; a name like TERM/SIGTERM or a number) to the container\'s PID 1.';
export const stopHelp = 'Stop a container: SIGTERM to its PID 1, then SIGKILL when it is still running after --time seconds (default 10).';

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = (text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`) as NodeJS.Signals;
    const n = constants.signals[name];
    if (n) return n;
  }
  throw new UsageError(`invalid signal: ${text}`, 'use a name such as TERM or SIGTERM, or a number 1-64');
}

/** Signal the init unless its pid now belongs to someone else. */
function signalInit(rec: ContainerRecord, sig: number): void {
  if (!processAlive(rec.pid, rec.pidStart)) return;
  process.kill(rec.pid, sig);
}

export function handler(id: string, signal = 'KILL'): string {
  const sig = parseSignal(signal);
  const rec = findRunning(id);
  signalInit(rec, sig);
  return '';
}

export async function stop(id: string, timeSeconds = '10'): Promise<string> {
  const seconds = Number(timeSeconds);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`invalid --time ${timeSeconds}`, 'seconds, 0 or more');
  const rec = findRunning(id);
  signalInit(rec, constants.signals.SIGTERM);
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (!recordAlive(rec)) return '';
    await new Promise((r) => setTimeout(r, 50));
  }
  if (recordAlive(rec)) signalInit(rec, constants.signals.SIGKILL);
  while (recordAlive(rec) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
  return '';
}
