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
  let detachTty: (() => void) | undefined;
  try {
    if (opts.tty) {
      const { attachTerminal } = await import('../container/terminal.js');
      detachTty = attachTerminal(await c.console);
    }
    await c.release();
    await c.started;
    return await c.exited;
  } finally {
    detachTty?.();
    for (const [s, fn] of handlers) process.off(s, fn);
    await c.abort();
  }
}
