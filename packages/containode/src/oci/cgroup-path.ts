/**
 * linux.cgroupsPath (config-linux.md "Cgroups path") as a cgroup name for
 * the one cgroup manager (../cgroup/): relative to each hierarchy's root,
 * /containode-oci/ID when the config gives none. The systemd form
 * (slice:prefix:name) needs systemd's cgroup driver, which this runtime
 * does not have.
 */
import { ContainetError } from '@containet/common';
import { DEFAULT_DEVICE_RULES, type CgroupResources, type DeviceRule } from '../cgroup/plan.js';
import type { OciLinux } from './config.js';

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
export function wantsCgroup(cgroupsPath: string | undefined, r: OciLinux['resources'] | undefined): boolean {
  return cgroupsPath !== undefined || Boolean(r?.memory || r?.cpu || r?.pids || r?.devices || r?.blockIO || r?.network || r?.hugepageLimits?.length);
}

/** -1 and null in an OCI device rule mean "any", as an absent number does. */
function anyNumber(n: number | undefined | null): number | undefined {
  return n === undefined || n === null || n < 0 ? undefined : n;
}

/**
 * linux.resources for the cgroup manager. The device list is the config's
 * rules, then Docker's default allowlist, then each of linux.devices
 * allowed (runc's specconv does the same, in this order, so a config can
 * narrow but never lose /dev/null), all after a deny of everything.
 */
export function ociResources(linux: OciLinux): CgroupResources {
  const r = linux.resources ?? {};
  const devices: DeviceRule[] = [
    ...(r.devices ?? []).map((d) => ({ allow: d.allow, type: d.type ?? 'a', major: anyNumber(d.major), minor: anyNumber(d.minor), access: d.access || 'rwm' })),
    ...DEFAULT_DEVICE_RULES.slice(1),
    ...(linux.devices ?? []).filter((d) => d.type === 'c' || d.type === 'b').map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' })),
  ];
  return {
    ...(r.memory ? { memory: r.memory } : {}),
    ...(r.cpu ? { cpu: r.cpu } : {}),
    ...(r.pids ? { pids: r.pids } : {}),
    ...(r.blockIO ? { blockIO: r.blockIO } : {}),
    ...(r.network ? { network: r.network } : {}),
    ...(r.hugepageLimits ? { hugepageLimits: r.hugepageLimits } : {}),
    devices: r.devices?.length ? devices : [DEFAULT_DEVICE_RULES[0]!, ...devices],
  };
}
