/**
 * Signal operands as both commands take them (runc's forms): a number, `TERM` or `SIGTERM`
 * (signal(7) names, case-insensitive), and the real-time `RTMIN+N` forms.
 */
import { constants } from 'node:os';
import { UsageError } from '@containet/common';

export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
    throw new UsageError(`invalid signal ${text}: numbers go from 1 to 64`);
  }
  let name = text.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    // glibc reserves 32 and 33: SIGRTMIN is 34, SIGRTMAX 64 (signal(7)).
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? 34 + off : 64 - off;
    if (n >= 34 && n <= 64) return n;
  }
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new UsageError(`invalid signal ${text}`, 'give a number, or a name such as TERM, SIGKILL, HUP');
  return n;
}
