/**
 * Drive a container's pty from our own terminal: our stdin (raw) goes to
 * the master, the master's output to our stdout; the window size follows
 * ours. Returns a function that restores everything.
 */
import { closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

export function attachTerminal(master: number): () => void {
  const out = new ReadStream(master);
  out.on('data', (d: Buffer) => process.stdout.write(d));
  out.on('error', () => {}); // EIO once the slave side is closed
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
  return () => {
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
}
