/**
 * What keeps a container from changing the host, as Docker's default does,
 * added to a ContainerSpec in one place for both commands: masked and
 * read-only paths, a read-only /sys, the container's own cgroups at
 * /sys/fs/cgroup, the namespaced --sysctl settings, and the system-call
 * filter. --privileged lifts each, as `docker run --privileged` does (no
 * masks, /sys and /proc/sys writable, no filter; all capabilities and
 * devices are the limits module's part).
 */
import type { ContainerSpec, MountSpec, SeccompFilter } from '../runtime/spec.js';
import { CGROUP_VIEW_PATH, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from './paths.js';
import { checkSysctls } from './sysctl.js';

export interface ConfinePolicy {
  /** --privileged: none of the protections below (sysctls still apply). */
  privileged: boolean;
  /** --sysctl settings; checked here against the container's namespaces. */
  sysctls?: Readonly<Record<string, string>>;
  /** The container has its own network namespace (default: spec.namespaces.net is a new one). */
  newNet?: boolean;
  /** Its own IPC namespace (default: spec.namespaces.ipc is a new one). */
  newIpc?: boolean;
  /**
   * Mount the container's own cgroups at /sys/fs/cgroup (default true, only
   * with spec.defaultMounts: an OCI config lists its own `cgroup` mount).
   */
  cgroupView?: boolean;
  /**
   * The filter to install unless privileged: seccomp.ts's
   * defaultSeccompFilter(capabilities) for Docker's default, a profile
   * (--security-opt seccomp=FILE) or OCI linux.seccomp; none = unfiltered
   * (--security-opt seccomp=unconfined).
   */
  seccomp?: SeccompFilter;
  /** --security-opt systempaths=unconfined: no masked or read-only /proc and /sys paths (the rest stays). */
  unconfinedSystemPaths?: boolean;
}

function union(have: readonly string[] | undefined, add: readonly string[]): string[] {
  return [...new Set([...(have ?? []), ...add])];
}

/**
 * The cgroup view as a `cgroup` mount (native/SPAWN.md): each hierarchy's
 * own cgroup, read-only unless privileged, as runc mounts it.
 */
export function cgroupViewMount(privileged: boolean): MountSpec {
  return {
    source: 'cgroup',
    destination: CGROUP_VIEW_PATH,
    type: 'cgroup',
    options: privileged ? ['nosuid', 'noexec', 'nodev'] : ['ro', 'nosuid', 'noexec', 'nodev'],
  };
}

/**
 * Add the policy to `spec` (changed in place, and returned). Throws
 * CN_SYSCTL (exit status 2) for a setting the container may not make, before
 * anything exists.
 */
export function confine(spec: ContainerSpec, policy: ConfinePolicy): ContainerSpec {
  const newNet = policy.newNet ?? spec.namespaces.net === true;
  const newIpc = policy.newIpc ?? spec.namespaces.ipc === true;
  if (policy.sysctls && Object.keys(policy.sysctls).length) {
    // The spawner writes them before the read-only paths go on (SPAWN.md,
    // order of work), so /proc/sys being read-only does not stop them.
    spec.sysctl = { ...spec.sysctl, ...checkSysctls(policy.sysctls, { newNet, newIpc }) };
  }
  const mountNs = spec.namespaces.mount === true;
  if (mountNs && spec.defaultMounts && policy.cgroupView !== false) {
    const mounts = spec.mounts ?? [];
    if (!mounts.some((m) => m.destination === CGROUP_VIEW_PATH)) {
      // First of the mounts, right after the default /sys it sits on.
      spec.mounts = [cgroupViewMount(policy.privileged), ...mounts];
    }
  }
  if (policy.privileged) {
    spec.sysfsWritable = true;
    return spec;
  }
  if (mountNs && !policy.unconfinedSystemPaths) {
    spec.maskedPaths = union(spec.maskedPaths, DOCKER_MASKED_PATHS);
    spec.readonlyPaths = union(spec.readonlyPaths, DOCKER_READONLY_PATHS);
  }
  if (policy.seccomp) spec.seccomp = policy.seccomp;
  return spec;
}
