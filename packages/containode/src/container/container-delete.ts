/**
 * Delete a container (runtime.md "Lifecycle" steps 10-12): with force, kill
 * every process of it first; detach its switch port, remove its cgroup and
 * its record; then run the poststop hooks (failures warn).
 */
import { ContainetError } from '@containet/common';
import { ContainerCgroup } from '../cgroup/cgroup.js';
import { killContainer } from './container-kill.js';
import { conflict, readContainer, type EngineContext } from './engine.js';
import { ContainerStore, processAlive, type ContainerRecord } from './state.js';
import { sleepSync } from './sleep.js';

/** Wait until the init is gone (a zombie counts as gone: its parent may never reap it). */
function waitGone(rec: ContainerRecord, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (processAlive(rec.pid, rec.pidStart)) {
    if (Date.now() > deadline) return false;
    sleepSync(2);
  }
  return true;
}

export async function deleteContainer(g: EngineContext, id: string, force: boolean): Promise<void> {
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
    if (rec.switch?.keeper) {
      // The keeper's port goes with its connection.
      const keeper = rec.switch.keeper;
      if (processAlive(keeper.pid, keeper.start)) process.kill(keeper.pid, 'SIGTERM');
      const deadline = Date.now() + 2000;
      while (processAlive(keeper.pid, keeper.start) && Date.now() < deadline) sleepSync(5);
    } else if (rec.switch?.persist) {
      const { SwitchLink } = await import('./switch-link.js');
      await SwitchLink.detachInterfaces(rec.switch.socket, rec.switch.node, rec.interfaces, (m) => g.log.warn(m));
    }
    if (rec.cgroup) await ContainerCgroup.fromRecord(rec.cgroup).remove().catch((err: Error) => g.log.warn(err.message));
    rec.status = 'stopped';
    dirs.remove(id);
  });
  // runtime.md: poststop hooks run after the container is deleted; their
  // failure is a warning.
  if (rec!.hooks?.poststop?.length) await (await import('./hooks.js')).runWarningHooks(g.log, 'poststop', rec!, dirs);
}
