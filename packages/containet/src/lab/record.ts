/**
 * A deployed lab's record, RUN_DIR/NAME/lab.json: its plan and everything
 * made so far (switch pids, containers, host taps). Deploy writes it before
 * it makes each thing, so a destroy, or the undo of a failed or interrupted
 * deploy, finds all of it; the directory itself is the lab's lock
 * (mkdir(2) fails with EEXIST for a second deploy of the same name).
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { LABS_RUN_DIR, type LabPlan } from './plan.js';
import type { RunningSwitch } from './switches.js';
import { sleep } from './programs.js';

export interface LabRecord {
  version: 1;
  state: 'deploying' | 'running' | 'destroying' | 'failed';
  created: string;
  plan: LabPlan;
  switches: RunningSwitch[];
  /** Containers asked for (a failed run may have left one half-made: destroy removes them all). */
  containers: string[];
  /** Taps made in the host's namespace (host:IFNAME endpoints). */
  hostTaps: string[];
}

export function recordPath(runDir: string): string {
  return join(runDir, 'lab.json');
}

export function saveRecord(rec: LabRecord): void {
  const path = recordPath(rec.plan.runDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(rec, null, 2) + '\n', { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

export function loadRecord(runDir: string): LabRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(runDir), 'utf8')) as LabRecord;
  } catch {
    return undefined;
  }
}

/** Every lab deployed on this machine (their records). */
export function allRecords(): LabRecord[] {
  let names: string[] = [];
  try {
    names = readdirSync(LABS_RUN_DIR);
  } catch {
    return [];
  }
  return names.map((n) => loadRecord(join(LABS_RUN_DIR, n))).filter((r): r is LabRecord => r !== undefined);
}

/**
 * Run `fn` holding the labs' lock (choosing a management subnet and taking
 * the lab's name must not race another deploy). A lock left by a deploy that
 * was killed is taken over after `staleMs`.
 */
export async function withLabsLock<T>(fn: () => Promise<T> | T, staleMs = 30_000): Promise<T> {
  mkdirSync(LABS_RUN_DIR, { recursive: true, mode: 0o755 });
  const lock = join(LABS_RUN_DIR, '.lock');
  const deadline = Date.now() + staleMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) {
        throw new ContainetError('CN_LAB_LOCKED', `another lab command holds ${lock}`, { hint: `if none runs, remove it: rmdir ${lock}` });
      }
      await sleep(25);
    }
  }
  try {
    return await fn();
  } finally {
    rmdirSync(lock);
  }
}
