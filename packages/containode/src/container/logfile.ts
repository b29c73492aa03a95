/**
 * Reading a detached container's log, as containode-spawn's supervisor
 * writes it (native/src/bin/containode-spawn/logfile.h): the CRI logging
 * format, `TIMESTAMP STREAM F|P TEXT` per line, in PATH and the rotated
 * PATH.1 (newer) .. PATH.N (oldest).
 */
import { readFileSync } from 'node:fs';

export interface LogRecord {
  /** RFC 3339 with nanoseconds, UTC. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** P: the line goes on in the next record of its stream. */
  partial: boolean;
  text: string;
}

/** The records of a log text; malformed lines are skipped. */
export function parseLogRecords(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
    if (m) out.push({ time: m[1]!, stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', text: m[4]! });
  }
  return out;
}

/** The log's files, oldest first, with their text (a file rotated away meanwhile is skipped). */
export function logFiles(path: string): { path: string; text: string }[] {
  const files: { path: string; text: string }[] = [];
  for (let i = 1; i < 100; i++) {
    try {
      files.unshift({ path: `${path}.${i}`, text: readFileSync(`${path}.${i}`, 'utf8') });
    } catch {
      break;
    }
  }
  try {
    files.push({ path, text: readFileSync(path, 'utf8') });
  } catch {
    // no output yet
  }
  return files;
}
