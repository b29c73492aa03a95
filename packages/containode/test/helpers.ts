/**
 * Fixtures of the containode tests: the CLI run as a child process, specs
 * run through spawnContainer with their output in a file, a busybox root,
 * and a look at what a container could leave behind on the host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerStateDir } from '@containet/common';
import { makeBusyboxRoot, run, type Cleanup, type ExecResult } from '@containet/common/testing';
import { spawnContainer, type ContainerSpec, type ProcessSpec } from '@containet/containode';

export const CONTAINODE = fileURLToPath(new URL('../../bin/containode.js', import.meta.url));
export const CONTAINET = fileURLToPath(new URL('../../../containet/bin/containet.js', import.meta.url));

/** Run the containode CLI to its end. */
export function containode(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return run(process.execPath, [CONTAINODE, ...args], { timeoutMs: opts.timeoutMs ?? 30_000, input: opts.input, env: opts.env });
}

/** Start the containode CLI in the background (stdout/stderr piped and collected). */
export function startContainode(cleanup: Cleanup, args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number> } {
  const child = spawn(process.execPath, [CONTAINODE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const exit = new Promise<number>((resolve) => child.once('exit', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15))));
  cleanup.add(`containode ${child.pid}`, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  return { child, out: () => out, err: () => err, exit };
}

/** A temporary directory removed by `cleanup`. */
export function tempDir(cleanup: Cleanup, prefix = 'cnode'): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanup.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let sharedRoot: string | undefined;

/** One busybox root filesystem per test file (read-only use: it is a lower layer). */
export async function busyboxRoot(cleanup: Cleanup): Promise<string> {
  if (sharedRoot && existsSync(sharedRoot)) return sharedRoot;
  const dir = mkdtempSync(join(tmpdir(), 'cnode-root-'));
  // Searchable by everyone: a user namespace's root is not the host's.
  chmodSync(dir, 0o755);
  await makeBusyboxRoot(dir);
  sharedRoot = dir;
  cleanup.add(`rm ${dir}`, () => {
    rmSync(dir, { recursive: true, force: true });
    sharedRoot = undefined;
  });
  return dir;
}

/** Mount points on the host whose path contains `part`. */
export function hostMountsUnder(part: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.includes(part));
}

/** Container records present in the state directory. */
export function recordIds(): string[] {
  try {
    return readdirSync(containerStateDir()).filter((n) => existsSync(join(containerStateDir(), n, 'state.json')));
  } catch {
    return [];
  }
}

/**
 * Run `spec` attached, stdout and stderr into files, stdin from /dev/null.
 * Resolves with the exit status and the output.
 */
export async function runSpec(cleanup: Cleanup, spec: ContainerSpec): Promise<{ status: number; out: string; err: string }> {
  const dir = tempDir(cleanup, 'cnode-out');
  const outPath = join(dir, 'out');
  const errPath = join(dir, 'err');
  const outFd = openSync(outPath, 'w');
  const errFd = openSync(errPath, 'w');
  const inFd = openSync('/dev/null', 'r');
  try {
    const c = await spawnContainer(spec, { stdio: [inFd, outFd, errFd] });
    await c.release();
    const status = await c.exited;
    return { status, out: readFileSync(outPath, 'utf8'), err: readFileSync(errPath, 'utf8') };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    closeSync(inFd);
  }
}

/** The plain spec tests start from: new pid, mount, uts, ipc, net; default /proc and /dev. */
export function baseSpec(args: string[], extra: Partial<Omit<ContainerSpec, 'process'>> & { process?: Partial<ProcessSpec> } = {}): ContainerSpec {
  return {
    namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true },
    defaultMounts: true,
    defaultDevices: true,
    ...extra,
    process: { args, env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...(extra.process ?? {}) },
  };
}
