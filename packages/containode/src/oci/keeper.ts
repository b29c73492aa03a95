/**
 * create's side of containet.reattach: start the keeper of the
 * container's taps (commands/switch-link.ts) as a process of its own, outside
 * the container and the caller's session, with the taps as its fds 3, 4, ...
 * in the order of the record's interfaces. A
 * module of its own so that only such a create loads node:child_process.
 */
import { spawn } from 'node:child_process';
import { ContainetError } from '@containet/common';
import { processStartTime, type ProcessRef } from '../container/state.js';

/**
 * Start the keeper of the container's taps (containet.reattach: see
 * switch-annotations.ts) and wait for its word: `ok PORT PORT...` once all
 * are attached, or the switch's refusal.
 */
export async function startKeeper(root: string, id: string, tapFds: number[]): Promise<{ ports: number[]; keeper: ProcessRef }> {
  const child = spawn(process.execPath, [process.argv[1]!, '--root', root, '__switch-link', id], { detached: true, stdio: ['ignore', 'pipe', 'ignore', ...tapFds] });
  const line = await new Promise<string>((res) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (text += d));
    child.stdout!.once('close', () => res(text.trim()));
    child.once('error', (err) => res(`error\t${err.message}`));
  });
  child.unref();
  const [word, ...detail] = line.split('\t');
  if (word !== 'ok') throw new ContainetError('CN_SWITCH_KEEPER', `container ${id}: ${detail.join(' ') || 'the process that keeps its switch ports ended without a word'}`);
  return { ports: detail.map(Number), keeper: { pid: child.pid!, start: processStartTime(child.pid!) ?? 0 } };
}
