/**
 * The namespace side of the plugin: native/build/containet-cni-netns, a
 * single-threaded C program that setns()es into the pod's network
 * namespace by path (Node never does: its other threads would stay
 * behind). One run per request; see the program's header for its commands.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { nativeHelper } from '@containet/common';

const HELPER = 'containet-cni-netns';
/** The helper's exit status when `check` finds differences. */
const EXIT_DIFFERS = 200;

export class NetnsError extends Error {
  /** errno name from the helper's exit status (EEXIST, ENOENT, ...). */
  readonly errno: string;
  constructor(message: string, errno: string) {
    super(message);
    this.name = 'NetnsError';
    this.errno = errno;
  }
}

function errnoName(status: number): string {
  return Object.entries(constants.errno).find(([, v]) => v === status)?.[0] ?? `status ${status}`;
}

interface HelperRun {
  status: number;
  stdout: string;
  stderr: string;
}

function runHelper(args: string[], opts: { input?: Buffer; sendFd?: number } = {}): HelperRun {
  const stdio: Array<'pipe' | 'ignore' | number> = [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  const argv = [...args];
  if (opts.sendFd !== undefined) {
    stdio.push(opts.sendFd);
    argv.push('--send', '3');
  }
  const r = spawnSync(nativeHelper(HELPER), argv, { input: opts.input, stdio, timeout: 30_000 });
  // EPIPE writing stdin while the helper exited with a status of its own:
  // the status says what happened.
  if (r.error && !((r.error as NodeJS.ErrnoException).code === 'EPIPE' && r.status !== null)) throw new NetnsError(`${HELPER}: ${r.error.message}`, 'EHELPER');
  return { status: r.status ?? 1, stdout: r.stdout?.toString('utf8') ?? '', stderr: r.stderr?.toString('utf8').trim() ?? '' };
}

function failure(r: HelperRun): NetnsError {
  return new NetnsError(r.stderr.replace(/^containet-cni-netns: /, '') || `${HELPER} exited ${r.status}`, errnoName(r.status));
}

export interface TapSpec {
  netns: string;
  ifname: string;
  mac?: string | undefined;
  mtu?: number | undefined;
  addresses: string[];
  /** [dst, gw or ''] */
  routes: Array<[string, string]>;
  /** A connected switch socket and the attach frame to send on it with the tap. */
  send?: { fd: number; frame: Buffer } | undefined;
}

/** Create and configure the tap; returns its MAC. Throws NetnsError (nothing left behind). */
export function createTap(spec: TapSpec): string {
  const args = ['add', spec.netns, spec.ifname];
  if (spec.mac) args.push('--mac', spec.mac);
  if (spec.mtu) args.push('--mtu', String(spec.mtu));
  for (const a of spec.addresses) args.push('--addr', a);
  for (const [dst, gw] of spec.routes) args.push('--route', gw ? `${dst},${gw}` : dst);
  const r = runHelper(args, spec.send ? { input: spec.send.frame, sendFd: spec.send.fd } : {});
  if (r.status !== 0) throw failure(r);
  return r.stdout.trim();
}

/** Re-open an existing persistent tap and send it with `frame` on `fd`. */
export function reopenTap(netns: string, ifname: string, fd: number, frame: Buffer): void {
  const r = runHelper(['open', netns, ifname], { input: frame, sendFd: fd });
  if (r.status !== 0) throw failure(r);
}

/**
 * The `del` of CNI_IFNAME in CNI_NETNS that bin/containet-cni.cjs started
 * for a DEL while Node was starting: its output (stdout and stderr) and an
 * `exit N` line, read from the fd named by CONTAINET_CNI_DELETED_FD. Taken
 * once, for that interface only; undefined when there is none.
 */
function takeEarlyDelete(netns: string, ifname: string): HelperRun | undefined {
  const fdText = process.env['CONTAINET_CNI_DELETED_FD'];
  if (!fdText || process.env['CNI_COMMAND'] !== 'DEL' || process.env['CNI_NETNS'] !== netns || process.env['CNI_IFNAME'] !== ifname) return undefined;
  delete process.env['CONTAINET_CNI_DELETED_FD'];
  const fd = Number(fdText);
  let text: string;
  try {
    text = readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {}
  }
  const m = /(?:^|\n)exit (\d+)\n?$/.exec(text);
  if (!m) return undefined; // the helper did not finish: run it here
  const output = text.slice(0, m.index).trim();
  return { status: Number(m[1]), stdout: output, stderr: output };
}

/** Delete the interface; true when it was there. An absent namespace or link is not an error. */
export function deleteTap(netns: string, ifname: string): boolean {
  const r = takeEarlyDelete(netns, ifname) ?? runHelper(['del', netns, ifname]);
  if (r.status !== 0) throw failure(r);
  return r.stdout.trim() !== 'absent';
}

/** What differs from the expected interface (empty when nothing). */
export function checkTap(netns: string, ifname: string, expect: { mac?: string | undefined; mtu?: number | undefined; addresses: string[] }): string[] {
  const args = ['check', netns, ifname];
  if (expect.mac) args.push('--mac', expect.mac);
  if (expect.mtu) args.push('--mtu', String(expect.mtu));
  for (const a of expect.addresses) args.push('--addr', a);
  const r = runHelper(args);
  if (r.status === 0) return [];
  if (r.status === EXIT_DIFFERS) return r.stderr.split('\n').filter(Boolean);
  throw failure(r);
}
