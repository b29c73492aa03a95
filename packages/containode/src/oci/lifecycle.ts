/**
 * start, state, kill, delete and list: the commands that act on an existing
 * container. They load no native code and start no helper unless a hook
 * needs one, so each costs little more than Node's own start-up.
 */
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { ContainetError, errnoText } from '@containet/common';
import { ContainerCgroup } from '../cgroup/cgroup.js';
import { killContainer } from '../container/container-kill.js';
import type { Globals } from './create.js';
import type { HookStage } from './hooks.js';
import { ContainerStore, processAlive, type ContainerRecord, type Status } from '../container/state.js';
import { readContainer } from './store.js';
import { sleepSync } from './sleep.js';

export function conflict(id: string, action: string, status: Status, hint?: string): ContainetError {
  return new ContainetError('CN_OCI_STATE', `cannot ${action} container ${id}: it is ${status}`, { hint });
}

/** Run the hooks of a stage that only warn on failure (poststart, poststop). */
async function warnHooks(g: Globals, stage: HookStage, rec: ContainerRecord, dirs: ContainerStore): Promise<void> {
  const list = rec.hooks?.[stage as 'poststart' | 'poststop'] ?? [];
  if (!list.length) return;
  const { runHostHook } = await import('./hooks.js');
  for (const h of list) {
    try {
      await runHostHook(stage, h, dirs.ociState(rec));
    } catch (err) {
      g.log.warn((err as Error).message);
    }
  }
}

/**
 * Release the init from exec.fifo and see its program start. The init
 * writes one byte, then holds the write end (close-on-exec) until execve:
 * end of file after the byte means the program runs; an `error` line means
 * it could not start (SPAWN.md). The fifo is read non-blocking, so a dead
 * init (no writer ever coming) cannot hang us.
 */
