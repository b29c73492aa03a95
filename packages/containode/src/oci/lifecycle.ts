/**
 * What `state` and `list` print: the OCI state of one container, or a
 * table or JSON of all in --root, each status derived again from the kernel.
 */
import { writeSync } from 'node:fs';
import { readContainer, type EngineContext } from '../container/engine.js';
import { ContainerStore } from '../container/state.js';

export function stateOf(g: EngineContext, id: string): string {
  const dirs = new ContainerStore(g.root);
  return `${JSON.stringify(dirs.ociState(readContainer(dirs, id)), null, 2)}\n`;
}

export function listContainers(g: EngineContext, format: string, quiet: boolean): string {
  const dirs = new ContainerStore(g.root);
  const states = [];
  for (const id of dirs.ids()) {
    try {
      states.push(dirs.ociState(readContainer(dirs, id)));
    } catch {
      // A container deleted between readdir and read is simply not listed.
    }
  }
  if (quiet) return states.map((s) => `${s.id}\n`).join('');
  if (format === 'json') return `${JSON.stringify(states.map((s) => ({ ...s, annotations: s.annotations ?? {} })))}\n`;
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 3))).join('')}\n`).join('');
}

export function writeOut(text: string): void {
  writeSync(1, text);
}
