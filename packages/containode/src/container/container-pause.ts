/** Freeze or thaw a container (runc's pause/resume) through its cgroup's freezer. */
import { ContainetError } from '@containet/common';
import { ContainerCgroup } from '../cgroup/cgroup.js';
import { conflict, readContainer, type EngineContext } from './engine.js';
import { ContainerStore } from './state.js';

/**
 * `pause`/`resume` (runc's): freeze or thaw every process of the container
 * through its cgroup's freezer. A container without a cgroup (no
 * linux.cgroupsPath nor resources in its config) cannot be paused.
 */
export async function pauseContainer(g: EngineContext, id: string, pause: boolean): Promise<void> {
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
