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
 *
 * Metadata is restored as umoci restores it (oci/layer/tar_extract.go):
 * owner, then mode (chown(2) clears set-id bits), times to the nanosecond
 * of PAX `mtime`/`atime` records, and every `SCHILY.xattr.*` record with
 * lsetxattr(2) after the data is written (a write clears
 * security.capability); hard links take their target's. A directory's
 * times are set once everything in it is written, and a directory this
 * layer changes without naming it (a file added, a whiteout) gets back the
 * times it had before the layer.
 */
import { lstatSync, mkdirSync, readlinkSync, rmSync, unlinkSync, openSync, writeSync, closeSync, fchownSync, fchmodSync, futimesSync, symlinkSync, linkSync, lchownSync, chmodSync, chownSync, readdirSync, constants, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { extract, type Header as TarHeaders } from 'tar-stream';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { smallFileWriter } from './file-writer.js';
import { PaxRecordReader } from './pax-records.js';
import { fsetxattr, lsetxattr, llistxattr, lremovexattr, lutimens, type ExactTime } from './xattr.js';

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

/** The times to restore on a directory, and which directory (a later entry may replace it). */
interface DirTimes {
  ino: bigint;
  atime: ExactTime;
  mtime: ExactTime;
}

const nsTime = (ns: bigint): ExactTime => ({ sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) });

