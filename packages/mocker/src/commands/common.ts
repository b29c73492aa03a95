/** Options every command shares, and how they become engine inputs. */
import { resolve } from 'node:path';
import { imageStoreDir } from '@containet/common';
import { ImageStore } from '../store/image-store.js';

export interface GlobalOptions {
  /** --store DIR (default: CONTAINET_IMAGES or /var/lib/containet/images). */
  store?: string;
}

export function storeFrom(opts: GlobalOptions): ImageStore {
  return new ImageStore(resolve(opts.store ?? imageStoreDir()));
}

/** The store, its old-style names migrated (ImageStore.migrate). */
export function openStore(opts: GlobalOptions): Promise<ImageStore> {
  return storeFrom(opts).migrate();
}

/**
 * Run `fn` with a signal that SIGINT and SIGTERM abort, so a transfer ends
 * cleanly (exit 130) instead of the process dying mid-write.
 */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = (): void => ac.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await fn(ac.signal);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
