/**
 * `containode exec`: a new process in a running container, through the same
 * spawner: it joins every namespace of the container's init that differs
 * from ours (setns on /proc/PID/ns/*), its cgroups, and takes over its
 * environment and capability sets, so the process sees what PID 1 sees.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { seccompFilterFor } from '../security/seccomp.js';
import { ContainetError } from '@containet/common';
import { NAMESPACE_TYPES, type Capabilities, type ContainerSpec, type NamespaceType } from '../runtime/spec.js';
import { recordAlive, type ContainerRecord } from './state.js';
import { ourTerminalSize } from './terminal.js';

const NS_FILE: Record<NamespaceType, string> = { user: 'user', pid: 'pid', mount: 'mnt', uts: 'uts', ipc: 'ipc', net: 'net', cgroup: 'cgroup' };

function capBits(hex: string): number[] {
  const v = BigInt(`0x${hex}`);
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((v >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** The capability sets and no_new_privs of a process (proc(5), /proc/PID/status). */
export function processCapabilities(pid: number): { capabilities: Capabilities; noNewPrivileges: boolean } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\S+)`, 'm'))?.[1] ?? '0';
  return {
    capabilities: {
      bounding: capBits(field('CapBnd')),
      effective: capBits(field('CapEff')),
      permitted: capBits(field('CapPrm')),
      inheritable: capBits(field('CapInh')),
      ambient: capBits(field('CapAmb')),
    },
    noNewPrivileges: field('NoNewPrivs') === '1',
  };
}

/** cgroup.procs files of every hierarchy where `pid` is elsewhere than we are. */
export function cgroupProcsOf(pid: number): string[] {
  const parse = (text: string) => {
    const m = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [, ctrls, path] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
      if (ctrls !== undefined && path !== undefined) m.set(ctrls, path);
    }
    return m;
  };
  const theirs = parse(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const ours = parse(readFileSync('/proc/self/cgroup', 'utf8'));
  // Mount points by hierarchy: cgroup2 for "", v1 by its controller list.
  const mounts = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOpts = ''] = post.split(' ');
    const mountPoint = pre.split(' ')[4] ?? '';
    if (pre.split(' ')[3] !== '/') continue; // only mounts of a hierarchy's root
    if (fstype === 'cgroup2' && !mounts.has('')) mounts.set('', mountPoint);
    if (fstype === 'cgroup') {
      const ctrls = superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'xattr');
      if (!mounts.has(ctrls.join(','))) mounts.set(ctrls.join(','), mountPoint);
    }
  }
  const out: string[] = [];
  for (const [ctrls, path] of theirs) {
    if (ours.get(ctrls) === path) continue;
    const mp = mounts.get(ctrls);
    if (mp) out.push(`${mp}${path === '/' ? '' : path}/cgroup.procs`);
  }
  return out;
}

export interface ExecOptions {
  tty?: boolean;
  env?: string[];
  workdir?: string;
}

/** The spec that runs `args` inside the container of `rec`. */
export function execSpec(rec: ContainerRecord, args: string[], opts: ExecOptions = {}): ContainerSpec {
  if (!recordAlive(rec)) {
    throw new ContainetError('CN_NOT_RUNNING', `container ${rec.id} is not running`, { hint: 'see `containode ps`' });
  }
  const pid = rec.pid;
  const namespaces: ContainerSpec['namespaces'] = {};
  for (const type of NAMESPACE_TYPES) {
    const file = NS_FILE[type];
    let theirs: string;
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/${file}`);
    } catch {
      continue;
    }
    if (theirs !== readlinkSync(`/proc/self/ns/${file}`)) namespaces[type] = `/proc/${pid}/ns/${file}`;
  }
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  const env = new Map<string, string>();
  for (const kv of [...environ, ...(opts.env ?? [])]) env.set(kv.slice(0, kv.indexOf('=')), kv);
  const { capabilities, noNewPrivileges } = processCapabilities(pid);
  return {
    namespaces,
    cgroupProcs: cgroupProcsOf(pid),
    process: {
      args,
      env: [...env.values()],
      cwd: opts.workdir ?? '/',
      terminal: opts.tty,
      consoleSize: opts.tty ? ourTerminalSize() : undefined,
      capabilities,
      noNewPrivileges,
    },
    // The container's own filter, for the capabilities the program gets (OCI exec sets config.json's).
    ...(rec.seccompChoice ? { seccomp: seccompFilterFor(rec.seccompChoice, (capabilities.bounding ?? []).map(String)) } : {}),
  };
}
