/**
 * The one call containode makes for its limits: options in, the spec
 * additions and the work around the run (cgroup before, hook at SYNC 1, OOM
 * report after, cgroup removal at the end) out, as LaunchHooks.
 */
import { chownSync } from 'node:fs';
import { dirname } from 'node:path';
import { ContainetError } from '@containet/common';
import type { LaunchHooks } from '../container/launch.js';
import type { ContainerSpec } from '../runtime/spec.js';
import { CGROUP_PARENT, ContainerCgroup, removeStaleCgroups } from '../cgroup/cgroup.js';
import { containodeStore } from '../container/containode-store.js';
import { recordAlive } from '../container/state.js';
import { detectCgroupLayout, type CgroupLayout } from '../cgroup/layout.js';
import { blockedDirectory, hostIdOf } from './idmap.js';
import { runNetHook } from './hook.js';
import { parseLimitOptions, type ContainerLimits, type LimitEnvironment, type RawLimitOptions } from './options.js';
import { formatBytes } from './size.js';

export interface LimitsSession {
  readonly limits: ContainerLimits;
  /** For launch(): amendSpec creates the cgroup, beforeStart runs the hook, afterExit reports OOM kills. */
  readonly hooks: LaunchHooks;
  /** The container's cgroup, once amendSpec made it. */
  readonly cgroup: ContainerCgroup | undefined;
  /** Remove the cgroup (killing leftovers). Safe to call twice. */
  release(): Promise<void>;
}

/** An empty cgroup without a live container is stale once it is this old. */
const STALE_AGE_MS = 60_000;

function hasLimits(limits: ContainerLimits): boolean {
  const c = limits.cgroup;
  return c.memory !== undefined || c.cpus !== undefined || c.pidsLimit !== undefined;
}

function refusedByTheSystem(err: unknown): boolean {
  const code = ((err as { cause?: NodeJS.ErrnoException }).cause)?.code;
  return err instanceof ContainetError && (code === 'EROFS' || code === 'EACCES' || code === 'EPERM');
}

/** Add the limits to `spec` (cgroup procs files, namespaces, maps, capabilities). */
export function amendSpecWithLimits(spec: ContainerSpec, limits: ContainerLimits, cgroup: ContainerCgroup | undefined): void {
  if (cgroup) {
    // The init joins it through newContainerSpec (container-spec.ts).
    // Not in spec.cleanup.rmdir: the spawner would remove the cgroup
    // before afterExit reads its OOM counters. But when containode is
    // SIGKILLed, its spawner removes it (orphan_rmdir); what a
    // crash of both leaves goes with removeStaleCgroups() (containode cleanup).
    spec.cleanup = { ...spec.cleanup, orphanRmdir: [...(spec.cleanup?.orphanRmdir ?? []), ...[...cgroup.plan.dirs].reverse()] };
    // cgroup v2 has no devices files: the allowlist is a BPF program the spawner attaches.
    const program = cgroup.plan.deviceProgram;
    if (program) spec.deviceCgroup = { path: program.dir, rules: program.rules };
  }
  if (limits.cgroupns) spec.namespaces.cgroup = true;
  if (limits.userns) {
    spec.namespaces.user = true;
    spec.uidMappings = limits.userns.uidMappings;
    spec.gidMappings = limits.userns.gidMappings;
    // The init becomes root of its user namespace (uid 0 inside = the mapped id outside).
    spec.process.user ??= { uid: 0, gid: 0 };
    // The overlay is mounted by the container's root: the upper and work
    // directories must be its own for it to write changes there.
    const overlay = spec.rootfs?.overlay;
    if (overlay) {
      const uid = hostIdOf(limits.userns.uidMappings, spec.process.user.uid)!;
      const gid = hostIdOf(limits.userns.gidMappings, spec.process.user.gid)!;
      // upper and work themselves become its own below; their parents must let it through.
      for (const path of [...overlay.lower, dirname(overlay.upper), dirname(overlay.work)]) {
        const blocked = blockedDirectory(path, uid, gid);
        if (blocked) {
          throw new ContainetError('CN_USERNS_ACCESS', `-U: the container's root (uid ${uid} on the host) can't reach ${path}: ${blocked} is closed to it`, {
            hint: `chmod o+x ${blocked}, or keep the root filesystem and top directory elsewhere`,
          });
        }
      }
      for (const dir of [overlay.upper, overlay.work]) chownSync(dir, uid, gid);
    }
  }
  if (!limits.capabilities.keepAll) {
    const caps = limits.capabilities.caps;
    // Inheritable stays empty, as moby does since CVE-2022-24769: file
    // capabilities of a program must not regain what the container lacks.
    spec.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
  }
  if (limits.noNewPrivileges) spec.process.noNewPrivileges = true;
}

