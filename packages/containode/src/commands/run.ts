/** `containode [options] [--] PROGRAM [ARGS...]`: run a program in a new container. */
import { imageName, parseRunOptions, storeOf, type RawRunOptions, type RunOptions } from '../container/options.js';
import { resolveUser } from '../container/user.js';
import { checkVolumeTargets } from '../container/volumes.js';
import type { RawLimitOptions } from '../limits/options.js';
import type { Confinement } from '../container/container-spec.js';
import { writeSync } from 'node:fs';
import { UsageError } from '@containet/common';

export type RawOptions = RawRunOptions & RawLimitOptions & { debug?: boolean; securityOpt?: string[]; sysctl?: string[]; detach?: boolean; restart?: string };

export const commandNames = ['run'];

export const help = `Run PROGRAM in a new container (mount, PID, UTS, IPC and network namespaces), optionally plugged into a containet switch.

Without -r or --image the container shares the host's files (as the original
containode: it can read and write them, as root); give it its own root with
-r ROOT (changes go to an overlay in TOP) or --image NAME. Either way it is
confined as Docker's default: a system-call filter, /proc/sys and /sys
read-only, sensitive /proc files masked, Docker's capabilities only;
--privileged lifts all of it.`;

export const examples = `
Examples:
  # a shell on switch /tmp/containet.sock with address 10.0.0.2/24 (eth0)
  containode -4 10.0.0.2/24 -s /tmp/containet.sock /bin/sh

  # the same in a busybox root filesystem; changes go to /tmp/top-web, kept
  containode -r /srv/busybox -t /tmp/top-web -i web -4 10.0.0.3/24 -s /tmp/containet.sock /bin/sh

  # IPv6 too, with default routes, an environment variable and a working dir
  containode -s /tmp/containet.sock -4 10.0.0.4/24 -g 10.0.0.1 -6 fd00::4/64 -e MODE=test -w /tmp sh -c 'ip addr'

  # host network and IPC, throw the changes away at exit
  containode -N -I -r /srv/busybox --rm -- ls -l /

  # an image pulled by mocker: its Entrypoint/Cmd, Env, WorkingDir and User
  containode --rm --image alpine
  containode --rm -r image:alpine -u 1000 -w /tmp -e MODE=test sh -c 'id; pwd'

  # a host directory read-write and a file read-only (made in TOP/upper if missing)
  containode --rm -r /srv/busybox -v /srv/data:/data -v /etc/app.conf:/etc/app.conf:ro -- sh -c 'ls /data'

  # publish the container's port 80 on the host's port 8080, eth0 MTU 1450
  containode -s /tmp/containet.sock -4 10.0.0.5/24 -g 10.0.0.1 -p 8080:80 --mtu 1450 --image web

  # a router with three interfaces on two switches (eth0, eth1, and lan2)
  containode run -d --name r1 --sysctl net.ipv4.ip_forward=1 \\
    --net /tmp/a.sock,ip=10.0.1.1/24 --net /tmp/b.sock,ip=10.0.2.1/24,mtu=1450 \\
    --net /tmp/b.sock,if=lan2,ip=10.0.3.1/24,vlan=30 --image alpine -- sleep infinity

Interfaces: -s SOCK [-4 ADDR] [-6 ADDR] [--mtu N] make eth0, as always; each
--net SOCK[,if=NAME][,ip=ADDR/LEN][,ip6=ADDR/LEN][,mac=MAC][,mtu=N]
[,vlan=ID|trunk=ID:ID...[,native=ID]] adds one more (after -s's eth0; named
eth0, eth1, ... unless if= names it). A trunk's VLANs are separated by ":"
(a bare number after trunk= continues the list too: trunk=10,20). -s and -4
may be given once. -g picks the interface whose subnet holds the gateway.

Exit status: the program's; 128+N when it was killed by signal N; 127 when it
does not exist, 126 when it is not executable; 2 for a bad command line.
Signals INT, TERM, HUP, QUIT, USR1 and USR2 sent to containode reach the
container's PID 1 (which, as any PID 1, ignores those it has no handler for).

Managing running containers: containode ps | exec | stop | kill | inspect (see containode COMMAND --help).
`;

