/**
 * Signals to a container, for both commands: to its init only (`kill`,
 * runc's default; containode kill/stop), or to every process of it (runc's
 * `kill --all`, delete --force). The init is signalled only while the
 * liveness rule says the recorded pid is still it.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { ContainerCgroup } from '../cgroup/cgroup.js';
import { conflict, readContainer, type EngineContext } from './engine.js';
import { ContainerStore, processAlive, type ContainerRecord } from './state.js';

function nsId(pid: number, ns: string): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return null;
  }
}

/**
 * Every process of the container: with its own pid namespace, all
 * processes in it (the namespace dies with its init anyway); those in its
 * cgroup; the init in any case.
 */
export function containerPids(rec: ContainerRecord): number[] {
  const pids = new Set<number>([rec.pid]);
  if (rec.namespaces?.pid === true) {
    const target = nsId(rec.pid, 'pid');
    if (target) {
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        const pid = Number(name);
        if (nsId(pid, 'pid') === target) pids.add(pid);
      }
    }
  }
  for (const pid of rec.cgroup ? ContainerCgroup.fromRecord(rec.cgroup).pids() : []) pids.add(pid);
  return [...pids];
}

/**
 * Send `signal` to the container's init, or with `all` to every process of
 * it. A process already gone is no error. Return: whether the init was
 * still the recorded process.
 */
export function killContainer(rec: ContainerRecord, signal: number, opts: { all?: boolean } = {}): boolean {
  if (!processAlive(rec.pid, rec.pidStart)) return false;
  for (const pid of opts.all ? containerPids(rec) : [rec.pid]) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return true;
}

/**
 * `kill` of a container by id (OCI): under its lock, refused unless it is
 * created, running or paused; a paused one is thawed after SIGKILL so that
 * it dies (a frozen v1 task acts on it only once thawed).
 */
export async function killContainerById(g: EngineContext, id: string, signal: number, all: boolean): Promise<void> {
  const dirs = new ContainerStore(g.root);
  await dirs.locked(id, () => {
    const rec = readContainer(dirs, id);
    const status = dirs.status(rec);
    if (status !== 'created' && status !== 'running' && status !== 'paused') throw conflict(id, 'kill', status, 'only a created, running or paused container takes signals');
    killContainer(rec, signal, { all });
    if (status === 'paused' && signal === 9 && rec.cgroup) ContainerCgroup.fromRecord(rec.cgroup).setFrozen(false, `container ${id}`);
    g.log.debug(`container ${id}: sent signal ${signal} to ${all ? 'all its processes' : `pid ${rec.pid}`}`);
  });
}
