// Shared by the examples' tests: run an example as a child, watch its output,
// and look for anything a run left behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, sleep, waitUntil } from '../lib/lab.mjs';

/**
 * Start `node examples/NAME args` (through the Lab, so a failing test still
 * ends it). `output()` is everything it printed so far, both streams.
 */
export function startExample(lab, name, args = [], opts = {}) {
  const child = lab.start(process.execPath, [join(REPO, 'examples', name), ...args], { label: name, ...opts });
  let text = '';
  child.stdout?.on('data', (b) => (text += b));
  child.stderr?.on('data', (b) => (text += b));
  child.output = () => text;
  return child;
}

/** Resolve when the child has printed `pattern`; reject if it exits first. */
export function printed(child, pattern, timeoutMs = 30_000) {
  return waitUntil(() => {
    if (pattern.test(child.output())) return true;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before printing ${pattern}: ${child.output()}`);
    return false;
  }, `${child.label} to print ${pattern}`, timeoutMs);
}

/** Pids of processes whose command line contains `needle`. */
export function processesWith(needle) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** The demo/switch socket a run announced in its first line. */
export function announcedSocket(text) {
  const m = /switch on (\S+\.sock)/.exec(text);
  return m ? m[1] : null;
}

/**
 * What a run left behind, given its socket path: processes naming it,
 * the socket, its directory. Waits briefly, since exits are asynchronous.
 */
export async function leftovers(socket) {
  const dir = socket.replace(/\/[^/]+$/, '');
  for (let i = 0; i < 20; i++) {
    const left = [...processesWith(socket).map((p) => `pid ${p}`), ...[socket, dir].filter((p) => existsSync(p))];
    if (left.length === 0) return [];
    await sleep(100);
  }
  return [...processesWith(socket).map((p) => `pid ${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ')}`), ...[socket, dir].filter((p) => existsSync(p))];
}
