/**
 * Apply one layer (a tar stream) onto a root directory, following the OCI
 * image-spec "layer.md" changeset rules: entries replace what lower layers
 * had, a directory over a directory keeps it, `.wh.NAME` deletes NAME from
 * lower layers and `.wh..wh..opq` hides every lower entry of its directory,
 * wherever these markers sit in the archive.
 *
 * Nothing outside `root` may change. Entry names are cleaned and a name that
 * climbs out with `..` is refused; every directory on the way is resolved
 * component by component with lstat, a symlink met there being followed
 * *as if root were /* (the semantics of openat2(2) RESOLVE_IN_ROOT), so a
 * link planted by an earlier entry or layer cannot lead outside; the last
 * component is never followed (files are opened O_CREAT|O_EXCL|O_NOFOLLOW,
 * links and nodes are made in place of whatever was there), and hard link
 * targets and whiteouts are resolved the same way. The tree is ours alone
 * while we build it, so these checks are not raced.
 */
import { lstatSync, mkdirSync, readlinkSync, rmSync, unlinkSync, openSync, writeSync, closeSync, fchownSync, fchmodSync, futimesSync, symlinkSync, linkSync, lchownSync, lutimesSync, chmodSync, chownSync, readdirSync, constants, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { extract, type Header as TarHeaders } from 'tar-stream';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { smallFileWriter } from './file-writer.js';

export interface ApplyOptions {
  /** Set owners and make device nodes (needs root); default: when uid is 0. */
  privileged?: boolean;
  /** Expected sha256 of the uncompressed tar (the config's diff_id). */
  diffId?: string;
  /** Number of the layer, for messages. */
  layer?: number;
  warn?: (message: string) => void;
}

export interface ApplyStats {
  entries: number;
  bytes: number;
  /** Device nodes not made because we are not root. */
  skippedNodes: number;
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';
const MAX_LINKS = 40; // path_resolution(7): Linux follows at most 40 symlinks
/** Files up to this size are buffered and written asynchronously. */
const SMALL_FILE = 1 << 20;
// Small files handed to the writer and not yet on disk: enough for both
// threads to have batches queued, with a bound on the memory they hold.
const MAX_INFLIGHT = 512;
const MAX_PENDING_BYTES = 32 << 20;

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** `a/./b//c` → [a,b,c]; null when `..` climbs above the top. */
export function cleanName(name: string): string[] | null {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(c);
  }
  return parts;
}

/**
 * Resolves directory paths inside a root, following symlinks as if the
 * root were `/`. Results are cached until something that could be on a
 * cached path (a directory or a symlink) is removed.
 */
export class RootResolver {
  readonly root: string;
  #cache = new Map<string, string>();
  constructor(root: string) {
    this.root = root;
  }

  invalidate(): void {
    this.#cache.clear();
  }

  /**
   * The real path of directory `parts`, creating missing directories (0755)
   * when `create`; null when it does not exist (or is not a directory) and
   * `create` is false.
   */
  dir(parts: readonly string[], create: boolean, what: () => string): string | null {
    const key = parts.join('/');
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const stack: string[] = [];
    const queue = [...parts];
    let links = 0;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop(); // clamped at the root, as RESOLVE_IN_ROOT does
        continue;
      }
      const p = `${this.root}/${[...stack, c].join('/')}`;
      const st = lstatOrNull(p);
      if (st === null) {
        if (!create) return null;
        mkdirSync(p, 0o755);
        stack.push(c);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw new ContainetError('MOCKER_BAD_LAYER', `${what()}: too many levels of symbolic links`, { exitCode: EXIT.verify });
        const target = readlinkSync(p);
        if (target.startsWith('/')) stack.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!st.isDirectory()) {
        if (!create) return null;
        throw new ContainetError('MOCKER_BAD_LAYER', `${what()}: /${[...stack, c].join('/')} is not a directory`, { exitCode: EXIT.verify });
      }
      stack.push(c);
    }
    const real = stack.length ? `${this.root}/${stack.join('/')}` : this.root;
    this.#cache.set(key, real);
    return real;
  }
}

