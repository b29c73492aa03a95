/**
 * Every containode-oci command by name, each module imported only when its
 * command runs: callers run one short command at a time, and start-up is
 * most of what a command costs.
 */
import type { OciCommand } from './types.js';

export const COMMANDS: Readonly<Record<string, () => Promise<OciCommand>>> = {
  create: () => import('./create.js'),
  run: () => import('./run.js'),
  start: () => import('./start.js'),
  state: () => import('./state.js'),
  kill: () => import('./kill.js'),
  delete: () => import('./delete.js'),
  list: () => import('./list.js'),
  ls: () => import('./list.js'),
  exec: () => import('./exec.js'),
  spec: () => import('./spec.js'),
  features: () => import('./features.js'),
  ps: () => import('./ps.js'),
  pause: () => import('./pause.js'),
  resume: () => import('./pause.js'),
  events: () => import('./unsupported.js'),
  update: () => import('./unsupported.js'),
  checkpoint: () => import('./unsupported.js'),
  restore: () => import('./unsupported.js'),
  completion: () => import('./completion.js'),
  '__switch-link': () => import('./switch-link.js'),
};
