/**
 * Start a created container (runtime.md "Lifecycle" steps 7-9): run its
 * startContainer hooks in its namespaces, release the init from exec.fifo,
 * see its program start, then run the poststart hooks (failures warn).
 */
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync } from 'node:fs';
import { ContainetError, errnoText } from '@containet/common';
import { conflict, readContainer, type EngineContext } from './engine.js';
import { ContainerStore, processAlive, type ContainerRecord } from './state.js';
import { sleepSync } from './sleep.js';

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

export async function startContainer(g: EngineContext, id: string): Promise<void> {
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
    // hooks.ts (and node:child_process) only for a container that has hooks.
    if (rec.hooks?.poststart?.length) await (await import('./hooks.js')).runWarningHooks(g.log, 'poststart', rec, dirs);
  });
}
