/**
 * containode's options for resource limits, user namespaces, capabilities
 * and the network hook: registered on the CLI by addLimitOptions(), checked
 * by parseLimitOptions() before anything is created.
 */
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { UsageError } from '@containet/common';
import type { IdMapping } from '../runtime/spec.js';
import { DEFAULT_DEVICE_RULES, type CgroupLimits } from '../cgroup/plan.js';
import { chooseCapabilities, type CapabilityChoice } from './capabilities.js';
import { checkIdMap, defaultIdMapping, parseIdMapping } from './idmap.js';
import { checkNetHook } from './hook.js';
import { parseCpus, parseMemory, parsePidsLimit } from './size.js';

/** What commander hands over for these options. */
export interface RawLimitOptions {
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  /** --cgroupns: true, --no-cgroupns: false, neither: undefined (on where supported). */
  cgroupns?: boolean;
  userns?: boolean;
  uidmap?: string[];
  gidmap?: string[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  netHook?: string;
  /** --security-opt no-new-privileges[=true|false]; default: set unless --privileged. */
  noNewPrivileges?: boolean;
}

export interface ContainerLimits {
  cgroup: CgroupLimits;
  /** Run the container in a new cgroup namespace. */
  cgroupns: boolean;
  /** A new user namespace with these maps; undefined: none. */
  userns: { uidMappings: IdMapping[]; gidMappings: IdMapping[] } | undefined;
  capabilities: CapabilityChoice;
  noNewPrivileges: boolean;
  /** Absolute path of the network hook. */
  netHook: string | undefined;
}

/** Where the kernel offers cgroup namespaces (Linux 4.6). */
export const CGROUPNS_FILE = '/proc/self/ns/cgroup';

export interface LimitEnvironment {
  /** Whether the kernel has cgroup namespaces. */
  cgroupnsSupported?: boolean;
  subuidFile?: string;
  subgidFile?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const limitsHelp = `
Limits, users and capabilities:
  # at most 256 MiB (no swap), half a CPU and 100 processes
  containode --memory 256m --cpus 0.5 --pids-limit 100 -r /srv/busybox sh

  # root inside is uid 100000 outside; files it creates in TOP belong to 100000
  containode -U -r /srv/busybox -t /tmp/top sh -c 'touch /tmp/x'

  # Docker's default capabilities minus raw sockets, plus changing the clock
  containode --cap-drop NET_RAW --cap-add SYS_TIME sh

  # wire the container with a veth: the hook runs as \`/usr/local/bin/cosonet -pid PID\`
  containode --net-hook /usr/local/bin/cosonet -r /srv/busybox sh
`;

/** Register the options on the containode command (a thin adapter: parsing is parseLimitOptions). */
export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option('--memory <bytes>', 'memory limit, with k/m/g suffixes (no swap on top)')
    .option('--cpus <n>', 'CPU limit, fractional (0.5 = half a core)')
    .option('--pids-limit <n>', 'most processes and threads at once')
    .addOption(new Option('--cgroupns', 'new cgroup namespace: the container sees its cgroup as the root (default where supported)'))
    .addOption(new Option('--no-cgroupns', 'stay in the host\'s cgroup namespace'))
    .option('-U, --userns', 'new user namespace: root inside is an unprivileged id outside')
    .option('--uidmap <container:host:count>', 'uid map of the user namespace (repeatable; implies -U; default 0:100000:65536 or root\'s /etc/subuid range)', collect)
    .option('--gidmap <container:host:count>', 'gid map (repeatable; implies -U; default: as --uidmap)', collect)
    .option('--privileged', 'keep every capability and do not set no_new_privs')
    .option('--cap-add <cap>', 'add a capability (NET_ADMIN, CAP_SYS_TIME, ALL; repeatable)', collect)
    .option('--cap-drop <cap>', 'drop a capability from the default set (or ALL; repeatable)', collect)
    .option('--net-hook <path>', 'run `PATH -pid PID` once the namespaces exist, before the program starts (COSO contract)')
    .addHelpText('after', limitsHelp);
}

export function parseLimitOptions(raw: RawLimitOptions, env: LimitEnvironment = {}): ContainerLimits {
  const cgroup: CgroupLimits = {};
  if (raw.memory !== undefined) cgroup.memory = parseMemory(raw.memory);
  if (raw.cpus !== undefined) cgroup.cpus = parseCpus(raw.cpus);
  if (raw.pidsLimit !== undefined) cgroup.pidsLimit = parsePidsLimit(raw.pidsLimit);
  // Docker's device allowlist (the devices cgroup) unless --privileged: a
  // container with CAP_MKNOD may make a node of any device, but not open it.
  if (!raw.privileged) cgroup.devices = DEFAULT_DEVICE_RULES;

  const supported = env.cgroupnsSupported ?? existsSync(CGROUPNS_FILE);
  if (raw.cgroupns === true && !supported) throw new UsageError('--cgroupns: this kernel has no cgroup namespaces (Linux 4.6 or later needed)', 'run without --cgroupns');

  let userns: ContainerLimits['userns'];
  if (raw.userns || raw.uidmap?.length || raw.gidmap?.length) {
    const uidMappings = raw.uidmap?.length
      ? checkIdMap(raw.uidmap.map((t) => parseIdMapping(t, '--uidmap')), '--uidmap')
      : [defaultIdMapping(env.subuidFile ?? '/etc/subuid')];
    // As podman: without --gidmap, groups map like users.
    const gidMappings = raw.gidmap?.length
      ? checkIdMap(raw.gidmap.map((t) => parseIdMapping(t, '--gidmap')), '--gidmap')
      : raw.uidmap?.length
        ? uidMappings.map((m) => ({ ...m }))
        : [defaultIdMapping(env.subgidFile ?? '/etc/subgid')];
    userns = { uidMappings, gidMappings };
  }

  const capabilities = chooseCapabilities({ privileged: raw.privileged, add: raw.capAdd, drop: raw.capDrop });
  return {
    cgroup,
    cgroupns: raw.cgroupns ?? supported,
    userns,
    capabilities,
    noNewPrivileges: raw.noNewPrivileges ?? !raw.privileged,
    netHook: raw.netHook === undefined ? undefined : checkNetHook(raw.netHook),
  };
}
