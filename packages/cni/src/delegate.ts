/**
 * Delegated plugins (SPEC.md, section 4): the IPAM plugin named in the
 * config is found in CNI_PATH and run with our environment (CNI_COMMAND
 * replaced as needed) and the complete configuration on stdin; its stderr
 * goes to ours, its result or error comes back on stdout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CniError, CNI_ERR } from './errors.js';
import type { CniResult } from './result.js';

export function findPlugin(type: string, path: readonly string[]): string {
  for (const dir of path) {
    const file = join(dir, type);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `failed to find plugin "${type}" in CNI_PATH`, `searched: ${path.join(':') || '(CNI_PATH is empty)'}`);
}

/**
 * The attachment a delegated call is about when it is not this process's
 * own (GC tears down recorded attachments): the delegate needs their
 * CNI_CONTAINERID, CNI_IFNAME and CNI_NETNS, as DEL would have passed them.
 */
export interface AttachmentEnv {
  containerId: string;
  ifname: string;
  netns: string | undefined;
}

function attachmentVariables(a: AttachmentEnv | undefined): Record<string, string> {
  if (!a) return {};
  return { CNI_CONTAINERID: a.containerId, CNI_IFNAME: a.ifname, ...(a.netns ? { CNI_NETNS: a.netns } : {}) };
}

export interface DelegateOutcome {
  /** Parsed stdout (a result, a version listing), or undefined when empty. */
  output: unknown;
}

/**
 * Run delegated plugin `type` for `command` with `conf` on stdin.
 * Throws a CniError carrying the plugin's own code and message.
 */
export function runDelegate(type: string, command: string, conf: Record<string, unknown>, path: readonly string[], attachment?: AttachmentEnv): DelegateOutcome {
  const file = findPlugin(type, path);
  const r = spawnSync(file, [], {
    input: JSON.stringify(conf),
    env: { ...process.env, CNI_COMMAND: command, ...attachmentVariables(attachment) },
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
    timeout: 60_000,
  });
  // EPIPE writing stdin to a plugin that exited without reading it all: its
  // status and output say what happened.
  if (r.error && !((r.error as NodeJS.ErrnoException).code === 'EPIPE' && r.status !== null)) {
    throw new CniError(CNI_ERR.DELEGATE, `running ${type} (${command}) failed`, `${file}: ${r.error.message}`, r.error);
  }
  return interpret(type, command, r.status, r.signal, r.stdout.toString('utf8'));
}

/** The same as runDelegate, without blocking: other work runs while the plugin does. */
export function runDelegateAsync(type: string, command: string, conf: Record<string, unknown>, path: readonly string[], attachment?: AttachmentEnv): Promise<DelegateOutcome> {
  const file = findPlugin(type, path);
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: { ...process.env, CNI_COMMAND: command, ...attachmentVariables(attachment) }, stdio: ['pipe', 'pipe', 'inherit'], timeout: 60_000 });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stdin.on('error', () => {}); // a plugin that exits without reading its config
    child.once('error', (err) => reject(new CniError(CNI_ERR.DELEGATE, `running ${type} (${command}) failed`, `${file}: ${err.message}`, err)));
    child.once('close', (status, signal) => {
      try {
        resolve(interpret(type, command, status, signal, Buffer.concat(out).toString('utf8')));
      } catch (err) {
        reject(err as Error);
      }
    });
    // The plugin reads its config to end of file, so the pipe is closed at
    // once when the write went through (a small config always does), not
    // on a later turn of the event loop the caller may be blocking.
    child.stdin.write(JSON.stringify(conf));
    if (child.stdin.writableLength === 0) child.stdin.destroy();
    else child.stdin.end();
  });
}

/** A delegate's exit and stdout as its result, or its error as a CniError. */
function interpret(type: string, command: string, status: number | null, signal: NodeJS.Signals | null, stdout: string): DelegateOutcome {
  const r = { status, signal };
  const text = stdout.trim();
  let output: unknown;
  if (text) {
    try {
      output = JSON.parse(text);
    } catch {
      output = undefined;
    }
  }
  if (r.status !== 0) {
    const e = output as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    if (e && typeof e.code === 'number' && typeof e.msg === 'string') {
      throw new CniError(e.code, `${type}: ${e.msg}`, typeof e.details === 'string' && e.details ? e.details : undefined);
    }
    throw new CniError(CNI_ERR.DELEGATE, `${type} (${command}) exited ${r.status ?? r.signal}`, text.slice(0, 500) || undefined);
  }
  return { output };
}

/**
 * ADD through the IPAM plugin. A 1.0.0 plugin (Debian 12's host-local)
 * refuses a 1.1.0 config with code 1; the result formats of the two are
 * the same (SPEC.md), so it is asked again as 1.0.0.
 */
export function ipamAdd(type: string, conf: Record<string, unknown>, path: readonly string[]): CniResult {
  let out: DelegateOutcome;
  try {
    out = runDelegate(type, 'ADD', conf, path);
  } catch (err) {
    if (!(err instanceof CniError) || err.code !== CNI_ERR.INCOMPATIBLE_VERSION || conf['cniVersion'] !== '1.1.0') throw err;
    out = runDelegate(type, 'ADD', { ...conf, cniVersion: '1.0.0' }, path);
  }
  const res = out.output as CniResult | undefined;
  if (!res || typeof res !== 'object' || (res.ips !== undefined && !Array.isArray(res.ips))) {
    throw new CniError(CNI_ERR.DECODING_FAILURE, `${type} returned no usable result`, JSON.stringify(out.output)?.slice(0, 500));
  }
  return res;
}

/** DEL, CHECK, GC or STATUS through the IPAM plugin, with the same 1.1.0 -> 1.0.0 retry. */
export function ipamOther(type: string, command: 'DEL' | 'CHECK' | 'GC' | 'STATUS', conf: Record<string, unknown>, path: readonly string[], attachment?: AttachmentEnv): void {
  try {
    runDelegate(type, command, conf, path, attachment);
  } catch (err) {
    if (!(err instanceof CniError) || err.code !== CNI_ERR.INCOMPATIBLE_VERSION || conf['cniVersion'] !== '1.1.0' || command === 'GC' || command === 'STATUS') throw err;
    runDelegate(type, command, { ...conf, cniVersion: '1.0.0' }, path, attachment);
  }
}

/** ipamOther without blocking (DEL runs the namespace helper meanwhile). */
export async function ipamOtherAsync(type: string, command: 'DEL' | 'CHECK', conf: Record<string, unknown>, path: readonly string[], attachment?: AttachmentEnv): Promise<void> {
  try {
    await runDelegateAsync(type, command, conf, path, attachment);
  } catch (err) {
    if (!(err instanceof CniError) || err.code !== CNI_ERR.INCOMPATIBLE_VERSION || conf['cniVersion'] !== '1.1.0') throw err;
    await runDelegateAsync(type, command, { ...conf, cniVersion: '1.0.0' }, path, attachment);
  }
}

/** Whether the IPAM plugin speaks 1.1.0 (and so knows GC and STATUS). */
export function ipamSpeaks110(type: string, path: readonly string[]): boolean {
  try {
    const out = runDelegate(type, 'VERSION', { cniVersion: '1.1.0' }, path).output as { supportedVersions?: unknown } | undefined;
    return Array.isArray(out?.supportedVersions) && out.supportedVersions.includes('1.1.0');
  } catch {
    return false;
  }
}
