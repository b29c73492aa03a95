/**
 * A linux node is a detached containode container: eth0 on the lab's
 * management switch, its binds and /etc/hosts as containode -v volumes,
 * the rest of its interfaces plugged in after it starts,
 * its `exec` commands run in it once its links are up.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { lastError, run, suiteProgram } from './programs.js';
import type { LabPlan, NodePlan } from './plan.js';

/** What a node keeps in the lab directory. */
export function nodeDir(plan: LabPlan, node: NodePlan): string {
  return join(plan.dir, node.name);
}

/** Shell words of containerlab's `cmd` string (quotes and backslashes as sh(1) reads them, no expansion). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ContainetError('CN_LAB_TOPOLOGY', `unterminated ' in ${JSON.stringify(text)}`, { exitCode: 2 });
      cur = (cur ?? '') + text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      cur ??= '';
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) i++;
        cur += text[i++];
      }
      if (i >= text.length) throw new ContainetError('CN_LAB_TOPOLOGY', `unterminated " in ${JSON.stringify(text)}`, { exitCode: 2 });
      i++;
    } else if (c === '\\' && i + 1 < text.length) {
      cur = (cur ?? '') + text[i + 1];
      i += 2;
    } else if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      i++;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The files a node needs before it starts, and its network hook (containode
 * --net-hook runs `HOOK -pid PID` once the namespaces exist, before the
 * program). The hook writes the init's pid to NODE/pid (a detached
 * container's record names its supervisor; its namespaces are the init's).
 * Every node gets its own copy of the lab's /etc/hosts (NODE/hosts, bound
 * with -v as Docker binds a container's hosts file: a node that edits it
 * changes no other node's); an image node's changes go to NODE/top.
 */
export function writeNodeFiles(plan: LabPlan, node: NodePlan): { hook: string; hosts: string; top?: string } {
  const dir = nodeDir(plan, node);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, plan.hosts, { mode: 0o644 });
  const lines = [
    '#!/bin/sh',
    `# containet lab ${plan.name}, node ${node.name}: its init's pid.`,
    '[ "$1" = -pid ] && [ -n "$2" ] || { echo "usage: $0 -pid PID" >&2; exit 2; }',
    `echo "$2" > ${quote(join(dir, 'pid'))}`,
  ];
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, lines.join('\n') + '\n', { mode: 0o755 });
  chmodSync(hook, 0o755);
  return node.spec.image ? { hook, hosts, top: join(dir, 'top') } : { hook, hosts };
}

/** What is wrong with a node before anything starts (a bind that cannot be made), or nothing. */
export function nodeProblem(node: NodePlan): string | undefined {
  for (const b of node.binds) {
    if (!existsSync(b.source)) return `bind source ${b.source} does not exist`;
    // A node on the host's files shares them: a missing target would be made on the host (containode refuses it).
    if (!node.spec.image && !existsSync(b.target)) return `bind target ${b.target} does not exist (a node without an image shares the host's files; its targets must exist)`;
  }
  return undefined;
}

/**
 * containode's command line for the node: eth0 on the management switch
 * (-s, -4, -g), one --net per data interface (its switch, name, MAC, MTU,
 * VLAN), so every interface exists before the node's program starts.
 */
export function containodeRunArgs(plan: LabPlan, node: NodePlan, files: { hook: string; hosts: string; top?: string }): string[] {
  const s = node.spec;
  const mgmt = plan.switches.find((w) => w.kind === 'mgmt')!;
  // NET_ADMIN on top of Docker's default set: a lab node configures its own
  // interfaces and routes (containerlab runs its nodes privileged).
  const args = ['run', '-d', '--name', node.container, '-s', mgmt.socket, '-4', node.mgmtAddress, '-g', plan.gateway, '--cap-add', 'NET_ADMIN'];
  for (const [k, v] of Object.entries(s.env)) args.push('-e', `${k}=${v}`);
  for (const [k, v] of Object.entries(s.sysctls)) args.push('--sysctl', `${k}=${v}`);
  if (s.user !== undefined) args.push('-u', s.user);
  if (s.memory !== undefined) args.push('--memory', String(s.memory));
  if (s.cpu !== undefined) args.push('--cpus', String(s.cpu));
  if (s.image !== undefined) args.push('--image', s.image);
  if (files.top) args.push('-t', files.top);
  // containode -v binds in the node's own mount namespace (nothing propagates to the host's).
  if (!node.binds.some((b) => b.target.replace(/\/+$/, '') === '/etc/hosts')) args.push('-v', `${files.hosts}:/etc/hosts`);
  for (const b of node.binds) args.push('-v', `${b.source}:${b.target}${b.readonly ? ':ro' : ''}`);
  args.push('--net-hook', files.hook);
  const socketOf = new Map(plan.switches.map((w) => [w.id, w.socket]));
  for (const i of node.interfaces) {
    const keys = [`if=${i.ifname}`];
    if (i.mac) keys.push(`mac=${i.mac}`);
    if (i.mtu) keys.push(`mtu=${i.mtu}`);
    if (i.vlan !== undefined) keys.push(`vlan=${i.vlan}`);
    args.push('--net', `${socketOf.get(i.switchId)!},${keys.join(',')}`);
  }
  if (s.entrypoint !== undefined) args.push('--entrypoint', s.entrypoint);
  // Without an image nothing says what to run: a node idles, as containerlab's linux nodes do.
  const program = s.cmd !== undefined ? shellWords(s.cmd) : s.image === undefined ? ['sleep', 'infinity'] : [];
  if (program.length) args.push('--', ...program);
  return args;
}

/** Start the node's container; resolves with its init's pid. */
export async function startNode(plan: LabPlan, node: NodePlan): Promise<number> {
  const files = writeNodeFiles(plan, node);
  const [file, args] = suiteProgram('containode', containodeRunArgs(plan, node, files));
  const r = await run(file, args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new ContainetError('CN_LAB_NODE', `node ${node.name}: ${lastError(r)}`);
  // The hook wrote the init's pid before the program started; containode inspect would say it too, at the cost of a process.
  try {
    return Number(readFileSync(join(nodeDir(plan, node), 'pid'), 'utf8').trim());
  } catch {
    return containerPid(node.container);
  }
}

export async function containerPid(container: string): Promise<number> {
  const [file, args] = suiteProgram('containode', ['inspect', '--json', container]);
  const r = await run(file, args);
  if (r.code !== 0) throw new ContainetError('CN_LAB_NODE', `containode inspect ${container}: ${lastError(r)}`);
  // A detached container's `pid` is its supervisor's (in the host's namespaces); the init is the container.
  const info = JSON.parse(r.stdout) as { pid?: number; supervisor?: { init?: { pid?: number } } };
  const pid = info.supervisor?.init?.pid ?? info.pid;
  if (typeof pid !== 'number') throw new ContainetError('CN_LAB_NODE', `${container} has no running init`);
  return pid;
}

/** Run the node's `exec` commands in order (sh -c each); the first failure stops. */
export async function runExecs(node: NodePlan): Promise<void> {
  for (const cmd of node.spec.exec) {
    const [file, args] = suiteProgram('containode', ['exec', node.container, 'sh', '-c', cmd]);
    const r = await run(file, args, { timeoutMs: 120_000 });
    if (r.code !== 0) {
      const why = lastError(r);
      throw new ContainetError('CN_LAB_EXEC', `node ${node.name}: exec ${JSON.stringify(cmd)} failed (status ${r.code}): ${why}`);
    }
  }
}
