/**
 * `containode logs [-f] [--tail N] [--timestamps] ID`: a detached
 * container's output from its log files (STATE/ID/log and the rotated
 * log.1 .. log.N, CRI format: container/logfile.ts), stdout to stdout and
 * stderr to stderr. -f follows the file through rotations until the
 * container has ended for good.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { ContainetError, UsageError } from '@containet/common';
import { containodeStore } from '../container/containode-store.js';
import { isDetached } from '../container/detach.js';
import { logFiles, parseLogRecords, type LogRecord } from '../container/logfile.js';
import { recordAlive } from '../container/state.js';
import { containerId } from './common.js';

export const commandNames = ['logs'];

export const help = 'Print the output of a detached container (run -d): stdout and stderr as it wrote them, from its bounded, rotated log files.';

export interface LogsOptions {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
}

function emit(r: LogRecord, timestamps: boolean, atLineStart: { out: boolean; err: boolean }): void {
  const key = r.stream === 'stderr' ? 'err' : 'out';
  const text = `${timestamps && atLineStart[key] ? `${r.time} ` : ''}${r.text}${r.partial ? '' : '\n'}`;
  atLineStart[key] = !r.partial;
  (r.stream === 'stderr' ? process.stderr : process.stdout).write(text);
}

export async function handler(opts: LogsOptions, args: string[]): Promise<number> {
  const id = containerId(args, 'logs');
  let tail = Infinity;
  if (opts.tail !== undefined && opts.tail !== 'all') {
    if (!/^\d{1,9}$/.test(opts.tail)) throw new UsageError(`invalid --tail ${opts.tail}`, 'a number of lines, or all');
    tail = Number(opts.tail);
  }
  const store = containodeStore();
  const rec = store.read(id);
  if (!rec) throw new ContainetError('CN_NO_SUCH_CONTAINER', `no container ${id}`, { hint: 'see `containode ps -a`' });
  if (!isDetached(rec)) {
    throw new ContainetError('CN_NO_LOG', `container ${id} runs in the foreground: its output goes to its containode's terminal`, { hint: 'containode run -d keeps a log' });
  }
  const path = rec.detached.log;
  const lineStart = { out: true, err: true };
  const timestamps = opts.timestamps === true;
  const records = logFiles(path).flatMap((f) => parseLogRecords(f.text));
  // --tail counts lines: a line is its partial records and the full one that ends it.
  let from = 0;
  if (tail !== Infinity) {
    let lines = 0;
    from = records.length;
    while (from > 0 && lines < tail) {
      from--;
      if (!records[from]!.partial) lines++;
    }
    while (from > 0 && records[from - 1]!.partial) from--;
    if (tail === 0) from = records.length;
  }
  for (const r of records.slice(from)) emit(r, timestamps, lineStart);
  if (!opts.follow) return 0;

  // Follow: from the end of the current file; a new inode means it was rotated.
  let fd = -1;
  let ino = 0;
  let offset = 0;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    ino = st.ino;
    offset = st.size;
  } catch {
    // not there yet
  }
  let pending = '';
  const readMore = () => {
    if (fd < 0) return;
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      pending += buf.subarray(0, n).toString('utf8');
    }
    const nl = pending.lastIndexOf('\n');
    if (nl < 0) return;
    for (const r of parseLogRecords(pending.slice(0, nl + 1))) emit(r, timestamps, lineStart);
    pending = pending.slice(nl + 1);
  };
  for (;;) {
    const alive = recordAlive(rec);
    readMore();
    let rotated = false;
    try {
      rotated = statSync(path).ino !== ino;
    } catch {
      rotated = false;
    }
    if (rotated) {
      readMore();
      if (fd >= 0) closeSync(fd);
      try {
        fd = openSync(path, 'r');
        ino = fstatSync(fd).ino;
        offset = 0;
        pending = '';
      } catch {
        fd = -1;
      }
      continue;
    }
    if (!alive) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  readMore();
  if (fd >= 0) closeSync(fd);
  return 0;
}
