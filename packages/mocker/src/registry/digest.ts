/**
 * The SHA-256 of a blob being downloaded, computed off the main thread
 * where native/'s digest.node addon is built: a batch of pieces is hashed
 * on one of libuv's pool threads while the main thread decrypts and parses
 * the next (35 ms of its time per 49 MB otherwise). Without the addon,
 * node:crypto hashes on the main thread; the digests are the same.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { findNativeFile } from '@containet/common';

interface DigestAddon {
  create(): object;
  /** Settles once every buffer is hashed; they must not change until then. */
  update(context: object, buffers: Buffer[]): Promise<void>;
  digest(context: object): Buffer;
}

export interface BlobHash {
  /** Hash `pieces` after everything given before; they must stay unchanged until the promise settles. */
  update(pieces: Buffer[]): Promise<void>;
  /** The digest, once the last update has settled. */
  hex(): string;
}

let addon: DigestAddon | null | undefined;

function loadAddon(): DigestAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const path = process.env['MOCKER_HASH_ON_MAIN_THREAD'] ? null : findNativeFile('digest.node');
  if (path) {
    try {
      addon = createRequire(import.meta.url)(path) as DigestAddon;
    } catch {
      // Built for another Node, say: hashing stays on the main thread.
    }
  }
  return addon;
}

/** Whether sha256() hashes on libuv's pool (digest.node loads) or on the main thread. */
export function hashesOffMainThread(): boolean {
  return loadAddon() !== null;
}

export function sha256(): BlobHash {
  const native = loadAddon();
  if (!native) return sha256OnMainThread();
  const context = native.create();
  return { update: (pieces) => native.update(context, pieces), hex: () => native.digest(context).toString('hex') };
}

/** node:crypto on the calling thread: the fallback, and the reference the addon is tested against. */
export function sha256OnMainThread(): BlobHash {
  const hash = createHash('sha256');
  return {
    update(pieces) {
      for (const p of pieces) hash.update(p);
      return Promise.resolve();
    },
    hex: () => hash.digest('hex'),
  };
}
