/**
 * The terminal while `containet top` draws: raw mode so that `q` quits
 * without Enter, the alternate screen and a hidden cursor, and all of it
 * put back on every way out (q, Ctrl-C, a signal, the switch going away,
 * an error). Raw mode also turns off ISIG (termios(3)), so Ctrl-C arrives
 * as the byte 0x03 and is handled here as a quit.
 */
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class TopTerminal {
  readonly #raw: boolean;
  #restored = false;
  #onKey: (data: Buffer) => void;
  #onSignal: () => void;
  #onExit = () => this.restore();

  /** `quit` is called once on q, Q, Ctrl-C or a signal. */
  constructor(quit: () => void) {
    const stdin = process.stdin;
    this.#raw = stdin.isTTY === true && process.stdout.isTTY === true;
    let quitting = false;
    const once = () => {
      if (quitting) return;
      quitting = true;
      quit();
    };
    this.#onKey = (data) => {
      if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03)) once(); // q, Q, Ctrl-C
    };
    this.#onSignal = once;
    for (const s of SIGNALS) process.on(s, this.#onSignal);
    process.on('exit', this.#onExit);
    if (this.#raw) {
      stdin.setRawMode(true);
      stdin.on('data', this.#onKey);
      stdin.resume();
      process.stdout.write(ENTER);
    }
  }

  /** Replace the screen with `text`. */
  draw(text: string): void {
    // libuv's raw mode keeps OPOST and sets ONLCR, so \n still starts a line.
    process.stdout.write(`\x1b[H\x1b[2J${text}`);
  }

  /** Cooked mode, main screen, cursor back. Safe to call twice. */
  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    for (const s of SIGNALS) process.off(s, this.#onSignal);
    process.off('exit', this.#onExit);
    if (!this.#raw) return;
    process.stdout.write(LEAVE);
    process.stdin.off('data', this.#onKey);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }
}
