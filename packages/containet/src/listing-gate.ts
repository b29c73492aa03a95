/**
 * How many listings (`ports`, `macs`) go out at once: each holds its whole
 * list until its reader has taken it, so their number bounds that memory.
 * The others wait their turn, first come first served.
 */
export class ListingGate {
  #running = 0;
  #waiting: Array<() => void> = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Run `start` now or once a listing ends; it must call done() exactly once. */
  enter(start: () => void): void {
    if (this.#running < this.#max) {
      this.#running++;
      start();
    } else {
      this.#waiting.push(start);
    }
  }

  /** A listing ended: the next waiting one starts in its place. */
  done(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
