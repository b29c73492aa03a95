/** What proc(5) says of a process: its start time, whether it still runs. */
import { readFileSync } from 'node:fs';

/** /proc/PID/stat's fields from field 3 (state) on; undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22, starttime (clock ticks after boot); undefined when the process is gone. */
export function processStartTime(pid: number): number | undefined {
  const start = Number(statFields(pid)?.[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** Whether `pid` exists and is not a zombie (field 3, state Z: exited, not yet reaped). */
export function processRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}
