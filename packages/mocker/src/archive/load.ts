/**
 * `mocker load`: images from an oci-archive (an OCI image layout in a tar,
 * as skopeo and `docker save` since 25 write) or a docker-archive
 * (manifest.json with config and layer files, as `docker save` and skopeo
 * write), told apart by what the archive holds.
 *
 * The archive is read once, in whatever order its entries come: files go
 * to ingest/ while hashed (JSON documents are kept in memory). Only when
 * everything an image needs is there and verified (an OCI blob hashes to
 * its name and size; a docker-archive layer stored uncompressed matches its
 * diff_id) are blobs moved into the store and the images named. A failed
 * load leaves the store as it was.
 */
import { closeSync, createReadStream, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { extract } from 'tar-stream';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { MEDIA, isIndexType, selectPlatform, sha256, type Descriptor, type ImageIndex, type ImageManifest, type ImageConfig } from '../manifest.js';
import { hostPlatform, type Platform } from '../platform.js';
import { formatReference, parseReference } from '../reference.js';
import { NAME_ANNOTATION, REF_ANNOTATION, type ImageStore } from '../store/image-store.js';

/** Files kept in memory rather than in ingest/. */
const SMALL = 4 << 20;

interface ArchiveFile {
  digest: string;
  size: number;
  /** In memory (small JSON), or a file under ingest/. */
  bytes?: Buffer;
  tmp?: string;
}

export interface LoadOptions {
  /** Name for an image the archive does not name. */
  name?: string;
  /** Platform to take from a multi-platform index; default this machine's. */
  platform?: Platform;
}

export interface LoadedImage {
  name: string;
  digest: string;
}

const bad = (file: string, why: string): ContainetError => new ContainetError('MOCKER_BAD_ARCHIVE', `${file}: ${why}`, { exitCode: EXIT.verify, hint: 'make it with mocker save, skopeo copy … oci-archive:FILE or docker-archive:FILE, or docker save' });

/** Read the tar; every regular file by its cleaned name, symlinks resolved (docker's legacy saves link repeated layers). */
async function readArchive(store: ImageStore, file: string): Promise<Map<string, ArchiveFile>> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const ex = extract();
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const name = posix.normalize(h.name).replace(/^(\.\/)+|\/+$/g, '');
      if (h.type === 'symlink' || h.type === 'link') {
        entry.resume();
        const target = h.type === 'symlink' ? posix.join(posix.dirname(name), h.linkname ?? '') : posix.normalize(h.linkname ?? '');
        links.set(name, target);
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const hash = createHash('sha256');
      let size = 0;
      if ((h.size ?? 0) <= SMALL && (name.endsWith('.json') || name === 'oci-layout' || name === 'repositories')) {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
        const bytes = Buffer.concat(chunks);
        files.set(name, { digest: sha256(bytes), size: bytes.length, bytes });
        continue;
      }
      const tmp = store.ingestPath();
      const earlier = files.get(name);
      if (earlier?.tmp) rmSync(earlier.tmp, { force: true }); // a later entry of the same name wins, as tar(1) extracts
      files.set(name, { digest: '', size: 0, tmp });
      const fh = await open(tmp, 'wx', 0o644);
      try {
        for await (const c of entry as AsyncIterable<Buffer>) {
          hash.update(c);
          size += c.length;
          await fh.write(c);
        }
      } finally {
        await fh.close();
      }
      files.set(name, { digest: `sha256:${hash.digest('hex')}`, size, tmp });
    }
  } catch (err) {
    for (const f of files.values()) if (f.tmp) rmSync(f.tmp, { force: true });
    if (err instanceof ContainetError) throw err;
    throw bad(file, `not a readable tar archive (${(err as Error).message})`);
  }
  for (const [name, target] of links) {
    let t = target;
    for (let i = 0; i < 40 && links.has(t); i++) t = links.get(t)!;
    const f = files.get(t);
    if (f) files.set(name, f);
  }
  return files;
}

