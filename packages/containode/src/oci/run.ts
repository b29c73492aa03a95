/**
 * `run`: create and start in one go. In the foreground (runc's default) the
 * spawner stays as the init's parent: signals sent to us reach the
 * container, its exit status becomes ours, and the container is deleted
 * when it ends (unless --keep). With --detach it is create + start.
 */
import { writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { createContainer, type CreateOptions, type Globals } from './create.js';
import { deleteContainer, startContainer } from './lifecycle.js';

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
  let closeConsole = () => {};
  try {
    try {
      if (record.process?.terminal && !o.consoleSocket) closeConsole = relayConsole(await spawned.console);
      await startContainer(g, o.id);
    } catch (err) {
      await spawned.abort();
      throw err;
    }
    return await spawned.exited;
  } finally {
    closeConsole();
    for (const s of FORWARDED) process.off(s, forward);
    if (!o.keep) await deleteContainer(g, o.id, true);
  }
}

/**
 * `run` with terminal: true and no --console-socket, as `runc run` does:
 * our stdin goes to the pty master (raw when it is a terminal, so keys such
 * as ^C reach the container's line discipline), the master's output to our
 * stdout. The pty keeps its default size: setting it (TIOCSWINSZ) needs an
 * ioctl Node does not offer on a bare fd.
 */
function relayConsole(master: number): () => void {
  const pty = new ReadStream(master);
  pty.on('data', (d: Buffer) => process.stdout.write(d));
  // EIO once the last slave fd closes (pty(7)): the container has ended.
  pty.on('error', () => {});
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const toPty = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {
      // The container closed its terminal; what is typed now goes nowhere.
    }
  };
  stdin.on('data', toPty);
  return () => {
    stdin.off('data', toPty);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
    pty.destroy();
  };
}
