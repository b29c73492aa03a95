/**
 * The spawner's spec of a new container, for both commands. Each command
 * maps its own input onto NewContainer (containode: its flags, in launch.ts
 * and limits/apply.ts; containode-oci: config.json, in oci/config.ts) and
 * both go through newContainerSpec(), which adds what the engine makes for
 * every container: the cgroup the init joins in every hierarchy before it
 * runs, eth0 on a switch, and the protections a container gets. Whatever
 * must hold for every container, of either command, is added here once.
 */
import type { ContainerSpec, NetworkSpec } from '../runtime/spec.js';
import { confine } from '../security/confine.js';
import { seccompFilterFor } from '../security/seccomp.js';
import type { SeccompChoice } from '../security/security-opt.js';
import { CAPABILITY_NAMES } from '../limits/capabilities.js';

/**
 * What containode confines a container to (Docker's default), each part
 * lifted by its flag: --privileged all of it, --security-opt
 * seccomp=unconfined the filter, systempaths=unconfined the masked and
 * read-only paths.
 */
export interface Confinement {
  privileged: boolean;
  /** --sysctl settings (checked against the container's namespaces). */
  sysctls?: Readonly<Record<string, string>> | undefined;
  /** Docker's default filter unless said otherwise. */
  seccomp?: SeccompChoice | undefined;
  /** --security-opt systempaths=unconfined. */
  unconfinedSystemPaths?: boolean | undefined;
}

export interface NewContainer {
  /** What the command's own input says: namespaces, root, mounts, process, ... */
  spec: ContainerSpec;
  /** The cgroup made for it (ContainerCgroup): the init joins each of these cgroup.procs files. */
  cgroup?: { procsFiles: string[] } | undefined;
  /** eth0: the tap the spawner makes in the new network namespace, its addresses and routes. */
  network?: NetworkSpec | undefined;
  /**
   * What the container may change on the host. containode: Docker's
   * default confinement, lifted by its flags; containode-oci: none here,
   * its config's own fields (maskedPaths, readonlyPaths, linux.seccomp, a
   * cgroup mount, ...) say what is confined, as the runtime spec has it.
   */
  confinement?: Confinement | undefined;
}

export function newContainerSpec(c: NewContainer): ContainerSpec {
  const spec: ContainerSpec = { ...c.spec, namespaces: { ...c.spec.namespaces }, process: { ...c.spec.process } };
  if (c.cgroup?.procsFiles.length) spec.cgroupProcs = [...(spec.cgroupProcs ?? []), ...c.cgroup.procsFiles];
  if (c.network) {
    if (spec.namespaces.net !== true) throw new Error('internal: eth0 needs a new network namespace');
    spec.network = c.network;
  }
  if (c.confinement) applyConfinement(spec, c.confinement);
  return spec;
}

/**
 * Docker's default profile, masked paths and the rest (security/confine.ts)
 * on a spec whose capabilities are final: the filter's capability-dependent
 * rules (mount with CAP_SYS_ADMIN, ...) follow the bounding set, as
 * `docker run --cap-add` does. No capability lines = every capability.
 */
function applyConfinement(spec: ContainerSpec, c: Confinement): void {
  const caps = (spec.process.capabilities?.bounding ?? CAPABILITY_NAMES).map(String);
  const seccomp = c.privileged ? undefined : seccompFilterFor(c.seccomp ?? { kind: 'default' }, caps);
  confine(spec, {
    privileged: c.privileged,
    ...(c.sysctls ? { sysctls: c.sysctls } : {}),
    ...(seccomp ? { seccomp } : {}),
    ...(c.unconfinedSystemPaths ? { unconfinedSystemPaths: true } : {}),
  });
}