function bytesOf(f: ArchiveFile): Buffer {
  return f.bytes ?? readFileSync(f.tmp!);
}

function parseJson<T>(f: ArchiveFile | undefined, file: string, what: string): T {
  if (!f) throw bad(file, `${what} is missing`);
  try {
    return JSON.parse(bytesOf(f).toString('utf8')) as T;
  } catch {
    throw bad(file, `${what} is not valid JSON`);
  }
}

/** A planned image: its manifest, the blobs it needs (archive files by digest) and its names. */
interface Planned {
  names: string[];
  manifest: Buffer;
  mediaType: string;
  platform: Descriptor['platform'];
  blobs: Map<string, ArchiveFile>;
}

function nameOf(annotations: Record<string, string> | undefined, opts: LoadOptions, file: string): string[] {
  const full = annotations?.[NAME_ANNOTATION] ?? annotations?.[REF_ANNOTATION];
  // A ref.name with a '/' is a full reference (mocker's, containerd's); a bare tag names no repository.
  if (full !== undefined && (annotations?.[NAME_ANNOTATION] !== undefined || full.includes('/'))) return [formatReference(parseReference(full))];
  if (opts.name !== undefined) return [formatReference(parseReference(opts.name))];
  throw new ContainetError('MOCKER_ARCHIVE_UNNAMED', `${file}: an image in it has no name${full ? ` (only the tag ${JSON.stringify(full)})` : ''}`, { exitCode: EXIT.usage, hint: 'name it: mocker load -i FILE --name REGISTRY/REPOSITORY:TAG' });
}

function planOci(files: Map<string, ArchiveFile>, file: string, opts: LoadOptions): Planned[] {
  const blob = (d: Descriptor): ArchiveFile => {
    if (!/^sha256:[a-f0-9]{64}$/.test(d.digest)) throw bad(file, `unsupported digest ${d.digest}`);
    const f = files.get(`blobs/sha256/${d.digest.slice(7)}`);
    if (!f) throw bad(file, `blob ${d.digest} is missing`);
    if (f.digest !== d.digest || f.size !== d.size) throw new ContainetError('MOCKER_DIGEST_MISMATCH', `${file}: blob ${d.digest} has digest ${f.digest} and ${f.size} bytes, not ${d.size}; refused`, { exitCode: EXIT.verify });
    return f;
  };
  const index = parseJson<ImageIndex>(files.get('index.json'), file, 'index.json');
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw bad(file, 'index.json names no image');
  return index.manifests.map((top) => {
    let d = top;
    let bytes = bytesOf(blob(d));
    if (isIndexType(d.mediaType)) {
      d = selectPlatform(JSON.parse(bytes.toString('utf8')) as ImageIndex, opts.platform ?? hostPlatform(), file);
      bytes = bytesOf(blob(d));
    }
    const m = JSON.parse(bytes.toString('utf8')) as ImageManifest;
    const blobs = new Map<string, ArchiveFile>();
    for (const x of [d, m.config, ...m.layers]) blobs.set(x.digest, blob(x));
    return { names: nameOf(top.annotations, opts, file), manifest: bytes, mediaType: d.mediaType, platform: d.platform, blobs };
  });
}

