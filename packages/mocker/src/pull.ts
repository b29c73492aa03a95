/**
 * `mocker pull`: resolve a reference to one platform's manifest, fetch its
 * config and layers into the store (a few at a time, like docker's three
 * concurrent downloads), then name the image in index.json. The name is
 * written last, so an interrupted pull leaves at most verified blobs.
 */
import { ContainetError, eachLimit } from '@containet/common';
import { EXIT } from './errors.js';
import { parseReference, formatReference, repositoryName, type ImageReference } from './reference.js';
import { hostPlatform, formatPlatform, type Platform } from './platform.js';
import { MANIFEST_ACCEPT, parseManifest, selectPlatform, sha256, type Descriptor, type ImageManifest, type ImageConfig } from './manifest.js';
import { RegistryClient, readBody, isTransientError, sleep, type ClientOptions } from './registry/client.js';
import { backoffDelay } from './registry/retry.js';
import { fetchBlob } from './registry/blobs.js';
import { findCredentials, type Credentials } from './registry/credentials.js';
import { ImageStore, NAME_ANNOTATION, REF_ANNOTATION, INDEX_ANNOTATION, PULLED_ANNOTATION } from './store/image-store.js';
import { QuietProgress, type PullProgress } from './progress.js';

export interface PullOptions {
  store?: ImageStore;
  platform?: Platform;
  /** Registries (host[:port]) reached over plain HTTP. */
  insecure?: readonly string[];
  /** Default: the `auths` entry of ~/.docker/config.json for the registry. */
  credentials?: Credentials | null;
  progress?: PullProgress;
  /** Layers fetched at once; default 3 as docker. */
  concurrency?: number;
  signal?: AbortSignal;
  client?: Pick<ClientOptions, 'attempts' | 'backoffMs' | 'timeoutMs'>;
}

export interface PulledImage {
  /** The name it is stored under: `docker.io/library/alpine:latest`. */
  name: string;
  /** Digest of the platform manifest (the image). */
  digest: string;
  /** Digest of the multi-platform index it was picked from. */
  indexDigest: string | undefined;
  manifest: ImageManifest;
  config: ImageConfig;
  /** Bytes downloaded (blobs not already in the store). */
  downloaded: number;
}

export function clientFor(ref: ImageReference, opts: PullOptions): RegistryClient {
  return new RegistryClient(ref.domain, {
    insecure: opts.insecure?.includes(ref.domain) ?? false,
    credentials: opts.credentials === undefined ? findCredentials(ref.domain) : opts.credentials,
    signal: opts.signal,
    ...opts.client,
  });
}

const MANIFEST_ATTEMPTS = 4;

