/**
 * The paths Docker hides or freezes in every unprivileged container (moby
 * oci/defaults.go, DefaultLinuxSpec: MaskedPaths and ReadonlyPaths). Masked:
 * a file reads empty (/dev/null over it), a directory is an empty read-only
 * tmpfs; these expose the host's memory (/proc/kcore), keyrings
 * (/proc/keys), timers and scheduler state of every process, and firmware.
 * Read-only: the kernel's settings, which outside a namespaced subset are the
 * host's own (/proc/sys/kernel/core_pattern runs a program as host root),
 * and the magic SysRq trigger. /proc/asound is in Docker's read-only list too.
 */

export const DOCKER_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DOCKER_READONLY_PATHS: readonly string[] = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Where the container's own cgroups are shown (read-only unless privileged). */
export const CGROUP_VIEW_PATH = '/sys/fs/cgroup';
