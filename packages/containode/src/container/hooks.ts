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

/** Run one hook in the runtime's namespaces; rejects with CN_OCI_HOOK on failure. */
export function runHostHook(stage: HookStage, hook: OciHook, state: OciState): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = hook.args ?? [hook.path];
    const child = spawn(hook.path, args.slice(1), {
      argv0: args[0] ?? hook.path,
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, hook.timeout * 1000)
      : undefined;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.stdin!.on('error', () => {}); // a hook that does not read its stdin is fine
    child.stdin!.end(JSON.stringify(state));
    child.once('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(hookError(stage, hook, `could not run: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : '';
      if (timedOut) reject(hookError(stage, hook, `timed out after ${hook.timeout} s${tail}`));
      else if (code !== 0) reject(hookError(stage, hook, `failed (${signal ? `killed by ${signal}` : `exit status ${code}`})${tail}`));
      else resolve();
    });
  });
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
    try {
      await runHostHook(stage, h, store.ociState(rec));
    } catch (err) {
      log.warn((err as Error).message);
    }
  }
}