function layerType(f: ArchiveFile): string {
  const head = Buffer.alloc(4);
  if (f.bytes) f.bytes.copy(head, 0, 0, 4);
  else {
    const fd = openSync(f.tmp!, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA.ociLayerGzip;
  if (head.readUInt32LE(0) === 0xfd2fb528) return MEDIA.ociLayerZstd;
  return MEDIA.ociLayer;
}

function planDocker(files: Map<string, ArchiveFile>, file: string, opts: LoadOptions): Planned[] {
  const entries = parseJson<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>(files.get('manifest.json'), file, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw bad(file, 'manifest.json lists no image');
  return entries.map((e, n) => {
    const get = (path: string | undefined, what: string): ArchiveFile => {
      const f = path === undefined ? undefined : files.get(posix.normalize(path).replace(/^(\.\/)+/, ''));
      if (!f) throw bad(file, `${what} of image ${n + 1} (${path ?? 'unnamed'}) is missing`);
      return f;
    };
    const configFile = get(e.Config, 'the config');
    const config = parseJson<ImageConfig>(configFile, file, `the config of image ${n + 1}`);
    const layers = (e.Layers ?? []).map((l, i) => ({ f: get(l, `layer ${i + 1}`), i }));
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== layers.length) throw new ContainetError('MOCKER_BAD_MANIFEST', `${file}: image ${n + 1} has ${layers.length} layers but ${diffIds.length} diff_ids in its config`, { exitCode: EXIT.verify });
    const blobs = new Map<string, ArchiveFile>([[configFile.digest, configFile]]);
    const descs = layers.map(({ f, i }) => {
      const mediaType = layerType(f);
      if (mediaType === MEDIA.ociLayer && f.digest !== diffIds[i]) {
        throw new ContainetError('MOCKER_DIGEST_MISMATCH', `${file}: layer ${i + 1} of image ${n + 1} has digest ${f.digest}, not ${diffIds[i]} as its config says; refused`, { exitCode: EXIT.verify });
      }
      blobs.set(f.digest, f);
      return { mediaType, digest: f.digest, size: f.size };
    });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: configFile.digest, size: configFile.size }, layers: descs }));
    const tags = e.RepoTags?.length ? e.RepoTags : opts.name !== undefined ? [opts.name] : [];
    const names = tags.map((t) => formatReference(parseReference(t)));
    if (names.length === 0) throw new ContainetError('MOCKER_ARCHIVE_UNNAMED', `${file}: image ${n + 1} has no RepoTags`, { exitCode: EXIT.usage, hint: 'name it: mocker load -i FILE --name REGISTRY/REPOSITORY:TAG' });
    const platform = config.os && config.architecture ? { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) } : undefined;
    return { names, manifest, mediaType: MEDIA.ociManifest, platform, blobs };
  });
}

export async function loadArchive(store: ImageStore, file: string, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  store.init();
  await store.migrate();
  const endLoad = store.beginPull();
  let files: Map<string, ArchiveFile> | undefined;
  try {
    files = await readArchive(store, file);
    let plans: Planned[];
    if (files.has('index.json') && files.has('oci-layout')) plans = planOci(files, file, opts);
    else if (files.has('manifest.json')) plans = planDocker(files, file, opts);
    else throw bad(file, 'neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)');
    if (opts.name !== undefined && plans.length > 1) throw bad(file, `--name names one image, and the archive has ${plans.length}`);
    // Everything verified: blobs in, then the names.
    for (const plan of plans) {
      for (const [digest, f] of plan.blobs) {
        if (store.hasBlob(digest, f.size)) store.touchBlob(digest);
        else if (f.bytes) store.putBlob(f.bytes);
        else if (f.tmp) {
          store.commitBlob(f.tmp, digest);
          f.tmp = undefined;
          f.bytes = undefined;
        }
      }
      store.putBlob(plan.manifest);
    }
    const loaded: LoadedImage[] = [];
    for (const plan of plans) {
      const digest = sha256(plan.manifest);
      for (const name of plan.names) {
        const desc: Descriptor = { mediaType: plan.mediaType, digest, size: plan.manifest.length, annotations: { [NAME_ANNOTATION]: name, [REF_ANNOTATION]: name } };
        if (plan.platform) desc.platform = plan.platform;
        await store.tag(name, desc);
        loaded.push({ name, digest });
      }
    }
    return loaded;
  } finally {
    if (files) for (const f of files.values()) if (f.tmp) rmSync(f.tmp, { force: true });
    endLoad();
  }
}
