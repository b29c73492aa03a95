/**
 * `ps` (runc's contract, which containerd uses for a task's pids): a module
 * of its own so that the other commands do not load node:child_process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import type { Globals } from './create.js';
import { containerPids } from '../container/container-kill.js';
import { conflict, readContainer } from '../container/engine.js';
import { ContainerStore } from '../container/state.js';

/**
 * `ps` (runc's): the container's live processes, as a JSON array of pids,
 * or as the lines of `ps PS_OPTIONS` (default -ef) whose PID column is one
 * of them, under ps's header.
 */
export function psContainer(g: Globals, id: string, format: 'table' | 'json', psArgs: string[]): string {
  const dirs = new ContainerStore(g.root);
  const rec = readContainer(dirs, id);
  const status = dirs.status(rec);
  if (status !== 'created' && status !== 'running') throw conflict(id, 'ps', status, 'only a created or running container has processes');
  const pids = containerPids(rec)
    .filter((pid) => existsSync(`/proc/${pid}`))
    .sort((a, b) => a - b);
  if (format === 'json') return `${JSON.stringify(pids)}\n`;
  const argv = psArgs.length ? psArgs : ['-ef'];
  const r = spawnSync('ps', argv, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new ContainetError('CN_OCI_PS', `ps ${argv.join(' ')} failed: ${(r.stderr || r.error?.message || `status ${r.status}`).trim()}`);
  }
  const [header = '', ...lines] = r.stdout.split('\n');
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new ContainetError('CN_OCI_PS', `ps ${argv.join(' ')} printed no PID column`, { hint: 'keep the PID column in the ps options (e.g. -ef)' });
  const keep = new Set(pids);
  return [header, ...lines.filter((l) => keep.has(Number(l.trim().split(/\s+/)[col])))].join('\n') + '\n';
}
