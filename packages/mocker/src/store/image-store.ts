/**
 * The local store: an OCI image layout (image-spec "image-layout.md":
 * `oci-layout`, `index.json`, `blobs/sha256/HEX`) that skopeo and umoci can
 * read, plus mocker's own `ingest/` (downloads in progress), `rootfs/`
 * (unpacked root filesystems, one per manifest digest) and `locks/`.
 *
 * Images are named in index.json by their full reference, in
 * `io.containerd.image.name` as containerd names them and in
 * `org.opencontainers.image.ref.name` (image-spec annotations.md; its
 * grammar allows `/`, `:` and `@`), so two repositories with the same tag
 * sit side by side and skopeo (`oci:STORE:REF`) and umoci (`--image
 * STORE:REF`) address each one unambiguously. Stores written when the
 * second held the bare tag are renamed on open (migrate()).
 *
 * Blobs appear only by rename(2) of a verified file, and index.json only by
 * rename(2) of a complete one, so readers never see anything half-written.
 */
import { utimesSync, mkdirSync, readFileSync, writeFileSync, renameSync, existsSync, readdirSync, readlinkSync, rmSync, statSync, unlinkSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { ContainetError, imageStoreDir } from '@containet/common';
import { EXIT } from '../errors.js';
import { parseReference, formatReference } from '../reference.js';
import { withFileLock } from './lock.js';
import { MEDIA, isIndexType, type Descriptor, type ImageIndex, type ImageManifest, type ImageConfig } from '../manifest.js';

export const NAME_ANNOTATION = 'io.containerd.image.name';
export const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Digest of the multi-platform index the image was picked from, if any. */
export const INDEX_ANNOTATION = 'io.containet.image.index-digest';
export const PULLED_ANNOTATION = 'io.containet.image.pulled';
/** A partial download untouched this long is given up (a day: long enough for a retry after a night). */
const PARTIAL_TTL_MS = 24 * 3600_000;

export interface StoredImage {
  /** Full reference: `docker.io/library/alpine:latest` or `…@sha256:…`. */
  name: string;
  descriptor: Descriptor;
}

/**
 * Give every named entry its full reference as ref.name; true when one
 * changed. Entries without io.containerd.image.name (put there by another
 * tool) are left as they are.
 */
function nameRefs(index: ImageIndex): boolean {
  let changed = false;
  for (const d of index.manifests) {
    const name = d.annotations?.[NAME_ANNOTATION];
    if (name === undefined || d.annotations![REF_ANNOTATION] === name) continue;
    d.annotations![REF_ANNOTATION] = name;
    changed = true;
  }
  return changed;
}

function hex(digest: string): string {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new ContainetError('MOCKER_BAD_DIGEST', `not a sha256 digest: ${digest}`, { exitCode: EXIT.verify });
  return digest.slice(7);
}

export class ImageStore {
  readonly dir: string;

  constructor(dir: string = imageStoreDir()) {
    this.dir = dir;
  }

  get blobsDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }
  get ingestDir(): string {
    return join(this.dir, 'ingest');
  }
  get rootfsDir(): string {
    return join(this.dir, 'rootfs');
  }
  get locksDir(): string {
    return join(this.dir, 'locks');
  }

  /** Create the layout if it is not there yet (idempotent). */
  init(): this {
    for (const d of [this.blobsDir, this.ingestDir, this.rootfsDir, this.locksDir]) mkdirSync(d, { recursive: true });
    if (!existsSync(join(this.dir, 'oci-layout'))) this.#atomicWrite(join(this.dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    if (!existsSync(join(this.dir, 'index.json'))) this.#writeIndex({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] });
    return this;
  }

  exists(): boolean {
    return existsSync(join(this.dir, 'index.json'));
  }

  /**
   * Rename entries whose ref.name is a bare tag (stores written before it
   * held the full reference), under the index lock, nothing else changed.
   * A store this process may not write is read as it is.
   */
  async migrate(): Promise<this> {
    if (!this.exists() || !nameRefs(this.readIndex())) return this;
    try {
      await this.withLock('index', async () => {
        const index = this.readIndex();
        if (nameRefs(index)) this.#writeIndex(index);
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM' && !(err instanceof ContainetError && err.code === 'MOCKER_STORE')) throw err;
    }
    return this;
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hex(digest));
  }

  hasBlob(digest: string, size?: number): boolean {
    try {
      const st = statSync(this.blobPath(digest));
      return size === undefined || st.size === size;
    } catch {
      return false;
    }
  }

  readBlob(digest: string): Buffer {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.blobPath(digest));
    } catch (err) {
      throw new ContainetError('MOCKER_BLOB_MISSING', `blob ${digest} is missing from the store ${this.dir}`, { cause: err, exitCode: EXIT.notFound, hint: 'pull the image again' });
    }
    // A damaged blob is named, not met later as a JSON parse error
    // (only small blobs are read whole: manifests, configs, indexes).
    if (digest.startsWith('sha256:') && `sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest) {
      throw new ContainetError('MOCKER_BLOB_CORRUPT', `blob ${digest} in the store ${this.dir} does not match its digest`, { hint: 'the store is damaged: mocker rm the image and pull it again' });
    }
    return bytes;
  }

  /** A fresh name under ingest/ carrying our pid, so stale ones can be told apart. */
  ingestPath(): string {
    return join(this.ingestDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /**
   * Where a download of this blob goes until it is verified: named by its
   * digest, so a pull that was cut off or killed leaves it for the next one
   * to continue (under blobLockPath's lock).
   */
  partialPath(digest: string): string {
    return join(this.ingestDir, `sha256-${hex(digest)}`);
  }

  /** The lock a process holds while it downloads this blob. */
  blobLockPath(digest: string): string {
    return join(this.locksDir, `blob-${hex(digest)}.lock`);
  }

  /** Move a verified download into blobs/ (a blob already there is identical by construction). */
  commitBlob(tmp: string, digest: string): void {
    const dest = this.blobPath(digest);
    if (existsSync(dest)) unlinkSync(tmp);
    else renameSync(tmp, dest);
  }

  /** Store small bytes (a manifest, a config) under their sha256; returns the digest. */
  putBlob(bytes: Buffer): string {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (!this.hasBlob(digest, bytes.length)) {
      const tmp = this.ingestPath();
      this.#atomicWrite(tmp, bytes);
      this.commitBlob(tmp, digest);
    }
    return digest;
  }

  readIndex(): ImageIndex {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
      throw new ContainetError('MOCKER_STORE', `cannot read ${join(this.dir, 'index.json')}: ${(err as Error).message}`);
    }
    try {
      return JSON.parse(text) as ImageIndex;
    } catch {
      throw new ContainetError('MOCKER_STORE', `${join(this.dir, 'index.json')} is not valid JSON`, { hint: 'the store is damaged; remove it and pull again' });
    }
  }

  images(): StoredImage[] {
    return this.readIndex()
      .manifests.filter((d) => d.annotations?.[NAME_ANNOTATION] !== undefined)
      .map((d) => ({ name: d.annotations![NAME_ANNOTATION]!, descriptor: d }));
  }

  /**
   * The image a user means: a reference (`alpine`, `host:5000/a:1`), an
   * image digest, or a unique prefix of one (at least 4 hex digits).
   */
  find(text: string): StoredImage {
    const images = this.images();
    const byDigest = /^(sha256:)?[a-f0-9]{4,64}$/.test(text) ? images.filter((i) => i.descriptor.digest.slice(7).startsWith(text.replace(/^sha256:/, ''))) : [];
    const uniq = [...new Set(byDigest.map((i) => i.descriptor.digest))];
    if (uniq.length === 1) return byDigest[0]!;
    if (uniq.length > 1) throw new ContainetError('MOCKER_AMBIGUOUS', `${text} matches ${uniq.length} images`, { exitCode: EXIT.usage, hint: 'give more digits or the name' });
    const ref = parseReference(text);
    const full = formatReference(ref);
    const hit = images.find((i) => i.name === full) ?? (ref.digest ? images.find((i) => i.descriptor.digest === ref.digest && i.name.startsWith(`${ref.domain}/${ref.path}`)) : undefined);
    if (!hit) throw new ContainetError('MOCKER_IMAGE_UNKNOWN', `no such image: ${full}`, { exitCode: EXIT.notFound, hint: `pull it first: mocker pull ${text}` });
    return hit;
  }

  manifest(image: StoredImage): ImageManifest {
    if (isIndexType(image.descriptor.mediaType)) throw new ContainetError('MOCKER_STORE', `${image.name} is an index, not an image`);
    return JSON.parse(this.readBlob(image.descriptor.digest).toString('utf8')) as ImageManifest;
  }

  config(manifest: ImageManifest): ImageConfig {
    return JSON.parse(this.readBlob(manifest.config.digest).toString('utf8')) as ImageConfig;
  }

  /** Name an image; the old entry of that name goes, with the blobs only it used. */
  async tag(name: string, descriptor: Descriptor): Promise<void> {
    await this.withLock('index', async () => {
      const index = this.readIndex();
      const replaced = index.manifests.some((d) => d.annotations?.[NAME_ANNOTATION] === name && d.digest !== descriptor.digest);
      index.manifests = index.manifests.filter((d) => d.annotations?.[NAME_ANNOTATION] !== name);
      index.manifests.push(descriptor);
      nameRefs(index);
      this.#writeIndex(index);
      // The image that had this name before is unreachable now, as after rm.
      if (replaced) this.#collectGarbage(index);
    });
  }

  /** Remove names; then blobs and root filesystems no name reaches any more. Returns what went. */
  async remove(names: string[]): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.withLock('index', async () => {
      const index = this.readIndex();
      const untagged = index.manifests.filter((d) => names.includes(d.annotations?.[NAME_ANNOTATION] ?? '')).map((d) => d.annotations![NAME_ANNOTATION]!);
      index.manifests = index.manifests.filter((d) => !names.includes(d.annotations?.[NAME_ANNOTATION] ?? ''));
      nameRefs(index);
      this.#writeIndex(index);
      return { untagged, deleted: this.#collectGarbage(index) };
    });
  }

  async gc(): Promise<string[]> {
    return this.withLock('index', async () => this.#collectGarbage(this.readIndex()));
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.locksDir, { recursive: true });
    return withFileLock(join(this.locksDir, `${name}.lock`), fn);
  }

  /** Every blob reachable from index.json (manifests, nested indexes, configs, layers). */
  reachable(index: ImageIndex = this.readIndex()): Set<string> {
    const seen = new Set<string>();
    const visit = (d: Descriptor): void => {
      if (seen.has(d.digest)) return;
      seen.add(d.digest);
      if (!this.hasBlob(d.digest)) return;
      if (isIndexType(d.mediaType)) {
        const child = JSON.parse(this.readBlob(d.digest).toString('utf8')) as ImageIndex;
        for (const m of child.manifests) visit(m);
      } else if (d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest) {
        const m = JSON.parse(this.readBlob(d.digest).toString('utf8')) as ImageManifest;
        seen.add(m.config.digest);
        for (const l of m.layers) seen.add(l.digest);
      }
    };
    for (const d of index.manifests) visit(d);
    return seen;
  }

  /**
   * Mark a pull in progress until the returned function is called: garbage
   * collection keeps every blob written or reused since the oldest live
   * pull began, since that pull has not named its image yet.
   */
  beginPull(): () => void {
    mkdirSync(this.locksDir, { recursive: true });
    const marker = join(this.locksDir, `pull-${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(marker, `${process.pid}\n`);
    return () => rmSync(marker, { force: true });
  }

  /** Reusing a blob counts as writing it, for beginPull's rule. */
  touchBlob(digest: string): void {
    const now = new Date();
    try {
      utimesSync(this.blobPath(digest), now, now);
    } catch {}
  }

  #livePullsSince(): number {
    let oldest = Infinity;
    for (const name of readdirSync(this.locksDir)) {
      const m = /^pull-(\d+)-/.exec(name);
      if (!m) continue;
      try {
        process.kill(Number(m[1]), 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
          rmSync(join(this.locksDir, name), { force: true });
          continue;
        }
      }
      try {
        oldest = Math.min(oldest, statSync(join(this.locksDir, name)).mtimeMs);
      } catch {}
    }
    return oldest - 10; // timestamps are as fine as the clock; allow for rounding
  }

  #collectGarbage(index: ImageIndex): string[] {
    const keep = this.reachable(index);
    const deleted: string[] = [];
    const since = this.#livePullsSince();
    for (const name of readdirSync(this.blobsDir)) {
      const digest = `sha256:${name}`;
      if (keep.has(digest)) continue;
      if (since !== Infinity && statSync(join(this.blobsDir, name)).mtimeMs >= since) continue;
      rmSync(join(this.blobsDir, name), { force: true });
      deleted.push(digest);
    }
    // Root filesystems of images no longer named, unless a container holds
    // them (a `.busy` marker, or an overlay mount naming them).
    const mounts = allMountTables();
    for (const name of readdirSync(this.rootfsDir)) {
      const path = join(this.rootfsDir, name);
      if (name.startsWith('.')) continue;
      if (keep.has(`sha256:${name}`) || mounts.includes(path)) continue;
      rmSync(path, { recursive: true, force: true });
    }
    this.cleanIngest();
    return deleted;
  }

  /**
   * Remove downloads and unpack directories left by processes that are
   * gone. A partial blob (sha256-HEX) stays for the next pull to continue,
   * unless nothing has touched it for PARTIAL_TTL_MS.
   */
  cleanIngest(): void {
    try {
      for (const name of readdirSync(this.ingestDir)) {
        if (!name.startsWith('sha256-')) continue;
        const path = join(this.ingestDir, name);
        try {
          if (Date.now() - statSync(path).mtimeMs > PARTIAL_TTL_MS) rmSync(path, { force: true });
        } catch {}
      }
    } catch {}
    for (const dir of [this.ingestDir, this.rootfsDir]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const m = /^(?:\.tmp-)?(\d+)-[a-f0-9]+/.exec(name);
        if (!m || (dir === this.rootfsDir && !name.startsWith('.tmp-'))) continue;
        const pid = Number(m[1]);
        let alive = true;
        try {
          process.kill(pid, 0);
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM';
        }
        if (!alive) rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
  }

  #writeIndex(index: ImageIndex): void {
    this.#atomicWrite(join(this.dir, 'index.json'), `${JSON.stringify(index)}\n`);
  }

  #atomicWrite(path: string, data: string | Buffer): void {
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fd = openSync(tmp, 'wx', 0o644);
      try {
        // No fsync: the store is a cache of registry content, and a pull
        // after a power cut fetches again. rename(2) keeps readers from
        // ever seeing a partial file.
        writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new ContainetError('MOCKER_STORE', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * The mount tables of every mount namespace on the machine, concatenated.
 * Containers mount their overlay (lowerdir=STORE/rootfs/HEX) inside their
 * own mount namespace, which /proc/self/mountinfo does not show; one process
 * per namespace is read (the namespace's inode identifies it).
 */
export function allMountTables(): string {
  const seen = new Set<string>();
  const tables: string[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    pids = [];
  }
  for (const pid of ['self', ...pids]) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      tables.push(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return tables.join('');
}
