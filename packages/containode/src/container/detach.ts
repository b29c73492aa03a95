/**
 * Detached containers (`containode run -d`): started as launch() starts a
 * foreground one, then left to containode-spawn's supervised mode (SPAWN.md
 * "Supervised mode", native/src/bin/containode-spawn/supervise.c), a small
 * C process that stays the container's parent: it writes the program's
 * output to STATE/ID/log (bounded, rotated), applies the restart policy and
 * records in STATE/ID/supervisor who it is, the current init, the restart
 * count and the last exit status. No Node process stays.
 *
 * The record names the supervisor as the container's process (pid and
 * start time): the container is up while it lives, also between restarts;
 * initOf() gives the current init for exec, inspect and signals.
 *
 * The supervisor also holds the container's switch ports (SPAWN.md
 * `switch_attach`, switchlink.c): it attaches each interface's tap on a
 * control connection of its own and keeps a copy of the tap, so the ports
 * live exactly as long as the supervisor. They go at once when the
 * container has ended for good (its program exited with no restart left,
 * stop, rm -f), as Docker releases a stopped container's endpoint; they
 * stay across restarts of the program (the network namespace and its taps
 * are kept); and after a switch restart the supervisor attaches them again.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeFd, ContainetError, UsageError } from '@containet/common';
import { spawnContainer, type SpawnedContainer } from '../runtime/spawn.js';
import { containodeStore } from './containode-store.js';
import { buildSpec, claimRecord, interfaceRecords, makeTop, networkOf, newRecord, type LaunchHooks } from './launch.js';
import type { RunOptions } from './options.js';
import { newContainerSpec, type Confinement } from './container-spec.js';
import { processAlive, type ContainerRecord, type ContainerStore } from './state.js';
import { SwitchLink } from './switch-link.js';
import { makeVolumeSources } from './volumes.js';

/** The environment variable that puts containode-spawn in supervised mode (supervise.h). */
const SUPERVISE_ENV = 'CONTAINODE_SUPERVISE';

/** Docker's log defaults are unbounded; these bound each container to 4 MB. */
export const LOG_MAX_BYTES = 1024 * 1024;
export const LOG_FILES_KEPT = 3;

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always';
  /** on-failure: at most this many restarts (0: no bound). */
  max: number;
}

/** `--restart no|on-failure[:N]|always`, as docker run takes it. */
export function parseRestart(text: string | undefined): RestartPolicy {
  if (text === undefined || text === 'no') return { name: 'no', max: 0 };
  if (text === 'always') return { name: 'always', max: 0 };
  const m = /^on-failure(?::(\d{1,9}))?$/.exec(text);
  if (m) return { name: 'on-failure', max: m[1] === undefined ? 0 : Number(m[1]) };
  throw new UsageError(`invalid --restart ${text}`, 'no, on-failure[:MAX-RESTARTS] or always');
}

/** What a detached container's record adds to the common format. */
export interface DetachedRecord extends ContainerRecord {
  detached?: { restart: string; log: string };
}

/** STATE/ID/supervisor, as the supervisor writes it. */
export interface SupervisorStatus {
  supervisor: { pid: number; start: number };
  state: 'starting' | 'running' | 'restarting' | 'exited' | string;
  init: { pid: number; start: number };
  restarts: number;
  exit: number | undefined;
}

export function isDetached(rec: ContainerRecord): rec is DetachedRecord & { detached: { restart: string; log: string } } {
  return (rec as DetachedRecord).detached !== undefined;
}

export function readSupervisor(store: ContainerStore, id: string): SupervisorStatus | null {
  let text: string;
  try {
    text = readFileSync(join(store.dir(id), 'supervisor'), 'utf8');
  } catch {
    return null;
  }
  const f = new Map(text.split('\n').filter(Boolean).map((l) => { const [k, ...v] = l.split('\t'); return [k!, v] as const; }));
  const num = (k: string, i = 0) => Number(f.get(k)?.[i] ?? NaN);
  return {
    supervisor: { pid: num('supervisor'), start: num('supervisor', 1) },
    state: f.get('state')?.[0] ?? 'unknown',
    init: { pid: num('pid'), start: num('pid', 1) },
    restarts: num('restarts') || 0,
    exit: f.has('exit') ? num('exit') : undefined,
  };
}

/**
 * The record as seen through its current init: a detached container's
 * record names its supervisor, whose init changes with every restart.
 * Null when no init runs now (between restarts, or stopped).
 */
export function initOf(rec: ContainerRecord, store: ContainerStore = containodeStore()): ContainerRecord | null {
  if (!isDetached(rec)) return processAlive(rec.pid, rec.pidStart) ? rec : null;
  const s = readSupervisor(store, rec.id);
  if (!s || !processAlive(s.init.pid, s.init.start)) return null;
  return { ...rec, pid: s.init.pid, pidStart: s.init.start };
}

