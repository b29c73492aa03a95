/**
 * A log line that may repeat at any rate (a refused or dropped client):
 * up to `burst` lines a second are written, the rest are counted and the
 * count is added to the next line written, so a flood of clients cannot
 * flood the log while each of a few is still named.
 */
export class ThrottledLog {
  #windowStart = 0;
  #written = 0;
  #suppressed = 0;
  readonly #log: (line: string) => void;
  readonly #burst: number;

  constructor(log: (line: string) => void, burst = 10) {
    this.#log = log;
    this.#burst = burst;
  }

  line(text: string): void {
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#written = 0;
    }
    if (this.#written >= this.#burst) {
      this.#suppressed++;
      return;
    }
    this.#written++;
    this.#log(this.#suppressed ? `${text} (and ${this.#suppressed} more like it not logged)` : text);
    this.#suppressed = 0;
  }
}