export async function handler(raw: RawOptions, args: string[]): Promise<number> {
  const name = imageName(raw);
  let opts: RunOptions;
  if (name !== undefined) {
    const { findImage, unpackImageRoot } = await import('../container/image.js');
    const store = storeOf(raw);
    opts = parseRunOptions(raw, args, findImage(name, store));
    // Unpacked once per image digest and shared: the overlay's lower layer.
    opts.root = await unpackImageRoot(name, store);
  } else {
    opts = parseRunOptions(raw, args);
  }
  if (opts.user !== undefined) applyUser(opts);
  checkVolumeTargets(opts.volumes, opts.root !== undefined);
  const confinement = await parseConfinement(raw, opts);
  if (raw.detach) return detached(raw, opts, confinement);
  if (raw.restart !== undefined) throw new UsageError('--restart needs -d: a foreground container ends with its program', 'add -d');
  const { launch } = await import('../container/launch.js');
  // Limits, user namespace, capabilities, network hook; checks
  // them first, creates the cgroup in amendSpec, removes it at the end.
  const { withContainerLimits } = await import('../limits/apply.js');
  return withContainerLimits(raw, opts.id, (hooks) => launch(opts, hooks, confinement));
}

/**
 * --privileged, --security-opt and --sysctl, checked before anything is
 * created: a profile that does not parse, an unknown option or a setting
 * outside the container's namespaces is refused here (exit 2).
 */
async function parseConfinement(raw: RawOptions, opts: RunOptions): Promise<Confinement> {
  const { parseSecurityOpts } = await import('../security/security-opt.js');
  const { parseSysctlOptions } = await import('../security/sysctl.js');
  const security = parseSecurityOpts(raw.securityOpt ?? []);
  const sysctls = parseSysctlOptions(raw.sysctl ?? [], { newNet: opts.newNet, newIpc: opts.newIpc });
  if (security.seccomp.kind === 'profile') {
    // Read and checked now; its capability-dependent rules are settled
    // again once the capabilities are final (newContainerSpec).
    const { seccompFilterFor } = await import('../security/seccomp.js');
    const { DEFAULT_CAPABILITIES } = await import('../limits/capabilities.js');
    seccompFilterFor(security.seccomp, DEFAULT_CAPABILITIES);
  }
  // The limits set no_new_privs unless --privileged; the option says otherwise.
  if (security.noNewPrivileges !== undefined) raw.noNewPrivileges = security.noNewPrivileges;
  return {
    privileged: raw.privileged === true,
    sysctls,
    seccomp: security.seccomp,
    unconfinedSystemPaths: security.unconfinedSystemPaths === true,
  };
}

/** The user to run as, from -u or the image, with HOME from its passwd entry (as Docker). */
function applyUser(opts: RunOptions): void {
  const user = resolveUser(opts.root, opts.user!);
  opts.resolvedUser = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
  if (!opts.explicitHome && user.home) opts.env = opts.env.map((kv) => (kv.startsWith('HOME=') ? `HOME=${user.home}` : kv));
}

/**
 * -d: started, then left to containode-spawn's supervisor (container/detach.ts);
 * prints the identity. The cgroup stays with the container (the supervisor
 * removes it at the end) unless the start failed.
 */
async function detached(raw: RawOptions, opts: RunOptions, confinement: Confinement): Promise<number> {
  const { parseRestart, launchDetached } = await import('../container/detach.js');
  const restart = parseRestart(raw.restart);
  if (opts.publish.length) throw new UsageError('-p needs the foreground: the published port\'s relay runs in containode itself', 'run without -d, or reach the container through the switch');
  if (opts.tty) throw new UsageError('--tty needs the foreground: a detached container has no terminal', 'use containode exec -it ID sh');
  const { prepareLimits } = await import('../limits/apply.js');
  const { parseLimitOptions } = await import('../limits/options.js');
  const session = prepareLimits(parseLimitOptions(raw), opts.id);
  try {
    await launchDetached(opts, session.hooks, confinement, restart);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  writeSync(1, `${opts.id}\n`);
  // spawnContainer keeps the spawner's child handle, which has no unref:
  // the container is the supervisor's now and this process is done.
  // eslint-disable-next-line n/no-process-exit
  process.exit(0);
}
