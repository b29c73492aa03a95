/**
 * A lab's switches are containet daemons, each detached with its own socket
 * and log in the lab's run directory; deploy starts them, destroy stops
 * them by pid (checked against the start time recorded, never by name).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { ContainetError, ControlClient } from '@containet/common';
import { CONTAINET_BIN, processStart, programEnv, sleep } from './programs.js';
import type { SwitchPlan } from './plan.js';

export interface RunningSwitch {
  id: string;
  socket: string;
  pid: number;
  /** /proc/PID/stat start time, so that destroy never signals a later process with the pid. */
  start: number;
}

const READY_TIMEOUT_MS = 20_000;

/** Start the daemon of `sw`; `started` is told its pid at once (for undo), before it answers. */
export async function startSwitch(sw: SwitchPlan, logFile: string, started: (r: RunningSwitch) => void): Promise<RunningSwitch> {
  const log = openSync(logFile, 'a', 0o644);
  const args = [CONTAINET_BIN, '-s', sw.socket];
  if (sw.hostAddress) args.push('--host', sw.hostAddress);
  let child;
  try {
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: programEnv() });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new ContainetError('CN_LAB_SWITCH', `cannot start the ${sw.id} switch (${process.execPath} ${CONTAINET_BIN})`);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  const running: RunningSwitch = { id: sw.id, socket: sw.socket, pid, start: processStart(pid) ?? 0 };
  started(running);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) {
      throw new ContainetError('CN_LAB_SWITCH', `the ${sw.id} switch (${sw.label}) exited with status ${exited}: ${lastLine(logFile)}`, { hint: `its log: ${logFile}` });
    }
    if (existsSync(sw.socket)) {
      try {
        const c = await ControlClient.connect(sw.socket);
        c.close();
        return running;
      } catch {
        // not accepting yet
      }
    }
    if (Date.now() > deadline) throw new ContainetError('CN_LAB_SWITCH', `the ${sw.id} switch did not answer on ${sw.socket} within ${READY_TIMEOUT_MS / 1000} s`, { hint: `its log: ${logFile}` });
    await sleep(20);
  }
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  } catch {
    return '';
  }
}

function alive(sw: RunningSwitch): boolean {
  const start = processStart(sw.pid);
  return start !== undefined && (sw.start === 0 || start === sw.start);
}

/**
 * Stop a switch: SIGTERM (it removes its host port, its NAT rules and its
 * socket on the way out), SIGKILL after `graceMs`. Safe to call twice.
 */
export async function stopSwitch(sw: RunningSwitch, graceMs = 5000): Promise<void> {
  if (!alive(sw)) return;
  try {
    process.kill(sw.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(sw)) {
    if (Date.now() > deadline) {
      try {
        process.kill(sw.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      await sleep(50);
      break;
    }
    await sleep(15);
  }
  rmSync(sw.socket, { force: true });
}
