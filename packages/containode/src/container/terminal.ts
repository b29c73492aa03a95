/**
 * Drive a container's pty from our own terminal: our stdin (raw) goes to
 * the master, the master's output to our stdout, and the pty's window size
 * follows our terminal's (it starts with ourTerminalSize() through the
 * spec, then follows every resize: the kernel signals SIGWINCH to the
 * program). Returns a function that restores everything. Used by
 * `containode exec -t` and `containode-oci run` with terminal: true and no
 * console socket.
 */
import { closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { native } from '@containet/common';

export interface AttachedTerminal {
  /** Resolves once the program's side of the pty is closed and all its output was copied. */
  drained: Promise<void>;
  restore: () => void;
}

/** Our terminal's size (stdout's), for a pty to start with; undefined when stdout is no terminal. */
export function ourTerminalSize(): { rows: number; cols: number } | undefined {
  const out = process.stdout;
  return out.isTTY && out.rows > 0 && out.columns > 0 ? { rows: out.rows, cols: out.columns } : undefined;
}

/** Give the pty our terminal's size on every resize, if stdout is one; a failure leaves the size as it was. */
function followSize(master: number): () => void {
  const out = process.stdout;
  if (!out.isTTY) return () => {};
  // The spawner gave the pty our size before the program ran (console_size); this follows changes.
  const apply = () => {
    const size = ourTerminalSize();
    if (size) native().cn_pty_set_size(master, size.rows, size.cols);
  };
  out.on('resize', apply);
  return () => out.off('resize', apply);
}

export function attachTerminal(master: number): AttachedTerminal {
  const out = new ReadStream(master);
  out.on('data', (d: Buffer) => process.stdout.write(d));
  // Reads fail with EIO once every slave fd is closed (pty(7)): the end.
  const drained = new Promise<void>((resolve) => {
    out.once('error', () => resolve());
    out.once('end', () => resolve());
    out.once('close', () => resolve());
  });
  const unfollow = followSize(master);
  const stdin = process.stdin;
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (stdin.isTTY) stdin.setRawMode(true);
  const onInput = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {
      // the program is gone
    }
  };
  stdin.on('data', onInput);
  stdin.resume();
  const restore = () => {
    unfollow();
    stdin.off('data', onInput);
    stdin.pause();
    stdin.unref?.();
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    out.destroy();
    try {
      closeSync(master);
    } catch {
      // already closed with the stream
    }
  };
  return { drained, restore };
}
