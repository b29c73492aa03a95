/**
 * `run`: create and start in one go. In the foreground (runc's default) the
 * spawner stays as the init's parent: signals sent to us reach the
 * container, its exit status becomes ours, and the container is deleted
 * when it ends (unless --keep). With --detach it is create + start.
 */
import { createContainer, type CreateOptions, type Globals } from './create.js';
import { deleteContainer } from '../container/container-delete.js';
import { startContainer } from '../container/container-start.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
}

export async function runContainer(g: Globals, o: RunOptions): Promise<number> {
  if (o.detach) {
    await createContainer(g, o);
    try {
      await startContainer(g, o.id);
    } catch (err) {
      await deleteContainer(g, o.id, true).catch(() => {});
      throw err;
    }
    return 0;
  }
  const { record, spawned } = await createContainer(g, { ...o, attached: true });
  const forward = (sig: NodeJS.Signals) => spawned.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  let tty: import('../container/terminal.js').AttachedTerminal | undefined;
  try {
    try {
      // As `runc run` does: the pty is driven from our terminal (terminal.ts).
      if ((record.process as { terminal?: boolean } | undefined)?.terminal && !o.consoleSocket) {
        const { attachTerminal } = await import('../container/terminal.js');
        tty = attachTerminal(await spawned.console);
      }
      await startContainer(g, o.id);
    } catch (err) {
      await spawned.abort();
      throw err;
    }
    const status = await spawned.exited;
    // The program's last output may still be in the pty: copy it out first.
    if (tty) await Promise.race([tty.drained, new Promise((r) => setTimeout(r, 1000).unref())]);
    return status;
  } finally {
    tty?.restore();
    for (const s of FORWARDED) process.off(s, forward);
    if (!o.keep) await deleteContainer(g, o.id, true);
  }
}
