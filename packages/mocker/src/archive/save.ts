/**
 * `mocker save`: an image of the store as one tar file, in either format
 * skopeo and docker read:
 *
 * - `oci-archive`: an OCI image layout (image-spec image-layout.md) in a
 *   tar: oci-layout, index.json naming the image (ref.name and
 *   io.containerd.image.name, the full reference) and the blobs as stored,
 *   so every digest is kept.
 * - `docker-archive`: docker's `docker save` format: manifest.json listing
 *   the config (`HEX.json`) and uncompressed layers (`HEX/layer.tar`, HEX
 *   the diff_id) with RepoTags; layers are decompressed and checked against
 *   the config's diff_ids on the way.
 *
 * The file is written beside its final name and renamed into place when
 * complete, so a failed save leaves nothing half-written.
 */
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { pack, type Pack } from 'tar-stream';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { MEDIA, type ImageIndex } from '../manifest.js';
import { familiarName, parseReference } from '../reference.js';
import { NAME_ANNOTATION, REF_ANNOTATION, type ImageStore, type StoredImage } from '../store/image-store.js';
import { openLayer } from '../unpack/decompress.js';

export type ArchiveFormat = 'oci-archive' | 'docker-archive';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['oci-archive', 'docker-archive'];

/** A fixed time for the archive's own entries, so saving twice gives the same bytes. */
const EPOCH = new Date(0);

function addBytes(p: Pack, name: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => p.entry({ name, size: bytes.length, mode: 0o644, mtime: EPOCH }, bytes, (err) => (err ? reject(err) : resolve())));
}

async function addFile(p: Pack, name: string, path: string): Promise<void> {
  const size = statSync(path).size;
  const entry = p.entry({ name, size, mode: 0o644, mtime: EPOCH });
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), entry);
}

/** The image's docker-style tag: `alpine:3.19`, `127.0.0.1:5000/team/app:1`; none for a name by digest. */
export function repoTag(name: string): string | undefined {
  const ref = parseReference(name);
  return ref.tag !== undefined && ref.digest === undefined ? `${familiarName(ref)}:${ref.tag}` : undefined;
}

async function writeOci(p: Pack, store: ImageStore, image: StoredImage): Promise<void> {
  const manifest = store.manifest(image);
  await addBytes(p, 'oci-layout', Buffer.from(`${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`));
  const desc = { ...image.descriptor, annotations: { [REF_ANNOTATION]: image.name, [NAME_ANNOTATION]: image.name } };
  const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [desc] };
  await addBytes(p, 'index.json', Buffer.from(`${JSON.stringify(index)}\n`));
  const seen = new Set<string>();
  for (const d of [image.descriptor, manifest.config, ...manifest.layers]) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    await addFile(p, `blobs/sha256/${d.digest.slice(7)}`, store.blobPath(d.digest));
  }
}

async function writeDocker(p: Pack, store: ImageStore, image: StoredImage): Promise<void> {
  const manifest = store.manifest(image);
  const config = store.config(manifest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new ContainetError('MOCKER_BAD_MANIFEST', `${image.name}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`, { exitCode: EXIT.verify });
  const configName = `${manifest.config.digest.slice(7)}.json`;
  await addBytes(p, configName, store.readBlob(manifest.config.digest));
  const layers: string[] = [];
  const done = new Set<string>();
  for (const [i, layer] of manifest.layers.entries()) {
    const diffId = diffIds[i]!;
    const name = `${diffId.slice(7)}/layer.tar`;
    layers.push(name);
    if (done.has(diffId)) continue;
    done.add(diffId);
    // The uncompressed size goes in the tar header before the bytes: decompress to a file first.
    const tmp = store.ingestPath();
    try {
      const hash = createHash('sha256');
      const fh = await open(tmp, 'wx', 0o600);
      try {
        for await (const chunk of await openLayer(store.blobPath(layer.digest))) {
          hash.update(chunk as Buffer);
          await fh.write(chunk as Buffer);
        }
      } finally {
        await fh.close();
      }
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== diffId) throw new ContainetError('MOCKER_DIGEST_MISMATCH', `layer ${i + 1} of ${image.name} unpacks to ${got}, not ${diffId} as its config says; refused`, { exitCode: EXIT.verify });
      await addFile(p, name, tmp);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const tag = repoTag(image.name);
  const entry = { Config: configName, RepoTags: tag === undefined ? [] : [tag], Layers: layers };
  await addBytes(p, 'manifest.json', Buffer.from(`${JSON.stringify([entry])}\n`));
}

export async function saveImage(store: ImageStore, image: StoredImage, file: string, format: ArchiveFormat): Promise<void> {
  store.init();
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const p = pack();
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  const written = pipeline(p, out);
  try {
    if (format === 'oci-archive') await writeOci(p, store, image);
    else await writeDocker(p, store, image);
    p.finalize();
    await written;
    renameSync(tmp, file);
  } catch (err) {
    p.destroy();
    await written.catch(() => {});
    rmSync(tmp, { force: true });
    if (err instanceof ContainetError) throw err;
    throw new ContainetError('MOCKER_SAVE', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}
