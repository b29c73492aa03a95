/**
 * Root filesystems from stored images: `unpackImage` into a directory the
 * caller names, and `ensureUnpacked`, the shared read-only copy per image
 * digest under STORE/rootfs/ that containers use as their lower layer. It
 * is built once under a lock in a hidden directory and renamed into place,
 * so a half-unpacked tree is never visible and concurrent callers share it.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, existsSync, realpathSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ContainetError, UsageError } from '@containet/common';
import { EXIT } from '../errors.js';
import type { ImageStore, StoredImage } from '../store/image-store.js';
import { openLayer } from './decompress.js';
import { applyLayer, type ApplyStats } from './apply.js';

export interface UnpackOptions {
  privileged?: boolean;
  warn?: (message: string) => void;
  onLayer?: (index: number, count: number, stats: ApplyStats) => void;
}

/** Apply every layer of `image` in order onto `dir` (an existing empty directory). */
export async function unpackInto(store: ImageStore, image: StoredImage, dir: string, opts: UnpackOptions = {}): Promise<ApplyStats> {
  const manifest = store.manifest(image);
  const config = store.config(manifest);
  const root = realpathSync(dir);
  const total: ApplyStats = { entries: 0, bytes: 0, skippedNodes: 0 };
  for (const [i, layer] of manifest.layers.entries()) {
    if (!store.hasBlob(layer.digest, layer.size)) {
      throw new ContainetError('MOCKER_BLOB_MISSING', `layer ${i + 1} of ${image.name} (${layer.digest}) is missing from the store`, { exitCode: EXIT.notFound, hint: `pull it again: mocker pull ${image.name}` });
    }
    const tar = await openLayer(store.blobPath(layer.digest));
    const s = await applyLayer(root, tar, { privileged: opts.privileged, diffId: config.rootfs?.diff_ids[i], layer: i + 1, warn: opts.warn });
    total.entries += s.entries;
    total.bytes += s.bytes;
    total.skippedNodes += s.skippedNodes;
    opts.onLayer?.(i + 1, manifest.layers.length, s);
  }
  return total;
}

/**
 * `mocker unpack NAME DIR`: DIR must not exist or be empty. On failure what
 * was written is removed again, so DIR is as it was.
 */
export async function unpackImage(store: ImageStore, image: StoredImage, dir: string, opts: UnpackOptions = {}): Promise<ApplyStats> {
  let created = false;
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`);
    if (readdirSync(dir).length > 0) throw new UsageError(`${dir} is not empty`, 'unpack into a new or empty directory');
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    created = true;
  }
  try {
    return await unpackInto(store, image, dir, opts);
  } catch (err) {
    if (created) rmSync(dir, { recursive: true, force: true });
    else for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
    throw err;
  }
}

/** Path of the shared unpacked root filesystem of this image digest (it may not exist yet). */
export function rootfsPath(store: ImageStore, digest: string): string {
  return join(store.rootfsDir, digest.replace(/^sha256:/, ''));
}

export async function ensureUnpackedImage(store: ImageStore, image: StoredImage, opts: UnpackOptions = {}): Promise<string> {
  const final = rootfsPath(store, image.descriptor.digest);
  if (existsSync(final)) return final;
  store.init();
  return store.withLock(`rootfs-${image.descriptor.digest.slice(7)}`, async () => {
    if (existsSync(final)) return final;
    const tmp = join(store.rootfsDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, 0o755);
    try {
      await unpackInto(store, image, tmp, opts);
      chmodSync(tmp, 0o755);
      renameSync(tmp, final);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return final;
  });
}
