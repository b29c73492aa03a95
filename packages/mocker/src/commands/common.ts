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

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}