/**
 * Start a session for container `id` with already parsed limits. Nothing is
 * created until launch() calls hooks.amendSpec.
 */
export function prepareLimits(limits: ContainerLimits, id: string, layout?: CgroupLayout): LimitsSession {
  let cgroup: ContainerCgroup | undefined;
  const hooks: LaunchHooks = {
    amendSpec: async (spec) => {
      const lay = layout ?? detectCgroupLayout();
      // No cgroup filesystem in sight (`ip netns exec` mounts a fresh /sys
      // without it): the container runs in containode's own cgroup, as a
      // container without limits always could there, so without the
      // default device allowlist too; capabilities and the filter remain.
      const wanted = lay.kind === 'none' ? { ...limits.cgroup, devices: undefined } : limits.cgroup;
      try {
        cgroup = await ContainerCgroup.create(id, wanted, lay);
      } catch (err) {
        // Without limits the cgroup is only for tracking: where cgroups
        // can't be made (read-only cgroupfs in a container, no rights),
        // containers still run, in containode's own cgroup.
        if (hasLimits(limits) || !refusedByTheSystem(err)) throw err;
      }
      amendSpecWithLimits(spec, limits, cgroup);
    },
    beforeStart: async (pid) => {
      if (limits.netHook) await runNetHook(limits.netHook, pid, id);
    },
    cgroup: () => cgroup?.record,
    afterExit: () => {
      const oom = cgroup?.oom();
      if (oom?.kills) {
        const limit = limits.cgroup.memory === undefined ? '' : ` (--memory ${formatBytes(limits.cgroup.memory)})`;
        process.stderr.write(`containode: ${id}: out of memory: the OOM killer killed ${oom.kills} process${oom.kills === 1 ? '' : 'es'} in the container${limit}\n`);
      } else if (oom?.kills === undefined && oom?.hitLimit) {
        process.stderr.write(`containode: ${id}: the container reached its memory limit\n`);
      }
    },
  };
  return {
    limits,
    hooks,
    get cgroup() {
      return cgroup;
    },
    release: async () => {
      await cgroup?.remove();
    },
  };
}

/**
 * containode's entry: check the options (UsageError before anything
 * exists, CN_CGROUP_UNSUPPORTED for a limit this machine can't apply), run
 * the container with the hooks, always remove the cgroup.
 */
export async function withContainerLimits(raw: RawLimitOptions, id: string, run: (hooks: LaunchHooks) => Promise<number>, env?: LimitEnvironment): Promise<number> {
  const limits = parseLimitOptions(raw, env);
  const layout = detectCgroupLayout();
  if (hasLimits(limits)) ContainerCgroup.check(limits.cgroup, `${CGROUP_PARENT}/${id}`, layout);
  // Cgroups of containers whose containode was SIGKILLed (its spawner
  // killed the container, but only containode removes the cgroup).
  const store = containodeStore();
  await removeStaleCgroups((other) => {
    const rec = store.read(other);
    return rec !== null && recordAlive(rec);
  }, layout, { onlyEmpty: true, minAgeMs: STALE_AGE_MS }).catch(() => undefined);
  const session = prepareLimits(limits, id, layout);
  try {
    return await run(session.hooks);
  } finally {
    // A cgroup that won't go is worth a warning, not the program's status.
    await session.release().catch((err: Error) => process.stderr.write(`containode: warning: ${err.message}\n`));
  }
}
