/**
 * linux.cgroupsPath (config-linux.md "Cgroups path") as a cgroup name for
 * the one cgroup manager (../cgroup/): relative to each hierarchy's root,
 * /containode-oci/ID when the config gives none. The systemd form
 * (slice:prefix:name) needs systemd's cgroup driver, which this runtime
 * does not have.
 */
import { ContainetError } from '@containet/common';
import type { CgroupResources } from '../cgroup/plan.js';

export function cgroupName(id: string, cgroupsPath: string | undefined): string {
  const p = cgroupsPath ?? `/containode-oci/${id}`;
  if (/^[^/]*:[^/]*:[^/]*$/.test(p)) {
    throw new ContainetError('CN_OCI_UNSUPPORTED', `linux.cgroupsPath ${p} is in systemd form (slice:prefix:name), which needs --systemd-cgroup`, {
      hint: 'systemd cgroup management is not supported; give a path such as /mygroup/ID',
    });
  }
  const clean = p.split('/').filter((s) => s && s !== '.');
  if (clean.includes('..')) throw new ContainetError('CN_OCI_CONFIG', `config.json: linux.cgroupsPath: ${p} must not contain ..`);
  if (clean.length === 0) throw new ContainetError('CN_OCI_CONFIG', `config.json: linux.cgroupsPath: ${p} names the root cgroup`, { hint: 'give a path such as /mygroup/ID' });
  return clean.join('/');
}

/** Whether the bundle asks for a cgroup at all (a path, or limits). */
export function wantsCgroup(cgroupsPath: string | undefined, r: CgroupResources | undefined): boolean {
  return cgroupsPath !== undefined || Boolean(r?.memory || r?.cpu || r?.pids);
}
