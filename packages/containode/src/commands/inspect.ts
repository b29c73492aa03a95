/** `containode inspect ID`: a running container's record and live details, as JSON. */
import { readlinkSync } from 'node:fs';
import { containerId, findRunning } from './common.js';

export const commandNames = ['inspect'];

export const help = 'Show everything known about a running container as JSON: its record, namespaces and cgroups.';

export async function handler(_opts: object, args: string[]): Promise<string> {
  const rec = findRunning(containerId(args, 'inspect'));
  const namespaces: Record<string, string> = {};
  for (const ns of ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup']) {
    try {
      namespaces[ns] = readlinkSync(`/proc/${rec.pid}/ns/${ns}`);
    } catch {
      // gone meanwhile
    }
  }
  return JSON.stringify({ ...rec, namespaces }, null, 2) + '\n';
}
