/**
 * A stack of release actions. Tests push one right after creating each
 * resource and call run() in `finally`; every action runs even if an earlier
 * one throws, newest first.
 */
export class Cleanup {
  #actions: Array<{ what: string; fn: () => unknown }> = [];

  add(what: string, fn: () => unknown): void {
    this.#actions.push({ what, fn });
  }

  async run(): Promise<void> {
    const errors: string[] = [];
    while (this.#actions.length) {
      const { what, fn } = this.#actions.pop()!;
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
      }
    }
    if (errors.length) throw new Error(`cleanup failed: ${errors.join('; ')}`);
  }
}

/** Kill a child we started, by pid, and wait for it to be gone. */
export async function killAndWait(child: { pid?: number | undefined; exitCode: number | null; signalCode: string | null; once: (ev: 'exit', cb: () => void) => unknown }, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(child.pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {}
  }, graceMs);
  await exited;
  clearTimeout(timer);
}
