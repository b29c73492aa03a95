/**
 * runc's logging contract: with --log FILE, messages are appended to FILE,
 * as logrus text (`time="..." level=error msg="..."`) or, with
 * --log-format json, one JSON object per line with level, msg and time
 * (containerd and conmon read the last error from there). Without --log
 * they go to stderr. Writes are synchronous: the container may share our
 * stdio, and Node's stream layer would switch the descriptions to
 * non-blocking mode under it.
 */
import { appendFileSync, writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export class Logger {
  readonly file: string | undefined;
  readonly json: boolean;
  readonly debugEnabled: boolean;

  constructor(file: string | undefined, format: 'text' | 'json', debug: boolean) {
    this.file = file;
    this.json = format === 'json';
    this.debugEnabled = debug;
  }

  #line(level: Level, msg: string): string {
    const time = new Date().toISOString();
    if (this.json) return `${JSON.stringify({ level, msg, time })}\n`;
    return `time=${JSON.stringify(time)} level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  log(level: Level, msg: string): void {
    if (level === 'debug' && !this.debugEnabled) return;
    if (this.file) {
      try {
        appendFileSync(this.file, this.#line(level, msg));
        return;
      } catch {
        // An unwritable log file must not hide the message itself.
      }
    }
    if (level === 'error') return; // bin.ts prints errors to stderr itself
    writeSync(2, level === 'warning' ? `containode-oci: warning: ${msg}\n` : `containode-oci: ${level}: ${msg}\n`);
  }

  debug(msg: string): void {
    this.log('debug', msg);
  }

  warn(msg: string): void {
    this.log('warning', msg);
  }

  error(msg: string): void {
    this.log('error', msg);
  }
}
