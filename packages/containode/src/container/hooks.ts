/**
 * OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): each gets the
 * container state as JSON on stdin, the hook's args (args[0] is argv[0]) and
 * only the hook's env; a hook still running after `timeout` seconds is
 * killed and counts as failed. prestart, createRuntime, poststart and
 * poststop run in the runtime's namespaces; createContainer and
 * startContainer run in the container's, through the spawner joining the
 * init's namespaces (Node never setns()es itself).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import type { EngineLog } from './engine.js';
import type { ContainerRecord, ContainerStore, HookSpec as OciHook, OciState } from './state.js';

export type HookStage = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

function hookError(stage: HookStage, hook: OciHook, what: string): ContainetError {
  return new ContainetError('CN_OCI_HOOK', `${stage} hook ${hook.path} ${what}`, { hint: 'fix the hook or remove it from config.json hooks' });
}

/** How a hook process ended. */
export interface HookOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Its last stderr lines (when captured), joined with ` | `. */
  stderrTail: string;
}

/**
 * Run a hook process in the runtime's namespaces: the one way both
 * commands run them (OCI hooks; containode's --net-hook, `PATH -pid PID`).
 * `input` goes to its stdin; `output: 'forward'` sends its stdout and
 * stderr to ours (containode: the container's stdout stays the program's),
 * `'capture'` drops stdout and keeps the tail of stderr for the message
 * (OCI: the caller reads our log). Killed after `timeoutMs`. Rejects only
 * when it cannot be started (spawn's error).
 */
export function runHookProcess(hook: OciHook, opts: { input?: string; env?: NodeJS.ProcessEnv; output: 'forward' | 'capture'; timeoutMs?: number }): Promise<HookOutcome> {
  return new Promise((resolve, reject) => {
    const args = hook.args ?? [hook.path];
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0] ?? hook.path,
      env: opts.env ?? Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.output === 'forward' ? 'pipe' : 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    if (opts.output === 'forward') {
      child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
      child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
    } else {
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (s: string) => {
        if (stderr.length < 4096) stderr += s;
      });
    }
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // a hook that does not read its stdin is fine
      child.stdin!.end(opts.input);
    }
    child.once('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, timedOut, stderrTail: stderr.trim().split('\n').slice(-3).join(' | ') });
    });
  });
}

/** Run one OCI hook in the runtime's namespaces; rejects with CN_OCI_HOOK on failure. */
export async function runHostHook(stage: HookStage, hook: OciHook, state: OciState): Promise<void> {
  let r: HookOutcome;
  try {
    r = await runHookProcess(hook, { input: JSON.stringify(state), output: 'capture', timeoutMs: hook.timeout ? hook.timeout * 1000 : undefined });
  } catch (err) {
    throw hookError(stage, hook, `could not run: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const tail = r.stderrTail ? `: ${r.stderrTail}` : '';
  if (r.timedOut) throw hookError(stage, hook, `timed out after ${hook.timeout} s${tail}`);
  if (r.code !== 0) throw hookError(stage, hook, `failed (${r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`})${tail}`);
}

/**
 * Run one hook inside the namespaces of the container's init `pid` (which
 * must exist and wait). The hook's stdin is a file holding the state,
 * written in `stateDir`.
 */
export async function runContainerHook(stage: HookStage, hook: OciHook, state: OciState, pid: number, nsTypes: string[], stateDir: string): Promise<void> {
  const { spawnContainer, SpawnError } = await import('../runtime/spawn.js');
  const file = join(stateDir, `hook-stdin.${process.pid}`);
  const fd = openSync(file, 'w+', 0o600);
  let stdin = -1;
  try {
    writeSync(fd, JSON.stringify(state));
    stdin = openSync(file, 'r');
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  const procNs: Record<string, string> = { user: 'user', pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup' };
  const namespaces: Record<string, string> = {};
  for (const t of nsTypes) namespaces[t] = `/proc/${pid}/ns/${procNs[t]}`;
  try {
    const c = await spawnContainer(
      {
        namespaces,
        // The spawner runs args[0]; argv[0] cannot differ from the path.
        process: { args: [hook.path, ...(hook.args ?? []).slice(1)], env: hook.env ?? [], cwd: '/' },
      },
      { stdio: [stdin, 'ignore', 2] },
    );
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          void c.abort();
        }, hook.timeout * 1000)
      : undefined;
    try {
      await c.release();
      const status = await c.exited;
      if (timedOut) throw hookError(stage, hook, `timed out after ${hook.timeout} s`);
      if (status !== 0) throw hookError(stage, hook, `failed (exit status ${status})`);
    } catch (err) {
      if (timedOut) throw hookError(stage, hook, `timed out after ${hook.timeout} s`);
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  } catch (err) {
    if (err instanceof SpawnError) throw hookError(stage, hook, `could not run: ${err.message}`);
    throw err;
  } finally {
    closeSync(stdin);
  }
}

/** Run the hooks of a stage that only warn on failure (poststart, poststop). */
export async function runWarningHooks(log: EngineLog, stage: 'poststart' | 'poststop', rec: ContainerRecord, store: ContainerStore): Promise<void> {
  for (const h of rec.hooks?.[stage] ?? []) {
    // runtime.md: poststart runs once the program was started, before start
    // returns: the container is running as far as its state goes, even when
    // a quick program has already ended (runc passes `running` and the pid).
    const state = stage === 'poststart' ? { ...store.ociState(rec), status: 'running' as const, pid: rec.pid } : store.ociState(rec);
    try {
      await runHostHook(stage, h, state);
    } catch (err) {
      log.warn((err as Error).message);
    }
  }
}
