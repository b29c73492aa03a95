/**
 * A log line that may repeat at any rate (a refused or dropped client):
 * the first in each second is written, the rest are counted and the count
 * is added to the next line written, so a flood of clients cannot flood
 * the log.
 */
export class ThrottledLog {
  #last = 0;
  #suppressed = 0;
  readonly #log: (line: string) => void;
  readonly #intervalMs: number;

  constructor(log: (line: string) => void, intervalMs = 1000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  line(text: string): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#log(this.#suppressed ? `${text} (and ${this.#suppressed} more like it since the last such line)` : text);
    this.#last = now;
    this.#suppressed = 0;
  }
}
