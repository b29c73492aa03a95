/**
 * How every CLI of the suite ends: one line `prog: message`, an optional
 * hint, the error's exit status; a stack trace only with --debug (or
 * CONTAINET_DEBUG=1).
 */
import { ContainetError, UsageError } from './errors.js';

export function debugEnabled(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--debug') || process.env['CONTAINET_DEBUG'] === '1';
}

/** Print an error for a person and return the exit status to use. */
export function reportError(prog: string, err: unknown, debug = debugEnabled()): number {
  if (err instanceof ContainetError) {
    process.stderr.write(`${prog}: ${err.message}\n`);
    if (err.hint) process.stderr.write(`${prog}: hint: ${err.hint}\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  // commander's own errors: it already printed the message.
  const cmdr = err as { code?: string; exitCode?: number };
  if (typeof cmdr.code === 'string' && cmdr.code.startsWith('commander.')) {
    return cmdr.exitCode ?? 2;
  }
  const e = err as Error;
  process.stderr.write(`${prog}: internal error: ${e?.message ?? String(err)}\n`);
  if (debug && e?.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write(`${prog}: run with --debug for details\n`);
  return 70; // EX_SOFTWARE
}

/** Run a CLI's main function and set the exit status from its outcome. */
export function runMain(prog: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportError(prog, err);
    },
  );
}

/**
 * commander's parse errors as the suite's: `PROG: unknown option '--bogus'`
 * with a hint to `PROG [COMMAND] --help`, exit 2 (commander itself prints
 * `error: ...` and exits 1). Help and --version end well: undefined.
 */
export function usageFromCommander(prog: string, err: { message: string; exitCode: number }, command?: string): UsageError | undefined {
  if (err.exitCode === 0) return undefined;
  const what = err.message.replace(/^error: /, '').replace(/\.$/, '');
  return new UsageError(what, `see ${prog}${command ? ` ${command}` : ''} --help`);
}
