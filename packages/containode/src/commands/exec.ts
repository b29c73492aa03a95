/** `containode exec [-t] ID PROGRAM [ARGS...]`: run a program inside a running container. */
import { execSpec, type ExecOptions } from '../container/exec.js';
import { UsageError } from '@containet/common';
import { containerId, findRunning, runningInit } from './common.js';

export const commandNames = ['exec'];

export const help = 'Run PROGRAM inside a running container: its namespaces, root, cgroups, environment and capabilities.';

export async function handler(opts: ExecOptions & { interactive?: boolean }, args: string[]): Promise<number> {
  const [id, ...words] = args;
  // `exec ID -- CMD` as docker exec takes it: the `--` ends the options, it is not the program.
  const program = words[0] === '--' ? words.slice(1) : words;
  if (!program.length) throw new UsageError('exec needs ID and PROGRAM', 'containode exec [-t] ID [--] PROGRAM [ARGS...]');
  const spec = execSpec(runningInit(findRunning(containerId([id ?? ''], 'exec'))), program, opts);
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
