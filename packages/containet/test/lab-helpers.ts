/**
 * Shared fixtures of the lab e2e tests: the containet CLI run with a private
 * state directory (containers' records and labs' run directories live
 * there), topology files in a temporary directory, and a picture of the
 * host's state to compare before and after (interfaces, containers,
 * cgroups, the labs' processes and directories).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type ExecResult } from '@containet/common/testing';
import { BIN } from './helpers.js';

export const STATE = mkdtempSync(join(tmpdir(), 'cn-lab-state-'));
process.env['CONTAINET_STATE'] = STATE;
process.on('exit', () => rmSync(STATE, { recursive: true, force: true }));

export const CONTAINODE = fileURLToPath(new URL('../../../containode/bin/containode.js', import.meta.url));

export function labDir(): string {
  return mkdtempSync(join(tmpdir(), 'cn-lab-'));
}

export function writeTopology(dir: string, name: string, text: string): string {
  const file = join(dir, `${name}.clab.yml`);
  writeFileSync(file, text);
  return file;
}

/** `containet ARGS...` to its end. */
export function containet(args: string[], timeoutMs = 120_000): Promise<ExecResult> {
  return run(process.execPath, [BIN, ...args], { timeoutMs });
}

/** `containet ARGS...` left running (to interrupt it). */
export function startContainet(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  child.stdout!.resume();
  return { child, stderr: () => err };
}

/** `containet lab exec -t FILE NODE CMD...`. */
export function labExec(file: string, node: string, ...cmd: string[]): Promise<ExecResult> {
  return containet(['lab', 'exec', '-t', file, node, '--', ...cmd]);
}

/** A ping of `target` from `node` (2 tries, as a loaded machine may lose the first to ARP). */
export async function pings(file: string, node: string, target: string): Promise<boolean> {
  const r = await labExec(file, node, 'ping', '-c', '2', '-i', '0.2', '-W', '3', target);
  return r.code === 0;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Processes whose command line mentions `text` (the private state directory: the labs' switches and supervisors). */
function processesWith(text: string): string[] {
  const out: string[] = [];
  for (const pid of list('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(text)) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface HostState {
  links: string[];
  cgroups: string[];
  containers: string[];
  labs: string[];
  processes: string[];
}

/** The host's interfaces. */
export async function hostLinks(): Promise<string[]> {
  return (await run('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(Boolean)
    .sort();
}

/**
 * What labs named with `token` could leave behind, as seen from the host.
 * Only what carries the token (or lives in this file's private state
 * directory) is compared: other tests on the machine make interfaces and
 * cgroups of their own meanwhile.
 */
export async function hostState(token: string): Promise<HostState> {
  const links = (await hostLinks()).filter((l) => l.includes(token));
  const cgroups: string[] = [];
  for (const ctl of list('/sys/fs/cgroup')) {
    const base = existsSync(`/sys/fs/cgroup/${ctl}/containet`) ? `/sys/fs/cgroup/${ctl}/containet` : undefined;
    if (base) for (const d of list(base)) if (d.includes(token)) cgroups.push(`${ctl}/${d}`);
  }
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) for (const d of list('/sys/fs/cgroup/containet')) if (d.includes(token)) cgroups.push(d);
  const ps = await run(process.execPath, [CONTAINODE, 'ps', '-a', '--json']);
  const containers = ps.code === 0 ? (JSON.parse(ps.stdout) as Array<{ id: string }>).map((c) => c.id).sort() : [`containode ps failed: ${ps.stderr}`];
  return { links, cgroups: cgroups.sort(), containers, labs: list(join(STATE, 'labs')).filter((n) => n !== '.lock'), processes: processesWith(STATE) };
}
