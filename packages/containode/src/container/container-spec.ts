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

export interface NewContainer {
  /** What the command's own input says: namespaces, root, mounts, process, ... */
  spec: ContainerSpec;
  /** The cgroup made for it (ContainerCgroup): the init joins each of these cgroup.procs files. */
  cgroup?: { procsFiles: string[] } | undefined;
  /** eth0: the tap the spawner makes in the new network namespace, its addresses and routes. */
  network?: NetworkSpec | undefined;
  /**
   * What the container may change on the host. containode: --privileged
   * lifts the protections; containode-oci: false, its config's own fields
   * (maskedPaths, readonlyPaths, linux.seccomp, ...) say what is confined.
   */
  confinement: { privileged: boolean };
}

export function newContainerSpec(c: NewContainer): ContainerSpec {
  const spec: ContainerSpec = { ...c.spec, namespaces: { ...c.spec.namespaces }, process: { ...c.spec.process } };
  if (c.cgroup?.procsFiles.length) spec.cgroupProcs = [...(spec.cgroupProcs ?? []), ...c.cgroup.procsFiles];
  if (c.network) {
    if (spec.namespaces.net !== true) throw new Error('internal: eth0 needs a new network namespace');
    spec.network = c.network;
  }
  return spec;
}