async function getManifest(client: RegistryClient, ref: ImageReference, reference: string, what: string, progress: PullProgress, signal: AbortSignal | undefined): Promise<{ bytes: Buffer; contentType: string | undefined; headerDigest: string | undefined }> {
  const onRetry = (e: { reason: string; delayMs: number }): void => progress.note(`Waiting ${(e.delayMs / 1000).toFixed(1)} s: ${e.reason}`);
  for (let attempt = 1; ; attempt++) {
    const res = await client.request(`/v2/${ref.path}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT }, scope: `repository:${ref.path}:pull`, what, onRetry });
    let bytes: Buffer;
    try {
      bytes = await readBody(res, 4 << 20);
    } catch (err) {
      // A manifest cut short is asked for again (it is small: no Range).
      const cause = (err as Error).cause;
      if (attempt >= MANIFEST_ATTEMPTS || !isTransientError(cause)) throw err;
      const delayMs = backoffDelay(attempt, 250);
      onRetry({ reason: (err as Error).message, delayMs });
      await sleep(delayMs, signal);
      continue;
    }
    const hd = res.headers['docker-content-digest'];
    return { bytes, contentType: res.headers['content-type'], headerDigest: typeof hd === 'string' ? hd : undefined };
  }
}

function mismatch(what: string, got: string, want: string): ContainetError {
  return new ContainetError('MOCKER_DIGEST_MISMATCH', `manifest of ${what} has digest ${got}, not ${want}; refused`, { exitCode: EXIT.verify, hint: 'the registry served other bytes than asked for' });
}

export async function pull(text: string, opts: PullOptions = {}): Promise<PulledImage> {
  const ref = parseReference(text);
  const store = await (opts.store ?? new ImageStore()).init().migrate();
  store.cleanIngest();
  const progress = opts.progress ?? new QuietProgress();
  const platform = opts.platform ?? hostPlatform();
  const what = formatReference(ref);
  const client = clientFor(ref, opts);
  const endPull = store.beginPull();
  try {
    let got = await getManifest(client, ref, ref.digest ?? ref.tag!, what, progress, opts.signal);
    let digest = sha256(got.bytes);
    if (ref.digest !== undefined && digest !== ref.digest) throw mismatch(what, digest, ref.digest);
    if (ref.digest === undefined && got.headerDigest !== undefined && got.headerDigest.startsWith('sha256:') && got.headerDigest !== digest) throw mismatch(what, digest, got.headerDigest);
    let parsed = parseManifest(got.bytes, got.contentType, what);
    let indexDigest: string | undefined;
    if (parsed.kind === 'index') {
      indexDigest = digest;
      const entry: Descriptor = selectPlatform(parsed.index, platform, what);
      got = await getManifest(client, ref, entry.digest, `${what} (${formatPlatform(platform)})`, progress, opts.signal);
      digest = sha256(got.bytes);
      if (digest !== entry.digest || got.bytes.length !== entry.size) throw mismatch(`${what} (${formatPlatform(platform)})`, digest, entry.digest);
      parsed = parseManifest(got.bytes, got.contentType, what);
      if (parsed.kind !== 'manifest') throw new ContainetError('MOCKER_BAD_MANIFEST', `${what}: an index inside an index is not supported`, { exitCode: EXIT.verify });
    }
    const manifest = parsed.manifest;
    const mediaType = parsed.mediaType;
    progress.note(`${ref.tag ?? ref.digest}: Pulling from ${repositoryName(ref)}`);

    let downloaded = 0;
    const fetchOne = async (d: Descriptor): Promise<void> => {
      if (store.hasBlob(d.digest, d.size)) {
        store.touchBlob(d.digest);
        progress.layer(d.digest, 'exists', d.size, d.size);
        return;
      }
      await fetchBlob(client, store, ref.path, d, what, {
        signal: opts.signal,
        backoffMs: opts.client?.backoffMs,
        onProgress: (e) => progress.layer(d.digest, e.state, e.got, e.total, e.reason),
      });
      downloaded += d.size;
      progress.layer(d.digest, 'done', d.size, d.size);
    };
    store.touchBlob(manifest.config.digest);
    const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
    for (const l of unique) if (!store.hasBlob(l.digest, l.size)) progress.layer(l.digest, 'waiting', 0, l.size);
    // The config (small) is fetched after the layers, on a connection one
    // of them is done with: beside them it took a connection of its own,
    // over HTTPS a TLS handshake (and the JavaScript of a TLS socket) more.
    // All end before the first failure is thrown: a download still running
    // would otherwise be cut by client.close() and leave a partial file.
    const fetchConfig = (): Promise<void> => fetchBlob(client, store, ref.path, manifest.config, what, { signal: opts.signal, backoffMs: opts.client?.backoffMs });
    await eachLimit([...unique, null], opts.concurrency ?? 3, (d) => (d ? fetchOne(d) : fetchConfig()));
    const config = JSON.parse(store.readBlob(manifest.config.digest).toString('utf8')) as ImageConfig;
    if (config.rootfs && config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new ContainetError('MOCKER_BAD_MANIFEST', `${what}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in its config`, { exitCode: EXIT.verify });
    }

    const stored = store.putBlob(got.bytes);
    if (stored !== digest) throw mismatch(what, stored, digest);
    const name = formatReference(ref);
    const annotations: Record<string, string> = { [NAME_ANNOTATION]: name, [PULLED_ANNOTATION]: new Date().toISOString() };
    annotations[REF_ANNOTATION] = name;
    if (indexDigest) annotations[INDEX_ANNOTATION] = indexDigest;
    const desc: Descriptor = { mediaType, digest, size: got.bytes.length, annotations };
    if (config.os && config.architecture) desc.platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    await store.tag(name, desc);
    progress.note(`Digest: ${indexDigest ?? digest}`);
    progress.note(`Status: ${downloaded > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${name}`);
    return { name, digest, indexDigest, manifest, config, downloaded };
  } catch (err) {
    if (opts.signal?.aborted) throw new ContainetError('MOCKER_INTERRUPTED', `pull of ${what} interrupted; the store is as it was (verified blobs are kept, and partial downloads for the next pull to continue)`, { exitCode: 130, cause: err });
    throw err;
  } finally {
    progress.end();
    client.close();
    endPull();
  }
}
