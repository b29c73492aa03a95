/**
 * `mocker push`: an image of the store to a registry (OCI distribution spec
 * "Pushing"): for each blob a HEAD says whether the registry has it
 * already; a missing one is uploaded monolithically (POST to open an upload
 * session, PUT of the whole blob to its Location with `?digest=`); the
 * manifest, byte for byte as stored, is PUT last under the tag, so the name
 * appears only once everything it refers to is there. Auth as for pull,
 * with the `pull,push` scope.
 */
import { createReadStream } from 'node:fs';
import { ContainetError, UsageError } from '@containet/common';
import { EXIT } from './errors.js';
import { parseReference, formatReference, type ImageReference } from './reference.js';
import { clientFor, type PullOptions } from './pull.js';
import { readBody, type RegistryClient } from './registry/client.js';
import { ImageStore } from './store/image-store.js';
import type { Descriptor } from './manifest.js';

export interface PushOptions extends Pick<PullOptions, 'insecure' | 'credentials' | 'signal' | 'client'> {
  store?: ImageStore;
  /** Told about each blob: already there, or uploaded. */
  onBlob?: (digest: string, state: 'exists' | 'pushed', size: number) => void;
}

export interface PushedImage {
  /** Where it went: `127.0.0.1:5000/team/app:1`. */
  name: string;
  digest: string;
  size: number;
  /** Bytes uploaded (blobs the registry did not have). */
  uploaded: number;
}

async function hasBlob(client: RegistryClient, ref: ImageReference, d: Descriptor, scope: string, what: string): Promise<boolean> {
  try {
    const res = await client.request(`/v2/${ref.path}/blobs/${d.digest}`, { method: 'HEAD', scope, what });
    res.body.discard();
    return true;
  } catch (err) {
    if (err instanceof ContainetError && err.code === 'MOCKER_BLOB_UNKNOWN') return false;
    throw err;
  }
}

async function uploadBlob(client: RegistryClient, store: ImageStore, ref: ImageReference, d: Descriptor, scope: string, what: string): Promise<void> {
  const start = await client.request(`/v2/${ref.path}/blobs/uploads/`, { method: 'POST', scope, what, headers: { 'content-length': '0' } });
  start.body.discard();
  const location = start.headers['location'];
  if (!location) throw new ContainetError('MOCKER_REGISTRY', `${client.domain} opened an upload for ${what} without a Location`, { exitCode: EXIT.failure });
  const url = new URL(location, client.base);
  url.searchParams.set('digest', d.digest);
  const path = store.blobPath(d.digest);
  const put = await client.request(url.toString(), {
    method: 'PUT',
    scope,
    what,
    // A registry may answer (401, say) before the whole blob is sent; the connection is not reused after that.
    headers: { 'content-length': String(d.size), 'content-type': 'application/octet-stream', connection: 'close' },
    body: () => createReadStream(path, { highWaterMark: 1 << 20 }),
  });
  await readBody(put, 64 << 10, 'PUT');
}

export async function push(source: string, target: string, opts: PushOptions = {}): Promise<PushedImage> {
  const store = await (opts.store ?? new ImageStore()).migrate();
  const image = store.find(source);
  const manifest = store.manifest(image);
  const bytes = store.readBlob(image.descriptor.digest);
  const ref = parseReference(target);
  if (ref.digest !== undefined && ref.digest !== image.descriptor.digest) {
    throw new UsageError(`${target} names digest ${ref.digest}, but ${image.name} is ${image.descriptor.digest}`, 'push by tag, or by the image\'s own digest');
  }
  const what = formatReference(ref);
  const scope = `repository:${ref.path}:pull,push`;
  const client = clientFor(ref, opts);
  let uploaded = 0;
  try {
    const blobs = [...new Map([manifest.config, ...manifest.layers].map((d) => [d.digest, d])).values()];
    for (const d of blobs) {
      if (!store.hasBlob(d.digest, d.size)) throw new ContainetError('MOCKER_BLOB_MISSING', `blob ${d.digest} of ${image.name} is missing from the store`, { exitCode: EXIT.notFound, hint: `pull it again: mocker pull ${image.name}` });
      if (await hasBlob(client, ref, d, scope, what)) {
        opts.onBlob?.(d.digest, 'exists', d.size);
        continue;
      }
      await uploadBlob(client, store, ref, d, scope, what);
      uploaded += d.size;
      opts.onBlob?.(d.digest, 'pushed', d.size);
    }
    const res = await client.request(`/v2/${ref.path}/manifests/${ref.digest ?? ref.tag}`, {
      method: 'PUT',
      scope,
      what,
      headers: { 'content-type': image.descriptor.mediaType, 'content-length': String(bytes.length) },
      body: bytes,
    });
    const echoed = res.headers['docker-content-digest'];
    await readBody(res, 64 << 10, 'PUT');
    if (echoed !== undefined && echoed.startsWith('sha256:') && echoed !== image.descriptor.digest) {
      throw new ContainetError('MOCKER_DIGEST_MISMATCH', `${client.domain} stored the manifest of ${what} as ${echoed}, not ${image.descriptor.digest}`, { exitCode: EXIT.verify });
    }
    return { name: what, digest: image.descriptor.digest, size: bytes.length, uploaded };
  } finally {
    client.close();
  }
}
