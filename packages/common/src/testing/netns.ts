import { randomBytes } from 'node:crypto';
import type { Cleanup } from './cleanup.js';
import { run, sh } from './exec.js';

let counter = 0;

/**
 * A name unique to this process and call, short enough for an interface
 * name (IFNAMSIZ 16: at most 15 characters).
 */
export function uniqueName(prefix: string): string {
  counter += 1;
  const tag = `${process.pid.toString(36)}${counter.toString(36)}${randomBytes(1).toString('hex')}`;
  return `${prefix.slice(0, 15 - tag.length)}${tag}`;
}

/** Create a named network namespace with lo up; removed by `cleanup`. */
export async function makeNetns(cleanup: Cleanup, prefix = 'cnt'): Promise<string> {
  const name = uniqueName(prefix);
  await sh('ip', 'netns', 'add', name);
  cleanup.add(`ip netns del ${name}`, () => sh('ip', 'netns', 'del', name));
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/** Run a program inside a named network namespace. */
export function inNetns(ns: string, file: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}) {
  return run('ip', ['netns', 'exec', ns, file, ...args], opts);
}

/** `ping -c COUNT` from a namespace; resolves with the number of replies. */
export async function pingFrom(ns: string, target: string, count = 1, timeoutS = 2): Promise<number> {
  const r = await inNetns(ns, 'ping', ['-n', '-c', String(count), '-W', String(timeoutS), '-i', '0.2', target], {
    timeoutMs: (count * 0.2 + timeoutS + 5) * 1000,
  });
  const m = r.stdout.match(/(\d+) received/);
  return m ? Number(m[1]) : 0;
}

/** Whether link `name` exists in namespace `ns` (host namespace when ns is null). */
export async function linkExists(ns: string | null, name: string): Promise<boolean> {
  const args = ns ? ['-n', ns, 'link', 'show', name] : ['link', 'show', name];
  return (await run('ip', args)).code === 0;
}

/**
 * Join two namespaces with a veth pair, an address (CIDR) and link up on
 * each end. The pair goes with either namespace. Returns the device names.
 */
export async function vethPair(nsA: string, addrA: string, nsB: string, addrB: string): Promise<[string, string]> {
  const a = uniqueName('va');
  const b = uniqueName('vb');
  await sh('ip', '-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
  await sh('ip', '-n', nsA, 'addr', 'add', addrA, 'dev', a);
  await sh('ip', '-n', nsA, 'link', 'set', a, 'up');
  await sh('ip', '-n', nsB, 'addr', 'add', addrB, 'dev', b);
  await sh('ip', '-n', nsB, 'link', 'set', b, 'up');
  return [a, b];
}
