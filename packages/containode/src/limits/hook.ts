/**
 * The network hook of the COSO project's contract: `PATH -pid PID`, run
 * after the container's namespaces exist and before its program starts, so
 * that it can move a veth into /proc/PID/ns/net, plug it into a bridge,
 * and so on. A non-zero exit aborts the start.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContainetError, UsageError } from '@containet/common';

/** How long a hook may take before the start is abandoned. */
export const HOOK_TIMEOUT_MS = 60_000;

/** Resolve and check --net-hook before anything is created. */
export function checkNetHook(path: string): string {
  const abs = resolve(path);
  const hint = 'give the path of an executable that takes `-pid PID` (the COSO network hook contract)';
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UsageError(`--net-hook ${path}: no such file`, hint);
  }
  if (!st.isFile()) throw new UsageError(`--net-hook ${path}: not a regular file`, hint);
  try {
    accessSync(abs, constants.X_OK);
  } catch {
    throw new UsageError(`--net-hook ${path}: not executable`, `chmod +x ${abs}`);
  }
  return abs;
}

/**
 * Run `hook -pid PID`. Its stdout and stderr go to containode's stderr (the
 * container's stdout stays the program's alone); CONTAINODE_ID names the
 * container. Rejects with CN_NET_HOOK on a non-zero exit, a signal or the
 * timeout.
 */
export function runNetHook(hook: string, pid: number, id: string, timeoutMs = HOOK_TIMEOUT_MS): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(hook, ['-pid', String(pid)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONTAINODE_ID: id },
    });
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ContainetError('CN_NET_HOOK', `network hook ${hook}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolvePromise();
      const how = timedOut ? `did not finish within ${timeoutMs / 1000} s` : signal ? `was killed by ${signal}` : `exited with status ${code}`;
      reject(new ContainetError('CN_NET_HOOK', `network hook \`${hook} -pid ${pid}\` ${how}; the container was not started`, {
        hint: 'its own messages are above',
      }));
    });
  });
}
