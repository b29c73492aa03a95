/** `containode exec [-t] ID PROGRAM [ARGS...]`: run a program inside a running container. */
import { execSpec, type ExecOptions } from '../container/exec.js';
import { findRunning } from './common.js';

export const help = 'Run PROGRAM inside a running container: its namespaces, root, cgroups, environment and capabilities.';

export async function handler(id: string, args: string[], opts: ExecOptions): Promise<number> {
  const spec = execSpec(findRunning(id), args, opts);
  const { spawnContainer } = await import('../runtime/spawn.js');
  const c = await spawnContainer(spec);
  const forward = (sig: NodeJS.Signals) => c.kill(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = signals.map((s) => [s, () => forward(s)] as const);
  for (const [s, fn] of handlers) process.on(s, fn);
  let tty: import('../container/terminal.js').AttachedTerminal | undefined;
  try {
    // The pty exists only once the init runs: release first.
    const released = c.release();
    if (opts.tty) {
      const { attachTerminal } = await import('../container/terminal.js');
      tty = attachTerminal(await c.console);
    }
    await released;
    await c.started;
    const status = await c.exited;
    if (tty) await Promise.race([tty.drained, new Promise((r) => setTimeout(r, 1000))]);
    return status;
  } finally {
    tty?.restore();
    for (const [s, fn] of handlers) process.off(s, fn);
    await c.abort();
  }
}