function releaseFifo(dirs: ContainerStore, rec: ContainerRecord): void {
  const fifo = dirs.fifo(rec.id);
  const fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  let released = false;
  let said = '';
  try {
    const buf = Buffer.alloc(1024);
    const deadline = Date.now() + 10_000;
    for (;;) {
      let n = -1;
      try {
        n = readSync(fd, buf, 0, released ? buf.length : 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (n > 0 && !released) {
        released = true;
        unlinkSync(fifo);
        continue;
      }
      if (n > 0) said += buf.toString('utf8', 0, n);
      // End of file once released: the init's write end closed at execve (or at its death).
      if (n === 0 && released) break;
      if (!released && !processAlive(rec.pid, rec.pidStart)) {
        throw new ContainetError('CN_OCI_START', `container ${rec.id}: its init (pid ${rec.pid}) died before the program could start`, {
          hint: `delete it with containode-oci delete ${rec.id}`,
        });
      }
      if (Date.now() > deadline) throw new ContainetError('CN_OCI_START', `container ${rec.id}: the init did not ${released ? 'exec its program' : 'take the start signal'} within 10 s`);
      sleepSync(1);
    }
  } finally {
    closeSync(fd);
  }
  const failure = /^error\t(\d+)\t([^\t]*)\t([^\n]*)/.exec(said);
  if (failure) {
    const [, errno, step, detail] = failure;
    throw new ContainetError('CN_OCI_START', `container ${rec.id}: its program did not start: ${step}(${detail}): ${errnoText(Number(errno))}`, {
      hint: `check process.args in ${rec.bundle}/config.json; delete the container with containode-oci delete ${rec.id}`,
    });
  }
}

export async function startContainer(g: Globals, id: string): Promise<void> {
  const dirs = new ContainerStore(g.root);
  await dirs.locked(id, async () => {
    const rec = readContainer(dirs, id);
    const status = dirs.status(rec);
    if (status === 'stopped' && rec.status === 'created') {
      throw new ContainetError('CN_OCI_STATE', `cannot start container ${id}: it is stopped (its init, pid ${rec.pid}, ended before start)`, {
        hint: `delete it (containode-oci delete ${id}) and create it again`,
      });
    }
    if (status !== 'created') throw conflict(id, 'start', status, status === 'running' ? 'it was started already' : 'create it again');
    const hooks = rec.hooks?.startContainer ?? [];
    if (hooks.length) {
      // runtime.md: startContainer hooks run in the container namespace
      // before the user program; a failure stops the container.
      const { runContainerHook } = await import('./hooks.js');
      try {
        for (const h of hooks) await runContainerHook('startContainer', h, dirs.ociState(rec), rec.pid, Object.keys(rec.namespaces ?? {}), dirs.dir(id));
      } catch (err) {
        try {
          process.kill(rec.pid, 'SIGKILL');
        } catch {}
        throw err;
      }
    }
    releaseFifo(dirs, rec);
    rec.status = 'running';
    dirs.write(rec);
    await warnHooks(g, 'poststart', rec, dirs);
  });
}

export function stateOf(g: Globals, id: string): string {
  const dirs = new ContainerStore(g.root);
  return `${JSON.stringify(dirs.ociState(readContainer(dirs, id)), null, 2)}\n`;
}

export async function killOciContainer(g: Globals, id: string, signal: number, all: boolean): Promise<void> {
  const dirs = new ContainerStore(g.root);
  await dirs.locked(id, () => {
    const rec = readContainer(dirs, id);
    const status = dirs.status(rec);
    if (status !== 'created' && status !== 'running' && status !== 'paused') throw conflict(id, 'kill', status, 'only a created, running or paused container takes signals');
    killContainer(rec, signal, { all });
    // A frozen task acts on SIGKILL only once thawed (cgroup v1): let it die.
    if (status === 'paused' && signal === 9 && rec.cgroup) ContainerCgroup.fromRecord(rec.cgroup).setFrozen(false, `container ${id}`);
    g.log.debug(`container ${id}: sent signal ${signal} to ${all ? 'all its processes' : `pid ${rec.pid}`}`);
  });
}

/** Wait until the init is gone (a zombie counts as gone: its parent may never reap it). */
function waitGone(rec: ContainerRecord, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (processAlive(rec.pid, rec.pidStart)) {
    if (Date.now() > deadline) return false;
    sleepSync(2);
  }
  return true;
}

/**
 * `pause`/`resume` (runc's): freeze or thaw every process of the container
 * through its cgroup's freezer. A container without a cgroup (no
 * linux.cgroupsPath nor resources in its config) cannot be paused.
 */
export async function pauseContainer(g: Globals, id: string, pause: boolean): Promise<void> {
  const dirs = new ContainerStore(g.root);
  const action = pause ? 'pause' : 'resume';
  await dirs.locked(id, () => {
    const rec = readContainer(dirs, id);
    const status = dirs.status(rec);
    const want = pause ? 'running' : 'paused';
    if (status !== want) throw conflict(id, action, status, `only a ${want} container can be ${pause ? 'paused' : 'resumed'}`);
    if (!rec.cgroup?.freezer) {
      throw new ContainetError('CN_OCI_UNSUPPORTED', `cannot ${action} container ${id}: it has no cgroup to freeze`, {
        hint: 'give it one with linux.cgroupsPath in config.json',
      });
    }
    ContainerCgroup.fromRecord(rec.cgroup).setFrozen(pause, `container ${id}`);
    g.log.debug(`container ${id}: ${pause ? 'frozen' : 'thawed'}`);
  });
}

export async function deleteContainer(g: Globals, id: string, force: boolean): Promise<void> {
  const dirs = new ContainerStore(g.root);
  let rec: ContainerRecord;
  try {
    rec = readContainer(dirs, id);
  } catch (err) {
    // runc: `delete --force` of a container that does not exist succeeds.
    if (force && err instanceof ContainetError && err.code === 'CN_OCI_NOT_FOUND') return;
    throw err;
  }
  await dirs.locked(id, async () => {
    rec = readContainer(dirs, id);
    const status = dirs.status(rec);
    if (status !== 'stopped') {
      if (!force) throw conflict(id, 'delete', status, `stop it first (containode-oci kill ${id} KILL), or use delete --force`);
      killContainer(rec, 9, { all: true });
      if (status === 'paused' && rec.cgroup) ContainerCgroup.fromRecord(rec.cgroup).setFrozen(false, `container ${id}`);
      if (!waitGone(rec, 10_000)) throw new ContainetError('CN_OCI_DELETE', `container ${id}: pid ${rec.pid} survived SIGKILL for 10 s`);
    }
    if (rec.switch) {
      const { SwitchLink } = await import('../container/switch-link.js');
      await SwitchLink.detach(rec.switch.socket, rec.switch.node).catch((err: Error) => g.log.warn(`detach from containet: ${err.message}`));
    }
    if (rec.cgroup) await ContainerCgroup.fromRecord(rec.cgroup).remove().catch((err: Error) => g.log.warn(err.message));
    rec.status = 'stopped';
    dirs.remove(id);
  });
  // runtime.md: poststop hooks run after the container is deleted; their
  // failure is a warning.
  await warnHooks(g, 'poststop', rec!, dirs);
}

export function listContainers(g: Globals, format: string, quiet: boolean): string {
  const dirs = new ContainerStore(g.root);
  const states = [];
  for (const id of dirs.ids()) {
    try {
      states.push(dirs.ociState(readContainer(dirs, id)));
    } catch {
      // A container deleted between readdir and read is simply not listed.
    }
  }
  if (quiet) return states.map((s) => `${s.id}\n`).join('');
  if (format === 'json') return `${JSON.stringify(states.map((s) => ({ ...s, annotations: s.annotations ?? {} })))}\n`;
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]! + 3))).join('')}\n`).join('');
}

export function writeOut(text: string): void {
  writeSync(1, text);
}
