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
import { processStartTime, selfRef, type CgroupRecord, type ContainerRecord, type ContainerStore } from './state.js';
import type { RunOptions } from './options.js';
import { newContainerSpec, type Confinement } from './container-spec.js';
import { SwitchLink } from './switch-link.js';
import { ourTerminalSize } from './terminal.js';
import type { PortProxy } from '../publish/proxy.js';
import type { AttachedTerminal } from './terminal.js';

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
  return spec;
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
    id: opts.id,
    runtime: 'containode',
    pid: 0,
    creator: selfRef(),
    command: opts.args,
    root: opts.root,
    top: opts.top,
    image: opts.image?.name,
    imageDigest: opts.image?.digest,
    publish: opts.publish.length ? opts.publish.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`) : undefined,
    addresses: opts.addresses,
    socket: opts.socket,
    hostname: opts.id,
    created: new Date().toISOString(),
    status: 'creating',
    namespaces: {},
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

    let link: SwitchLink | undefined;
    if (opts.socket) {
      link = await SwitchLink.open(opts.socket);
      always.push(() => link!.close());
    }

    // Published ports: relays in this (the host's) network namespace to
    // eth0's IPv4 address, bound before the container exists so a taken
    // port refuses the start with nothing created.
    if (opts.publish.length) {
      const { startPortProxy } = await import('../publish/proxy.js');
      const target = opts.addresses[0]!.split('/')[0]!;
      for (const p of opts.publish) proxies.push(await startPortProxy(p, target));
    }

    if (opts.top) {
      const created = !existsSync(opts.top);
      mkdirSync(`${opts.top}/upper`, { recursive: true, mode: 0o755 });
      mkdirSync(`${opts.top}/work`, { recursive: true, mode: 0o700 });
      const removeTop = () => rmSync(opts.top!, { recursive: true, force: true });
      if (opts.rm) always.push(removeTop);
      else if (created) onFailure.push(removeTop);
    }

    const base = buildSpec(opts, store);
    await hooks.amendSpec?.(base);
    record.cgroup = hooks.cgroup?.();
    const spec = newContainerSpec({
      spec: base,
      cgroup: record.cgroup && { procsFiles: record.cgroup.dirs.map((d) => `${d}/cgroup.procs`) },
      network: opts.socket ? { tap: { ifname: 'eth0', mac: randomMac(), mtu: opts.mtu }, addresses: opts.addresses, gateways: opts.gateways } : undefined,
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
    store.update(record);

    if (link && c.tap) {
      const port = await link.attach({ node: opts.id, ifname: c.tap.ifname, mac: c.tap.mac, addresses: opts.addresses, pid: c.pid }, c.tap.fd);
      // The port lives with this process's connection; the link re-attaches after a switch restart.
      record.switch = { socket: link.socket, node: opts.id, port, persist: false };
    } else if (c.tap) {
      always.push(() => closeFd(c.tap!.fd));
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
