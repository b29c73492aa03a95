/**
 * The programs a lab drives: containode (containers), mocker (images), the
 * containet daemon (switches) and the netns helper (taps in a container's
 * or the host's network namespace). containet never imports containode: it
 * runs its command line, from this checkout or on PATH.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainetError } from '@containet/common';

const PACKAGES = fileURLToPath(new URL('../../../../', import.meta.url));

/** The containet launcher of this package: switches are daemons of it. */
export const CONTAINET_BIN = join(PACKAGES, 'containet', 'bin', 'containet.js');

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir || '.', name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** [file, args] to run suite program `name` (containode, mocker): this checkout's launcher, else PATH. */
export function suiteProgram(name: 'containode' | 'mocker', args: string[]): [string, string[]] {
  for (const launcher of [join(PACKAGES, name, 'bin', `${name}.js`), join(PACKAGES, name, 'bin', `${name}.cjs`)]) {
    if (existsSync(launcher) && existsSync(join(PACKAGES, name, 'dist'))) return [process.execPath, [launcher, ...args]];
  }
  const p = onPath(name);
  if (p) return [p, args];
  throw new ContainetError('CN_LAB_NO_PROGRAM', `${name} not found (neither packages/${name} of this checkout, built, nor on PATH)`, {
    hint: 'run `pnpm build` in the checkout, or install the containet suite',
  });
}

/**
 * The environment of the programs a lab starts. NODE_EXTRA_CA_CERTS is left
 * out for those that never speak TLS (containode, the switch daemons): Node
 * reads and parses the file at every start, before any code runs (85 ms of
 * CPU for Debian's bundle on this machine, 20-30 containode runs a deploy),
 * as the suite's bundled launchers avoid it with their shebangs. mocker
 * keeps it: it pulls over HTTPS and adds the file to its roots itself.
 */
export function programEnv(tls = false): NodeJS.ProcessEnv {
  if (tls || process.env['NODE_EXTRA_CA_CERTS'] === undefined) return process.env;
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  return env;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a program to its end, output collected. Its own process group
 * (`detached`), so a Ctrl-C at the terminal reaches the lab command alone,
 * which then undoes what it made instead of leaving half-made containers.
 */
export function run(file: string, args: string[], opts: { timeoutMs?: number; input?: Buffer | string; stdio3?: number; tls?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // fd 3: a connection shared with the program (the netns helper writes the attach frame and a tap fd on it).
    const stdio: StdioOptions = opts.stdio3 === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', opts.stdio3];
    const child = spawn(file, args, { stdio, detached: true, env: programEnv(opts.tls) });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += String(d)));
    child.stderr!.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ContainetError('CN_LAB_PROGRAM', `cannot run ${file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr });
    });
    child.stdin!.on('error', () => {}); // a program that exits before reading its input
    child.stdin!.end(opts.input ?? '');
  });
}

/** containode's last error line, without its program name. */
export function lastError(r: RunResult): string {
  const lines = r.stderr.trim().split('\n').filter((l) => !/^\S+: hint: /.test(l));
  return (lines.at(-1) ?? `exited ${r.code}`).replace(/^(containode|mocker|containet-cni-netns): /, '');
}

/**
 * The start time of live process `pid` (field 22 of /proc/PID/stat), to
 * tell it from a later one with the same pid; undefined once it has exited,
 * including as a zombie its parent has not reaped yet (state Z, proc(5)):
 * a switch whose deploy command is gone is reaped by whoever adopted it.
 */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
