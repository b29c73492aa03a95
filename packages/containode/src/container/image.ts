/**
 * Running from an image in mocker's store: the image's run defaults, and
 * its root filesystem unpacked once per digest (mocker's ensureUnpacked,
 * under a lock) and shared read-only by every container of that image as
 * the overlay's lower layer.
 */
import { ContainetError } from '@containet/common';
import { ensureUnpacked, resolveImage } from '@containet/mocker';
import type { ImageDefaults } from './options.js';

function notFound(err: unknown, name: string, store: string): unknown {
  if (err instanceof ContainetError && err.code === 'MOCKER_IMAGE_UNKNOWN') {
    return new ContainetError('CN_IMAGE_UNKNOWN', `no image ${name} in the store ${store}`, { hint: `mocker pull ${name}`, cause: err });
  }
  return err;
}

export function findImage(name: string, store: string): ImageDefaults {
  try {
    const img = resolveImage(name, { store });
    return { name: img.name, digest: img.digest, config: img.config };
  } catch (err) {
    throw notFound(err, name, store);
  }
}

export async function unpackImageRoot(name: string, store: string): Promise<string> {
  try {
    return await ensureUnpacked(name, { store });
  } catch (err) {
    throw notFound(err, name, store);
  }
}