export async function applyLayer(root: string, tar: Readable, opts: ApplyOptions = {}): Promise<ApplyStats> {
  const privileged = opts.privileged ?? process.getuid?.() === 0;
  const layerNo = opts.layer ?? 1;
  const resolver = new RootResolver(root);
  const written = new Set<string>([root]);
  // Directories named by this layer, and directories it changed without naming them.
  const dirTimes = new Map<string, DirTimes>();
  const keptTimes = new Map<string, DirTimes>();
  const stats: ApplyStats = { entries: 0, bytes: 0, skippedNodes: 0 };
  const bad = (name: string, why: string): ContainetError => new ContainetError('MOCKER_BAD_LAYER', `layer ${layerNo}: ${JSON.stringify(name)}: ${why}; refused`, { exitCode: EXIT.verify });
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    opts.warn?.(message);
  };

  const markWritten = (dir: string): void => {
    for (let d = dir; d.length > root.length && !written.has(d); d = dirname(d)) written.add(d);
  };
  /** Remember a directory's times before this layer first changes what is in it. */
  const keepTimes = (dir: string): void => {
    if (keptTimes.has(dir) || dirTimes.has(dir)) return;
    const st = lstatSync(dir, { bigint: true });
    keptTimes.set(dir, { ino: st.ino, atime: nsTime(st.atimeNs), mtime: nsTime(st.mtimeNs) });
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
      } else {
        keepTimes(dir);
        rmSync(p, { recursive: true, force: true });
      }
    }
    resolver.invalidate();
  };

  /**
   * The entry's extended attributes, as umoci sets them: after owner and
   * mode. `security.selinux` is skipped (a label of the machine that built
   * the image means nothing here; umoci refuses it). The kernel allows
   * `user.*` on regular files and directories only (xattr(7)): on symlinks
   * and nodes it is skipped with a warning, where umoci stops with EPERM.
   * A filesystem without xattrs (ENOTSUP) is warned about, as umoci does.
   */
  const setXattrs = (name: string, target: string, xattrs: ReadonlyArray<[string, Buffer]>, kind: 'file' | 'dir' | 'other', fd?: number): void => {
    for (const [key, value] of xattrs) {
      if (key === 'security.selinux') {
        warnOnce(key, `layer ${layerNo}: security.selinux labels are not restored (first: ${name})`);
        continue;
      }
      if (kind === 'other' && key.startsWith('user.')) {
        warnOnce(`user-${name}`, `layer ${layerNo}: ${name}: ${key} not set: user.* attributes exist only on files and directories`);
        continue;
      }
      try {
        if (fd !== undefined) fsetxattr(fd, target, key, value);
        else lsetxattr(target, key, value);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          warnOnce(`notsup-${key.split('.')[0]}`, `layer ${layerNo}: ${name}: ${key} not set: the filesystem of ${root} does not support it`);
          continue;
        }
        if (!privileged && (code === 'EPERM' || code === 'EACCES')) {
          warnOnce(`perm-${key.split('.')[0]}`, `layer ${layerNo}: ${name}: ${key} not set (needs root)`);
          continue;
        }
        throw new ContainetError('MOCKER_UNPACK', `layer ${layerNo}: ${name}: ${(err as Error).message}`, { cause: err, exitCode: EXIT.failure });
      }
    }
  };
  /** A directory kept from a lower layer takes this layer's attributes only (umoci clears them first). */
  const clearXattrs = (target: string): void => {
    let keys: string[];
    try {
      keys = llistxattr(target);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return; // a filesystem without xattrs has none to clear
      throw err;
    }
    for (const key of keys) {
      if (key === 'security.selinux') continue;
      try {
        lremovexattr(target, key);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EPERM') throw err;
      }
    }
  };

  const hash = createHash('sha256');
  const records = new PaxRecordReader();
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      try {
        records.push(chunk);
      } catch (err) {
        return cb(err as Error);
      }
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
      const rec = records.shift();
      if (rec === undefined || rec.name !== h.name) throw bad(h.name, 'its tar headers could not be read consistently');
      const parts = cleanName(h.name);
      if (parts === null) throw bad(h.name, 'its name leads out of the root with ".."');
      const mode = (h.mode ?? 0o644) & 0o7777;
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      const mtime: ExactTime = rec.mtime ?? { sec: Math.floor((h.mtime?.getTime() ?? 0) / 1000), nsec: 0 };
      // umoci (and Go's archive/tar) use the mtime when there is no atime record.
      const atime: ExactTime = rec.atime ?? mtime;
      const wholeSeconds = mtime.nsec === 0 && atime.nsec === 0;
      if (parts.length === 0) {
        // `./`: the root itself, whose metadata umoci applies too.
        entry.resume();
        if (h.type === 'directory') {
          await settle();
          if (privileged) chownSync(root, uid, gid);
          chmodSync(root, mode);
          clearXattrs(root);
          setXattrs(h.name, root, rec.xattrs, 'dir');
          dirTimes.set(root, { ino: lstatSync(root, { bigint: true }).ino, atime, mtime });
        }
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
        keepTimes(parent);
        await removeExisting(victim, st);
        continue;
      }

      const parent = resolver.dir(parentParts, true, what)!;
      markWritten(parent);
      keepTimes(parent);
      const target = `${parent}/${base}`;
      if (inflight.has(target) || h.type === 'link') await settle();
      const existing = lstatOrNull(target);

      if (h.type === 'directory') {
        entry.resume();
        if (!existing?.isDirectory()) {
          if (existing) await removeExisting(target, existing);
          mkdirSync(target, 0o700);
        } else {
          await settle(); // files of this layer may be landing in it
          clearXattrs(target);
        }
        if (privileged) chownSync(target, uid, gid);
        chmodSync(target, mode);
        setXattrs(h.name, target, rec.xattrs, 'dir');
        keptTimes.delete(target);
        dirTimes.set(target, { ino: lstatSync(target, { bigint: true }).ino, atime, mtime });
        written.add(target);
        continue;
      }

      if (existing) await removeExisting(target, existing);
      switch (h.type) {
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined: {
          if ((h.size ?? 0) <= SMALL_FILE && rec.xattrs.length === 0 && wholeSeconds) {
            const data: Buffer[] = [];
            let size = 0;
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              data.push(chunk);
              size += chunk.length;
            }
            stats.bytes += size;
            const op = writer.write({ target, data, size, mode, chown: privileged, uid, gid, atime: atime.sec, mtime: mtime.sec }).then(
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
            // After the data and the owner: either clears security.capability.
            setXattrs(h.name, target, rec.xattrs, 'file', fd);
            if (wholeSeconds) futimesSync(fd, atime.sec, mtime.sec);
            else lutimens(target, atime, mtime);
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
          setXattrs(h.name, target, rec.xattrs, 'other');
          lutimens(target, atime, mtime);
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
          setXattrs(h.name, target, rec.xattrs, 'other');
          lutimens(target, atime, mtime);
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
  // Everything in them is written now. Setting a directory's times does not
  // change its parent's, so the order does not matter. A directory removed
  // or replaced (by a symlink, say) later in the layer is left alone: its
  // inode tells.
  for (const [dir, t] of [...keptTimes, ...dirTimes]) {
    const st = lstatOrNull(dir);
    if (st === null || !st.isDirectory() || BigInt(st.ino) !== t.ino) continue;
    lutimens(dir, t.atime, t.mtime);
  }
  if (opts.diffId !== undefined) {
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== opts.diffId) throw new ContainetError('MOCKER_DIGEST_MISMATCH', `layer ${layerNo} unpacks to ${got}, not ${opts.diffId} as the image config says; refused`, { exitCode: EXIT.verify });
  }
  return stats;
}
