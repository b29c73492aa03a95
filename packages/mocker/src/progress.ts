/**
 * Pull progress as `docker pull` shows it: on a terminal one live line per
 * layer (Waiting, Downloading with bytes and speed, Verifying Checksum,
 * Download complete / Already exists), redrawn in place; otherwise one line
 * per layer when it is done; nothing with --quiet.
 */
import type { Writable } from 'node:stream';

export type LayerState = 'waiting' | 'exists' | 'downloading' | 'resuming' | 'retrying' | 'verifying' | 'done';

export interface PullProgress {
  layer(digest: string, state: LayerState, got?: number, total?: number, reason?: string): void;
  /** A line of its own (`Digest: …`, `Status: …`). */
  note(line: string): void;
  end(): void;
}

export function humanSize(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${units[i]}`;
}

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

export class QuietProgress implements PullProgress {
  layer(): void {}
  note(): void {}
  end(): void {}
}

export class LineProgress implements PullProgress {
  #out: Writable;
  #started = new Map<string, number>();
  constructor(out: Writable) {
    this.#out = out;
  }
  layer(digest: string, state: LayerState, got = 0, total = 0, reason?: string): void {
    if (state === 'downloading' && !this.#started.has(digest)) this.#started.set(digest, Date.now());
    if (state === 'exists') this.#out.write(`${short(digest)}: Already exists\n`);
    else if (state === 'resuming') this.#out.write(`${short(digest)}: Resuming at ${humanSize(got)}/${humanSize(total)} (left by an earlier pull)\n`);
    else if (state === 'retrying') this.#out.write(`${short(digest)}: Retrying at ${humanSize(got)}/${humanSize(total)}: ${reason ?? ''}\n`);
    else if (state === 'done') {
      const secs = (Date.now() - (this.#started.get(digest) ?? Date.now())) / 1000;
      this.#out.write(`${short(digest)}: Pull complete ${humanSize(total)} in ${secs.toFixed(2)}s\n`);
    }
  }
  note(line: string): void {
    this.#out.write(`${line}\n`);
  }
  end(): void {}
}

export class TtyProgress implements PullProgress {
  #out: Writable;
  #order: string[] = [];
  #lines = new Map<string, string>();
  #speed = new Map<string, { t: number; got: number; rate: number }>();
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  constructor(out: Writable) {
    this.#out = out;
  }
  layer(digest: string, state: LayerState, got = 0, total = 0, reason?: string): void {
    if (!this.#lines.has(digest)) this.#order.push(digest);
    let text: string;
    switch (state) {
      case 'waiting':
        text = 'Waiting';
        break;
      case 'exists':
        text = 'Already exists';
        break;
      case 'downloading': {
        const now = Date.now();
        const s = this.#speed.get(digest) ?? { t: now, got: 0, rate: 0 };
        if (now - s.t >= 250) {
          s.rate = ((got - s.got) * 1000) / (now - s.t);
          s.t = now;
          s.got = got;
        }
        this.#speed.set(digest, s);
        const width = 40;
        const filled = total > 0 ? Math.min(width, Math.floor((got / total) * width)) : 0;
        const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
        text = `Downloading ${bar} ${humanSize(got)}/${humanSize(total)}${s.rate > 0 ? ` ${humanSize(s.rate)}/s` : ''}`;
        break;
      }
      case 'resuming':
        text = `Resuming at ${humanSize(got)}/${humanSize(total)}`;
        break;
      case 'retrying':
        text = `Retrying at ${humanSize(got)}/${humanSize(total)} (${reason ?? 'connection lost'})`;
        break;
      case 'verifying':
        text = 'Verifying Checksum';
        break;
      case 'done':
        text = 'Pull complete';
        break;
    }
    this.#lines.set(digest, `${short(digest)}: ${text}`);
    this.#schedule(state !== 'downloading');
  }
  note(line: string): void {
    this.#draw();
    this.#out.write(`${line}\n`);
    this.#order = [];
    this.#lines.clear();
    this.#drawn = 0;
  }
  end(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#draw();
  }
  #schedule(now: boolean): void {
    if (now) {
      this.#draw();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, 100);
  }
  #draw(): void {
    // Move up over what we drew (CSI n A), then rewrite each line (CSI 2 K).
    let s = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    for (const d of this.#order) s += `\x1b[2K\r${this.#lines.get(d)}\n`;
    this.#drawn = this.#order.length;
    this.#out.write(s);
  }
}

export function progressFor(out: NodeJS.WriteStream, quiet: boolean): PullProgress {
  if (quiet) return new QuietProgress();
  return out.isTTY ? new TtyProgress(out) : new LineProgress(out);
}
