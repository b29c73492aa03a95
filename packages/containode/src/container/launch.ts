/**
 * The containode engine: options in, a container run to its end, its exit
 * status out. Order matters for "nothing left behind": everything that can
 * be refused (the identity, the switch) is checked before anything is
 * created, and each thing created has its release registered next to it.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { spawnContainer, type SpawnedContainer } from '../runtime/spawn.js';
import type { ContainerSpec } from '../runtime/spec.js';
import { closeFd, ContainetError, randomMac } from '@containet/common';
import { containodeStore } from './containode-store.js';
import { processStartTime, selfRef, type CgroupRecord, type ContainerRecord, type ContainerStore, type InterfaceRecord } from './state.js';
import type { RunOptions } from './options.js';
import type { NetworkSpec } from '../runtime/spec.js';
import { newContainerSpec, type Confinement } from './container-spec.js';
import { SwitchLink } from './switch-link.js';
import { ourTerminalSize } from './terminal.js';
import type { PortProxy } from '../publish/proxy.js';
import type { AttachedTerminal } from './terminal.js';
import { makeVolumeSources, volumeMounts, volumeRecords } from './volumes.js';

/** Signals containode passes on to the container's PID 1. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface LaunchHooks {
  /** Extra spec settings (cgroups, user namespace, capabilities, ...). */
  amendSpec?: (spec: ContainerSpec) => void | Promise<void>;
  /** At SYNC 1: the init exists (network hooks); throw to abort the start. */
  beforeStart?: (pid: number) => void | Promise<void>;
  /** After the container ended (release cgroups, report OOM, ...). */
  afterExit?: (status: number) => void | Promise<void>;
  /** The cgroup amendSpec made, for the record. */
  cgroup?: () => CgroupRecord | undefined;
}

/** What containode's options say of a new container (newContainerSpec adds its cgroup and eth0). */
export function buildSpec(opts: RunOptions, store: ContainerStore = containodeStore()): ContainerSpec {
  const spec: ContainerSpec = {
    namespaces: { pid: true, mount: true, uts: true },
    hostname: opts.id,
    defaultMounts: true,
    defaultDevices: true,
    process: { args: opts.args, env: opts.env, cwd: opts.workdir },
    // --rm: a containode killed before it could remove TOP leaves that to the spawner.
    // The record goes with the container, even when containode was SIGKILLed.
    cleanup: { unlink: [store.file(opts.id)], rmdir: [store.dir(opts.id)], ...(opts.rm && opts.top ? { orphanRmtree: [opts.top] } : {}) },
  };
  if (opts.tty) {
    spec.process.terminal = true;
    spec.process.consoleSize = ourTerminalSize();
  }
  if (opts.resolvedUser) spec.process.user = { ...opts.resolvedUser };
  if (opts.newIpc) spec.namespaces.ipc = true;
  if (opts.newNet) spec.namespaces.net = true;
  if (opts.root && opts.top) {
    spec.rootfs = {
      path: opts.root,
      overlay: { lower: [opts.root], upper: `${opts.top}/upper`, work: `${opts.top}/work` },
    };
  }
  // -v: after the default mounts, before the pivot; a restart of a
  // detached container makes them again from this same spec.
  if (opts.volumes.length) spec.mounts = volumeMounts(opts.volumes, !opts.root);
  return spec;
}

/** The taps and routes of the container's interfaces; undefined without any. MACs are chosen here, so the switch knows them before any frame. */
export function networkOf(opts: RunOptions): NetworkSpec | undefined {
  if (!opts.interfaces.length) return undefined;
  return {
    taps: opts.interfaces.map((i) => ({ ifname: i.ifname, mac: i.mac ?? randomMac(), mtu: i.mtu, addresses: i.addresses })),
    routes: opts.routes,
  };
}

/** The record's view of the interfaces, once the taps exist. */
export function interfaceRecords(opts: RunOptions, taps: readonly { ifname: string; mac: string }[]): InterfaceRecord[] {
  return opts.interfaces.map((i) => ({
    ifname: i.ifname,
    socket: i.socket,
    mac: taps.find((t) => t.ifname === i.ifname)?.mac ?? '',
    addresses: i.addresses,
    port: -1,
    ...(i.vlan ? { vlan: i.vlan } : {}),
  }));
}

/** Every address of every interface, for the record's `addresses` (ps). */
export function allAddresses(opts: RunOptions): string[] {
  return opts.interfaces.flatMap((i) => i.addresses);
}

/** The record of a container about to be created, as both the foreground and the detached launch start it. */
export function newRecord(opts: RunOptions): ContainerRecord {
  return {
    id: opts.id,
    runtime: 'containode',
    pid: 0,
    creator: selfRef(),
    command: opts.args,
    root: opts.root,
    top: opts.top,
    image: opts.image?.name,
    imageDigest: opts.image?.digest,
    mounts: opts.volumes.length ? volumeRecords(opts.volumes) : undefined,
    addresses: allAddresses(opts),
    socket: opts.interfaces[0]?.socket,
    hostname: opts.id,
    created: new Date().toISOString(),
    status: 'creating',
    namespaces: {},
  };
}

/** The overlay's upper and work directories under `top`; whether `top` is new (so a failure may remove it). */
export function makeTop(top: string): boolean {
  const created = !existsSync(top);
  mkdirSync(`${top}/upper`, { recursive: true, mode: 0o755 });
  mkdirSync(`${top}/work`, { recursive: true, mode: 0o700 });
  return created;
}

