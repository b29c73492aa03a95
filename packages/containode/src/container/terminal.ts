/**
 * Drive a container's pty from our own terminal: our stdin (raw) goes to
 * the master, the master's output to our stdout; the window size follows
 * ours. Returns a function that restores everything.
 */
import { closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

export interface AttachedTerminal {
  /** Resolves once the program's side of the pty is closed and all its output was copied. */
  drained: Promise<void>;
  restore: () => void;
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
    stdin.off('data', onInput);
    stdin.pause();
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