/** Ask the supervisor not to restart the container any more (containode stop, rm): the file's existence is the message. */
export function markStopped(store: ContainerStore, id: string): void {
  try {
    writeFileSync(join(store.dir(id), 'stop'), '', { flag: 'a', mode: 0o644 });
  } catch {
    // the container's directory is gone: nothing to stop
  }
}

/** Start a detached container; resolves with its identity once its program runs under the supervisor. */
export async function launchDetached(opts: RunOptions, hooks: LaunchHooks, confinement: Confinement, restart: RestartPolicy): Promise<string> {
  const store = containodeStore();
  const dir = store.dir(opts.id);
  const record: DetachedRecord = {
    ...newRecord(opts),
    detached: { restart: restart.name === 'on-failure' && restart.max ? `on-failure:${restart.max}` : restart.name, log: join(dir, 'log') },
  };
  const undo: Array<() => void> = [];
  let container: SpawnedContainer | undefined;
  let done = false;
  try {
    claimRecord(store, record);
    undo.push(() => store.remove(opts.id));
    // Each switch is reached once before anything is created (a refusal of
    // the attach itself comes from the supervisor, below).
    for (const socket of new Set(opts.interfaces.map((i) => i.socket))) (await SwitchLink.open(socket)).close();
    if (opts.top) {
      const created = makeTop(opts.top);
      if (created || opts.rm) undo.push(() => rmSync(opts.top!, { recursive: true, force: true }));
    }
    makeVolumeSources(opts.volumes);
    const base = buildSpec(opts, store);
    // The supervisor runs these when the container has ended for good:
    // --rm takes its top directory and record with it; else both stay for
    // `containode logs`, `ps -a` and `rm`.
    base.cleanup = opts.rm ? { orphanRmtree: [...(opts.top ? [opts.top] : []), dir] } : {};
    await hooks.amendSpec?.(base);
    record.cgroup = hooks.cgroup?.();
    const network = networkOf(opts);
    const spec = newContainerSpec({
      spec: base,
      cgroup: record.cgroup && { procsFiles: record.cgroup.dirs.map((d) => `${d}/cgroup.procs`) },
      network,
      confinement,
    });
    spec.switchAttach = (network?.taps ?? []).map((t, n) => {
      const i = opts.interfaces[n]!;
      const request = { op: 'attach', id: 1, node: opts.id, ifname: t.ifname, mac: t.mac, addresses: i.addresses, ...(i.vlan ? { vlan: i.vlan } : {}) };
      return { ifname: t.ifname, socket: i.socket, request: JSON.stringify(request) };
    });
    record.namespaces = { ...spec.namespaces };
    // `containode exec` gives its programs the same filter.
    if (spec.seccomp) record.seccompChoice = confinement.seccomp ?? { kind: 'default' };
    process.env[SUPERVISE_ENV] = [dir, restart.name, restart.max, LOG_MAX_BYTES, LOG_FILES_KEPT].join('\t');
    try {
      container = await spawnContainer(spec, { stdio: ['ignore', 'ignore', 'ignore'] });
    } finally {
      delete process.env[SUPERVISE_ENV];
    }
    const c = container;
    // The supervisor and the switches hold the taps: our copies go.
    for (const t of c.taps) closeFd(t.fd);
    record.mac = c.tap?.mac;
    record.interfaces = interfaceRecords(opts, c.taps);
    for (const [n, i] of record.interfaces.entries()) {
      const reply = c.attachReplies.get(i.ifname);
      if (!reply?.ok) {
        const e = reply?.error ?? { code: 'CN_SPAWN', message: 'the supervisor did not say how the attach went' };
        throw new ContainetError(e.code, `containet at ${i.socket} refused the attach of ${i.ifname}: ${e.message}`, { hint: e.hint });
      }
      i.port = Number(reply.port);
      if (n === 0) record.switch = { socket: i.socket, node: opts.id, port: i.port, persist: false };
    }
    await hooks.beforeStart?.(c.pid);
    await c.release();
    await c.started;
    const sup = readSupervisor(store, opts.id);
    if (!sup) throw new ContainetError('CN_SPAWN', `the supervisor of ${opts.id} left no status in ${dir}`);
    record.pid = sup.supervisor.pid;
    record.pidStart = sup.supervisor.start;
    record.status = 'running';
    store.update(record);
    done = true;
    return opts.id;
  } finally {
    if (!done) {
      if (container) await container.abort();
      while (undo.length) {
        try {
          undo.pop()!();
        } catch {
          // best effort: the rest must still run
        }
      }
    }
  }
}