/** Claim identity `rec.id` (a stopped container's record is replaced); CN_IDENTITY_IN_USE while one runs. */
export function claimRecord(store: ContainerStore, rec: ContainerRecord): void {
  const holder = store.claim(rec, { replaceStale: true });
  if (holder) {
    throw new ContainetError('CN_IDENTITY_IN_USE', `identity ${rec.id} is already running (pid ${holder.pid || holder.creator?.pid})`, {
      hint: 'pick another with -i, or stop that container first',
    });
  }
}

/** Run a container in the foreground; resolves with its exit status. */
export async function launch(opts: RunOptions, hooks: LaunchHooks = {}, confinement: Confinement = { privileged: false }): Promise<number> {
  // `always` runs at the end whatever happened; `onFailure` only when the
  // container never started (then nothing may be left behind).
  const always: Array<() => void> = [];
  const onFailure: Array<() => void> = [];
  const record: ContainerRecord = {
    ...newRecord(opts),
    publish: opts.publish.length ? opts.publish.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`) : undefined,
  };
  let container: SpawnedContainer | undefined;
  let started = false;
  let tty: AttachedTerminal | undefined;
  const proxies: PortProxy[] = [];
  const forward = new Map<NodeJS.Signals, () => void>();
  const store = containodeStore();
  try {
    claimRecord(store, record);
    always.push(() => store.remove(opts.id));

    // One link per interface (its own connection: the port lives as long
    // as it), each reached before anything is created.
    const links: SwitchLink[] = [];
    always.push(() => links.forEach((l) => l.close()));
    for (const i of opts.interfaces) links.push(await SwitchLink.open(i.socket));

    // Published ports: relays in this (the host's) network namespace to
    // eth0's IPv4 address, bound before the container exists so a taken
    // port refuses the start with nothing created.
    if (opts.publish.length) {
      const { startPortProxy } = await import('../publish/proxy.js');
      const target = allAddresses(opts).find((a) => !a.includes(':'))!.split('/')[0]!;
      for (const p of opts.publish) proxies.push(await startPortProxy(p, target));
    }

    if (opts.top) {
      const created = makeTop(opts.top);
      const removeTop = () => rmSync(opts.top!, { recursive: true, force: true });
      if (opts.rm) always.push(removeTop);
      else if (created) onFailure.push(removeTop);
    }

    makeVolumeSources(opts.volumes);
    const base = buildSpec(opts, store);
    await hooks.amendSpec?.(base);
    record.cgroup = hooks.cgroup?.();
    const spec = newContainerSpec({
      spec: base,
      cgroup: record.cgroup && { procsFiles: record.cgroup.dirs.map((d) => `${d}/cgroup.procs`) },
      network: networkOf(opts),
      confinement,
    });
    record.namespaces = { ...spec.namespaces };
    // `containode exec` gives its programs the same filter.
    if (spec.seccomp) record.seccompChoice = confinement.seccomp ?? { kind: 'default' };
    container = await spawnContainer(spec);
    const c = container;

    record.pid = c.pid;
    record.pidStart = processStartTime(c.pid) ?? undefined;
    record.mac = c.tap?.mac;
    record.interfaces = interfaceRecords(opts, c.taps);
    store.update(record);

    // Each link owns its tap fd from attach on (closed with the link).
    const unattached = new Set(c.taps);
    always.push(() => unattached.forEach((t) => closeFd(t.fd)));
    for (const [n, i] of opts.interfaces.entries()) {
      const tap = c.taps.find((t) => t.ifname === i.ifname);
      if (!tap) throw new ContainetError('CN_SPAWN', `the spawner did not hand over the tap ${i.ifname}`);
      unattached.delete(tap);
      const rec = record.interfaces[n]!;
      const port = await links[n]!.attach({ node: opts.id, ifname: tap.ifname, mac: tap.mac, addresses: i.addresses, pid: c.pid, ...(i.vlan ? { vlan: i.vlan } : {}) }, tap.fd);
      rec.port = port;
      // The port lives with this process's connection; the link re-attaches after a switch restart.
      if (n === 0) record.switch = { socket: i.socket, node: opts.id, port, persist: false };
      links[n]!.onReattach = (again) => {
        rec.port = again;
        if (n === 0 && record.switch) record.switch.port = again;
        try {
          store.update(record);
        } catch {
          // the container is ending: its record goes
        }
      };
      links[n]!.onGiveUp = (err) => {
        process.stderr.write(
          `containode: ${opts.id}: ${err.message}; ${tap.ifname} stays off containet at ${i.socket} (after \`containet undetach ${opts.id}\` the node attaches again when it is restarted)\n`,
        );
      };
    }
    await hooks.beforeStart?.(c.pid);

    for (const sig of FORWARDED_SIGNALS) {
      const fn = () => c.kill(sig);
      forward.set(sig, fn);
      process.on(sig, fn);
    }
    // The pty exists only once the init runs: release first.
    const released = c.release();
    if (opts.tty) {
      const { attachTerminal } = await import('./terminal.js');
      tty = attachTerminal(await c.console);
    }
    await released;
    await c.started;
    started = true;
    record.status = 'running';
    store.update(record);

    const status = await c.exited;
    if (tty) await Promise.race([tty.drained, new Promise((r) => setTimeout(r, 1000))]);
    await hooks.afterExit?.(status);
    return status;
  } finally {
    tty?.restore();
    for (const [sig, fn] of forward) process.off(sig, fn);
    // The container goes first: its mounts hold TOP, its port the tap.
    if (container) await container.abort();
    await Promise.all(proxies.map((p) => p.close().catch(() => undefined)));
    const steps = started ? always : [...always, ...onFailure];
    while (steps.length) {
      try {
        steps.pop()!();
      } catch {
        // best effort: the rest must still run
      }
    }
  }
}