function mknod(path: string, type: 'c' | 'b' | 'p', mode: number, major: number, minor: number): void {
  // Node has no mknod(2); coreutils' mknod(1) makes the node at this exact
  // path (its parent is a real directory inside the root, the name is new).
  const args = ['-m', (mode & 0o7777).toString(8), path, type];
  if (type !== 'p') args.push(String(major), String(minor));
  const r = spawnSync('mknod', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mknod ${path}: ${(r.stderr || r.error?.message || 'failed').trim()}`);
}

export async function applyLayer(root: string, tar: Readable, opts: ApplyOptions = {}): Promise<ApplyStats> {
  const privileged = opts.privileged ?? process.getuid?.() === 0;
  const layerNo = opts.layer ?? 1;
  const resolver = new RootResolver(root);
  const written = new Set<string>([root]);
  const dirTimes: Array<[string, Date]> = [];
  const stats: ApplyStats = { entries: 0, bytes: 0, skippedNodes: 0 };
  const bad = (name: string, why: string): ContainetError => new ContainetError('MOCKER_BAD_LAYER', `layer ${layerNo}: ${JSON.stringify(name)}: ${why}; refused`, { exitCode: EXIT.verify });

  const markWritten = (dir: string): void => {
    for (let d = dir; d.length > root.length && !written.has(d); d = dirname(d)) written.add(d);
  };
  // Small files are written by worker threads (file-writer.ts) while the
  // tar stream moves on (creating files is the slow part of unpacking).
  // Their parent is a real directory inside the root; anything that could
  // remove such a directory or put a symlink in its place (removing a
  // directory or link, a whiteout) first waits for every write in flight,
  // and so does any entry naming a path still being written.
  const writer = smallFileWriter();
  const inflight = new Map<string, Promise<void>>();
  let asyncError: unknown;
  const settle = async (): Promise<void> => {
    writer.flush();
    while (inflight.size) await Promise.all(inflight.values());
    if (asyncError !== undefined) throw asyncError;
  };

  const removeExisting = async (p: string, st: Stats): Promise<void> => {
    if (st.isDirectory() || st.isSymbolicLink()) await settle();
    if (st.isDirectory()) rmSync(p, { recursive: true, force: true });
    else unlinkSync(p);
    if (st.isDirectory() || st.isSymbolicLink()) resolver.invalidate();
  };
  // Remove what lower layers put under `dir`, keeping this layer's entries.
  const prune = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = `${dir}/${name}`;
      if (written.has(p)) {
        if (lstatSync(p).isDirectory()) prune(p);
      } else rmSync(p, { recursive: true, force: true });
    }
    resolver.invalidate();
  };

  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const ex = extract();
  tar.on('error', (err) => hasher.destroy(err));
  hasher.on('error', (err) => ex.destroy(err));
  tar.pipe(hasher).pipe(ex);

  try {
    for await (const entry of ex) {
      const h: TarHeaders = entry.header;
      stats.entries++;
      const parts = cleanName(h.name);
      if (parts === null) throw bad(h.name, 'its name leads out of the root with ".."');
      if (parts.length === 0) {
        entry.resume();
        continue;
      }
      const base = parts[parts.length - 1]!;
      const parentParts = parts.slice(0, -1);
      const what = (): string => `layer ${layerNo}: ${h.name}`;

      if (asyncError !== undefined) throw asyncError;
      if (base.startsWith(WH)) {
        entry.resume();
        await settle();
        const parent = resolver.dir(parentParts, false, what);
        if (parent === null) continue;
        if (base === OPAQUE) {
          prune(parent);
          continue;
        }
        if (base.startsWith(`${WH}${WH}`)) continue; // aufs bookkeeping (.wh..wh.plnk …)
        const victimName = base.slice(WH.length);
        if (victimName === '' || victimName === '.' || victimName === '..') throw bad(h.name, 'a whiteout must name an entry');
        const victim = `${parent}/${victimName}`;
        const st = lstatOrNull(victim);
        if (st === null) continue;
        // A whiteout hides lower layers only (layer.md "Whiteouts").
        if (written.has(victim)) {
          if (st.isDirectory()) prune(victim);
          continue;
        }
        await removeExisting(victim, st);
        continue;
      }

      const parent = resolver.dir(parentParts, true, what)!;
      markWritten(parent);
      const target = `${parent}/${base}`;
      if (inflight.has(target) || h.type === 'link') await settle();
      const existing = lstatOrNull(target);
      const mode = (h.mode ?? 0o644) & 0o7777;
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      const mtime = h.mtime ?? new Date(0);

      if (h.type === 'directory') {
        entry.resume();
        if (!existing?.isDirectory()) {
          if (existing) await removeExisting(target, existing);
          mkdirSync(target, 0o700);
        }
        if (privileged) chownSync(target, uid, gid);
        chmodSync(target, mode);
        dirTimes.push([target, mtime]);
        written.add(target);
        continue;
      }

      if (existing) await removeExisting(target, existing);
      switch (h.type) {
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined: {
          if ((h.size ?? 0) <= SMALL_FILE) {
            const data: Buffer[] = [];
            let size = 0;
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              data.push(chunk);
              size += chunk.length;
            }
            stats.bytes += size;
            const op = writer.write({ target, data, size, mode, chown: privileged, uid, gid, mtime }).then(
              () => void inflight.delete(target),
              (err: unknown) => {
                asyncError ??= err;
                inflight.delete(target);
              },
            );
            inflight.set(target, op);
            if (inflight.size >= MAX_INFLIGHT || writer.pendingBytes >= MAX_PENDING_BYTES) {
              writer.flush();
              await Promise.race(inflight.values());
            }
            break;
          }
          const fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              let off = 0;
              while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
              stats.bytes += chunk.length;
            }
            if (privileged) fchownSync(fd, uid, gid);
            fchmodSync(fd, mode); // after chown, which clears set-id bits
            futimesSync(fd, mtime, mtime);
          } finally {
            closeSync(fd);
          }
          break;
        }
        case 'symlink':
          entry.resume();
          if (!h.linkname) throw bad(h.name, 'a symlink without a target');
          symlinkSync(h.linkname, target); // kept verbatim, absolute or not
          if (privileged) lchownSync(target, uid, gid);
          lutimesSync(target, mtime, mtime);
          break;
        case 'link': {
          entry.resume();
          const lp = cleanName(h.linkname ?? '');
          if (lp === null || lp.length === 0) throw bad(h.name, `its hard link target ${JSON.stringify(h.linkname)} is outside the root`);
          const srcDir = resolver.dir(lp.slice(0, -1), false, what);
          const src = srcDir === null ? null : `${srcDir}/${lp[lp.length - 1]}`;
          const st = src === null ? null : lstatOrNull(src);
          if (src === null || st === null) throw bad(h.name, `its hard link target ${JSON.stringify(h.linkname)} does not exist in the image`);
          if (st.isDirectory()) throw bad(h.name, 'a hard link to a directory');
          linkSync(src, target); // link(2) does not follow a symlink source
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          entry.resume();
          const t = h.type === 'fifo' ? 'p' : h.type === 'character-device' ? 'c' : 'b';
          if (!privileged && t !== 'p') {
            stats.skippedNodes++;
            opts.warn?.(`layer ${layerNo}: ${h.name}: device node skipped (needs root)`);
            break;
          }
          mknod(target, t, mode, h.devmajor ?? 0, h.devminor ?? 0);
          if (privileged) lchownSync(target, uid, gid);
          chmodSync(target, mode);
          lutimesSync(target, mtime, mtime);
          break;
        }
        default:
          entry.resume();
          opts.warn?.(`layer ${layerNo}: ${h.name}: entry type ${h.type} skipped`);
          continue;
      }
      written.add(target);
    }
    await finished(hasher);
    await settle();
  } catch (err) {
    tar.destroy();
    hasher.destroy();
    // Let writes in flight end before the caller cleans up the tree.
    writer.flush();
    await Promise.allSettled([...inflight.values()]);
    if (err instanceof ContainetError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new ContainetError('MOCKER_UNPACK', `layer ${layerNo}: ${e.message}`, { cause: err, exitCode: /zstd|gzip|header|invalid|unexpected end|incorrect/i.test(e.message) ? EXIT.verify : EXIT.failure });
  }
  for (const [dir, t] of dirTimes.reverse()) {
    // A later entry may have put a symlink where this directory was:
    // lutimes never follows it out of the root.
    try {
      lutimesSync(dir, t, t);
    } catch {} // removed later in the layer
  }
  if (opts.diffId !== undefined) {
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== opts.diffId) throw new ContainetError('MOCKER_DIGEST_MISMATCH', `layer ${layerNo} unpacks to ${got}, not ${opts.diffId} as the image config says; refused`, { exitCode: EXIT.verify });
  }
  return stats;
}
