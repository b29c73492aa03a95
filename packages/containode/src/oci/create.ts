/**
 * `create` (runtime.md "Lifecycle" steps 1-5): check the bundle, reserve
 * the id, make the cgroup, have the spawner build the namespaces and the
 * root, run prestart/createRuntime/createContainer hooks at its first sync
 * point, and return once the init waits on exec.fifo, with nothing of the
 * runtime left running. `run` uses the same path in attached mode.
 */
import { isAbsolute, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { chownSync, writeFileSync, renameSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import type { SpawnedContainer } from '../runtime/spawn.js';
import type { ContainerSpec, IdMapping } from '../runtime/spec.js';
import { loadBundle, toContainerSpec, type Bundle } from './config.js';
import { ContainerCgroup } from '../cgroup/cgroup.js';
import { OCI_LABELS } from '../cgroup/plan.js';
import { cgroupName, ociResources, wantsCgroup } from './cgroup-path.js';
import { runContainerHook, runHostHook } from '../container/hooks.js';
import type { Logger } from './log.js';
import { planSwitch, type SwitchPlan } from './switch-annotations.js';
import type { SwitchLink } from '../container/switch-link.js';
import { ContainerStore, OCI_VERSION, processAlive, processStartTime, selfRef, type ContainerRecord } from '../container/state.js';
import { checkId } from '../container/engine.js';
import { newContainerSpec } from '../container/container-spec.js';

export interface Globals {
  root: string;
  log: Logger;
}

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  /** attached: the spawner stays as the init's parent (run in the foreground). */
  attached?: boolean;
}

export interface Created {
  record: ContainerRecord;
  /** Attached mode: the running spawner. */
  spawned: SpawnedContainer;
}

/** Write a file so that readers never see it half-written. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function owner(): string {
  // runc leaves owner empty for root and names the user when rootless.
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '';
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}

/** The host id that `id` maps to, or undefined when it is not mapped. */
function hostId(maps: { containerID: number; hostID: number; size: number }[] | undefined, id: number): number | undefined {
  const m = (maps ?? []).find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

/**
 * The spawner makes exec.fifo 0600 for host root; the init opens it as the
 * container's root, before it becomes the process user (SPAWN.md). In a new
 * user namespace that root is a mapped host id which could not open it, and
 * the init would die unseen after `ready`: hand the fifo to it while the
 * init still waits at the first sync point, as runc chowns its fifo to the
 * container's root.
 */
function giveFifoToContainer(fifo: string, linux: { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] }): void {
  const uid = hostId(linux.uidMappings, 0);
  const gid = hostId(linux.gidMappings, 0);
  if (uid === undefined || gid === undefined) {
    throw new ContainetError('CN_OCI_CONFIG', 'config.json: the container\'s root (0:0) is not mapped by linux.uidMappings/gidMappings', {
      hint: 'map container id 0 in both, as runc requires',
    });
  }
  chownSync(fifo, uid, gid);
}

export async function createContainer(g: Globals, o: CreateOptions): Promise<Created> {
  const bundle = loadBundle(o.bundle);
  for (const w of bundle.warnings) g.log.warn(`config.json: ${w}`);
  for (const w of bundle.ignored) g.log.debug(`config.json: ${w}`);
  const cfg = bundle.config;
  const namespaces: Record<string, true | string> = {};
  for (const n of cfg.linux?.namespaces ?? []) namespaces[n.type === 'network' ? 'net' : n.type] = n.path ?? true;
  const plan = await planSwitch(cfg.annotations, namespaces['net'] === true);
  checkId(o.id);
  const dirs = new ContainerStore(g.root);
  const rec: ContainerRecord = {
    ociVersion: OCI_VERSION,
    id: o.id,
    runtime: 'containode-oci',
    status: 'creating',
    pid: 0,
    bundle: bundle.dir,
    rootfs: bundle.rootfs,
    created: new Date().toISOString(),
    owner: owner(),
    creator: selfRef(),
    command: cfg.process?.args ?? [],
    namespaces,
    addresses: plan?.addresses ?? [],
  };
  if (cfg.annotations) rec.annotations = cfg.annotations;
  if (cfg.hooks) rec.hooks = cfg.hooks;
  if (cfg.process) rec.process = cfg.process;
  if (cfg.hostname) rec.hostname = cfg.hostname;
  if (cfg.linux?.seccomp) rec.seccomp = cfg.linux.seccomp;
  if (dirs.claim(rec, { replaceStale: false })) {
    throw new ContainetError('CN_OCI_EXISTS', `container ${o.id} already exists`, { hint: `delete it first: containode-oci delete ${o.id}` });
  }
  return dirs.locked(o.id, () => build(g, o, dirs, rec, bundle, plan));
}

async function build(g: Globals, o: CreateOptions, dirs: ContainerStore, rec: ContainerRecord, bundle: Bundle, plan: SwitchPlan | undefined): Promise<Created> {
  const cfg = bundle.config;
  const namespaces = rec.namespaces ?? {};
  const links: SwitchLink[] = [];
  let spawned: SpawnedContainer | undefined;
  let cgroupProcs: string[] = [];
  let deviceCgroup: ContainerSpec['deviceCgroup'];
  try {
    dirs.write(rec);
    if (plan) {
      const { SwitchLink } = await import('../container/switch-link.js');
      for (const i of plan.interfaces) links.push(await SwitchLink.open(i.socket));
    }
    const linux = cfg.linux ?? {};
    if (wantsCgroup(linux.cgroupsPath, linux.resources)) {
      // Every hierarchy the host has, as runc joins them (the container sees its own cgroup in each).
      const cg = await ContainerCgroup.createNamed(cgroupName(o.id, linux.cgroupsPath), ociResources(linux), { labels: OCI_LABELS, joinExisting: true });
      cgroupProcs = cg.procsFiles;
      deviceCgroup = cg.plan.deviceProgram ? { path: cg.plan.deviceProgram.dir, rules: cg.plan.deviceProgram.rules } : undefined;
      rec.cgroup = cg.record;
      dirs.write(rec);
    }
    const ociSpec = toContainerSpec(bundle, {
      detached: !o.attached,
      execFifo: dirs.fifo(o.id),
      consoleSocket: o.consoleSocket === undefined ? undefined : resolve(o.consoleSocket),
      callerConsole: o.attached === true,
      callerSize: o.attached && cfg.process?.terminal ? (await import('../container/terminal.js')).ourTerminalSize() : undefined,
      noPivot: o.noPivot === true,
      warn: (m) => g.log.warn(m),
    });
    // The same path as containode's containers: cgroup, eth0, protections.
    // cgroup v2: the device allowlist is a program the spawner attaches.
    if (deviceCgroup) ociSpec.deviceCgroup = deviceCgroup;
    const spec = newContainerSpec({ spec: ociSpec, cgroup: { procsFiles: cgroupProcs }, network: plan?.network });
    const { spawnContainer } = await import('../runtime/spawn.js');
    // The spawner's warnings are the runtime's: to --log, never into the
    // container's stderr (conmon makes that the container's log).
    spawned = await spawnContainer(spec, { stdio: 'inherit', onWarning: (m) => g.log.warn(m) });
    rec.pid = spawned.pid;
    rec.pidStart = processStartTime(spawned.pid) ?? undefined;
    dirs.write(rec);
    g.log.debug(`container ${o.id}: init is pid ${rec.pid}`);
    if (namespaces['user'] === true) giveFifoToContainer(dirs.fifo(o.id), cfg.linux ?? {});

    if (plan) {
      const taps = plan.interfaces.map((i) => spawned!.taps.find((t) => t.ifname === i.ifname));
      const { closeFd } = await import('@containet/common');
      const missing = plan.interfaces.find((_, n) => !taps[n]);
      if (missing) {
        for (const t of spawned.taps) closeFd(t.fd);
        throw new ContainetError('CN_SPAWN', `the spawner did not hand over the tap ${missing.ifname}`);
      }
      const first = plan.interfaces[0]!;
      rec.mac = taps[0]!.mac || first.mac;
      rec.interfaces = plan.interfaces.map((i, n) => ({ ifname: i.ifname, socket: i.socket, mac: taps[n]!.mac || i.mac, addresses: i.addresses, port: -1, ...(i.vlan ? { vlan: i.vlan } : {}) }));
      if (plan.reattach) {
        // The keeper holds the taps from now on; our copies go.
        rec.switch = { socket: first.socket, node: o.id, port: -1, persist: false };
        dirs.write(rec);
        const { startKeeper } = await import('./keeper.js');
        try {
          const kept = await startKeeper(g.root, o.id, taps.map((t) => t!.fd));
          rec.switch = { ...rec.switch, port: kept.ports[0] ?? -1, keeper: kept.keeper };
          kept.ports.forEach((port, n) => (rec.interfaces![n]!.port = port));
        } finally {
          for (const t of taps) closeFd(t!.fd);
        }
      } else {
        // Persistent ports: the switch holds the taps, delete detaches them.
        rec.switch = { socket: first.socket, node: o.id, port: -1, persist: true };
        for (const [n, i] of plan.interfaces.entries()) {
          const port = await links[n]!.attach({ node: o.id, ifname: i.ifname, mac: i.mac, addresses: i.addresses, pid: rec.pid, ...(i.vlan ? { vlan: i.vlan } : {}) }, taps[n]!.fd, { persist: true });
          rec.interfaces[n]!.port = port;
          if (n === 0) rec.switch.port = port;
        }
      }
      dirs.write(rec);
    }

    const hooks = cfg.hooks ?? {};
    const state = () => dirs.ociState(rec);
    // runtime.md: prestart (deprecated) and createRuntime run in the runtime
    // namespace, createContainer in the container's, all before pivot_root.
    for (const h of hooks.prestart ?? []) await runHostHook('prestart', h, state());
    for (const h of hooks.createRuntime ?? []) await runHostHook('createRuntime', h, state());
    for (const h of hooks.createContainer ?? []) {
      await runContainerHook('createContainer', h, state(), rec.pid, Object.keys(namespaces), dirs.dir(o.id));
    }

    await spawned.release();
    rec.status = 'created';
    delete rec.creator;
    dirs.write(rec);
    if (o.pidFile) writeAtomic(isAbsolute(o.pidFile) ? o.pidFile : resolve(o.pidFile), String(rec.pid));
    return { record: rec, spawned };
  } catch (err) {
    if (spawned) await spawned.abort();
    // Detached, the init outlives the spawner once released.
    if (rec.pid > 0 && processAlive(rec.pid, rec.pidStart)) {
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {}
    }
    if (rec.switch?.keeper) {
      try {
        process.kill(rec.switch.keeper.pid, 'SIGTERM');
      } catch {
        // gone already
      }
    } else if (rec.switch) {
      const { SwitchLink } = await import('../container/switch-link.js');
      await SwitchLink.detachInterfaces(rec.switch.socket, rec.switch.node, rec.interfaces);
    }
    if (rec.cgroup) await ContainerCgroup.fromRecord(rec.cgroup).remove().catch(() => {});
    dirs.remove(o.id);
    throw err;
  } finally {
    for (const l of links) l.close();
  }
}
