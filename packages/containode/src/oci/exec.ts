/**
 * `exec`: another process in a created or running container. The spawner
 * joins every namespace of the container's init through /proc/PID/ns (a
 * joined mount namespace puts it at that namespace's root, which is the
 * container's root after pivot_root; setns(2)) and its cgroups, then runs
 * the process as config.json's process, with runc's overrides.
 */
import { readFileSync } from 'node:fs';
import { ContainetError, UsageError } from '@containet/common';
import type { Capabilities, ContainerSpec } from '../runtime/spec.js';
import { spawnerProcess, type OciProcess } from './config.js';
import type { Globals } from './create.js';
import { writeAtomic } from './create.js';
import { ContainerStore } from '../container/state.js';
import { cgroupProcsOf } from '../container/exec.js';
import { readContainer } from '../container/engine.js';

export interface ExecOptions {
  id: string;
  args: string[];
  processFile?: string;
  tty: boolean;
  consoleSocket?: string;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  detach: boolean;
  pidFile?: string;
  noNewPrivs: boolean;
  caps: string[];
}

const PROC_NS: Record<string, string> = { user: 'user', pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup' };
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`exec: invalid --user ${text}`, 'give UID[:GID] as numbers');
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

export async function execInContainer(g: Globals, o: ExecOptions): Promise<number> {
  const dirs = new ContainerStore(g.root);
  const rec = readContainer(dirs, o.id);
  const status = dirs.status(rec);
  if (status !== 'created' && status !== 'running') {
    throw new ContainetError('CN_OCI_STATE', `cannot exec in container ${o.id}: it is ${status}`);
  }
  let proc: OciProcess;
  if (o.processFile) {
    try {
      proc = JSON.parse(readFileSync(o.processFile, 'utf8')) as OciProcess;
    } catch (err) {
      throw new ContainetError('CN_OCI_CONFIG', `exec: cannot read process file ${o.processFile}: ${(err as Error).message}`);
    }
    if (!Array.isArray(proc.args) || proc.args.length === 0) throw new ContainetError('CN_OCI_CONFIG', `${o.processFile}: args must name the program`);
  } else {
    if (o.args.length === 0) throw new UsageError('exec: missing the command to run', 'usage: containode-oci exec [options] <container-id> <command> [args...]');
    const base = rec.process as OciProcess | undefined;
    proc = {
      args: o.args,
      env: [...(base?.env ?? []), ...o.env],
      cwd: o.cwd ?? base?.cwd ?? '/',
      user: o.user ? parseUser(o.user) : (base?.user ?? { uid: 0, gid: 0 }),
      terminal: o.tty,
      noNewPrivileges: o.noNewPrivs || base?.noNewPrivileges === true,
    };
    if (base?.capabilities) {
      const caps: Capabilities = {};
      for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
        const list = base.capabilities[set];
        if (list) caps[set] = [...list, ...(set === 'ambient' || set === 'inheritable' ? [] : o.caps)];
      }
      proc.capabilities = caps;
    }
    if (o.additionalGids.length) proc.user.additionalGids = o.additionalGids.map(Number);
  }
  if (proc.terminal && !o.consoleSocket) {
    throw new ContainetError('CN_OCI_CONSOLE', 'exec with a terminal needs --console-socket', { hint: 'pass --console-socket PATH, or drop -t' });
  }
  const namespaces: ContainerSpec['namespaces'] = {};
  for (const t of Object.keys(rec.namespaces ?? {})) namespaces[t as keyof typeof namespaces] = `/proc/${rec.pid}/ns/${PROC_NS[t] ?? t}`;
  const spec: ContainerSpec = {
    detached: o.detach,
    namespaces,
    cgroupProcs: cgroupProcsOf(rec.pid),
    process: spawnerProcess(proc),
  };
  if (proc.capabilities) spec.process.capabilities = proc.capabilities;
  if (proc.user.umask !== undefined) spec.process.umask = proc.user.umask;
  if (o.consoleSocket) spec.process.consoleSocket = o.consoleSocket;
  if (proc.oomScoreAdj !== undefined) spec.process.oomScoreAdj = proc.oomScoreAdj;

  // runc's exec runs the process under the container's filter (its
  // setns init installs config.json's linux.seccomp, checked again here).
  if (rec.seccomp != null) {
    const { seccompFromOci } = await import('../security/seccomp.js');
    spec.seccomp = seccompFromOci(rec.seccomp);
  }

  const { spawnContainer } = await import('../runtime/spawn.js');
  const c = await spawnContainer(spec, { stdio: 'inherit', onWarning: (m) => g.log.warn(m) });
  if (o.pidFile) writeAtomic(o.pidFile, String(c.pid));
  if (o.detach) {
    await c.release();
    return 0;
  }
  const forward = (sig: NodeJS.Signals) => c.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    await c.release();
    await c.started;
    return await c.exited;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
