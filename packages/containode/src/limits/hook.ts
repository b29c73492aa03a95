/**
 * The network hook of the COSO project's contract: `PATH -pid PID`, run
 * after the container's namespaces exist and before its program starts, so
 * that it can move a veth into /proc/PID/ns/net, plug it into a bridge,
 * and so on. A non-zero exit aborts the start.
 */
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
 * Run `hook -pid PID`, through the engine's one hook runner
 * (container/hooks.ts). Its stdout and stderr go to containode's stderr (the
 * container's stdout stays the program's alone); CONTAINODE_ID names the
 * container. Rejects with CN_NET_HOOK on a non-zero exit, a signal or the
 * timeout.
 */
export async function runNetHook(hook: string, pid: number, id: string, timeoutMs = HOOK_TIMEOUT_MS): Promise<void> {
  const { runHookProcess } = await import('../container/hooks.js');
  let r;
  try {
    r = await runHookProcess({ path: hook, args: [hook, '-pid', String(pid)] }, { env: { ...process.env, CONTAINODE_ID: id }, output: 'forward', timeoutMs });
  } catch (err) {
    throw new ContainetError('CN_NET_HOOK', `network hook ${hook}: ${(err as Error).message}`, { cause: err });
  }
  if (r.code === 0) return;
  const how = r.timedOut ? `did not finish within ${timeoutMs / 1000} s` : r.signal ? `was killed by ${r.signal}` : `exited with status ${r.code}`;
  throw new ContainetError('CN_NET_HOOK', `network hook \`${hook} -pid ${pid}\` ${how}; the container was not started`, {
    hint: 'its own messages are above',
  });
}
