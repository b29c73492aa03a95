/** `containode inspect ID`: a running container's record and live details, as JSON. */
import { readlinkSync } from 'node:fs';
import { containerId, findRunning, runningInit } from './common.js';
import { containodeStore } from '../container/containode-store.js';
import { isDetached, readSupervisor } from '../container/detach.js';

export const commandNames = ['inspect'];

export const help = 'Show everything known about a running container as JSON: its record, namespaces and cgroups.';

export async function handler(_opts: { json?: boolean }, args: string[]): Promise<string> {
  const rec = findRunning(containerId(args, 'inspect'));
  const init = runningInit(rec);
  const namespaces: Record<string, string> = {};
  for (const ns of ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']) {
    try {
      namespaces[ns] = readlinkSync(`/proc/${init.pid}/ns/${ns}`);
    } catch {
      // gone meanwhile
    }
  }
  const supervisor = isDetached(rec) ? readSupervisor(containodeStore(), rec.id) ?? undefined : undefined;
  return JSON.stringify({ ...rec, namespaces, ...(supervisor ? { supervisor } : {}) }, null, 2) + '\n';
}
