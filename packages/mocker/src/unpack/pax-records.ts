/**
 * The PAX extended header records (POSIX.1-2001 pax, "pax Extended Header")
 * of each entry of a tar stream, kept as bytes.
 *
 * tar-stream decodes PAX values as UTF-8 text, which mangles binary values:
 * a `SCHILY.xattr.security.capability` record holds a struct
 * vfs_cap_data (linux/capability.h) whose bytes are anything but UTF-8,
 * and a v3 one carries the root uid of a user namespace. It also ignores
 * the nanoseconds of `mtime`/`atime` records. So the applier reads the same
 * bytes a second time here, as they pass on their way to tar-stream: this
 * reader follows headers and sizes only (the data is skipped, never
 * copied), and hands out, per entry and in archive order, what tar-stream
 * does not: xattrs as bytes and exact times. The entry's name is computed
 * as tar-stream computes it, so the applier can check both readers agree.
 */
import type { ExactTime } from './xattr.js';

export interface EntryRecords {
  /** The entry's name as tar-stream reports it. */
  name: string;
  /** `SCHILY.xattr.NAME` records (GNU tar, Go's archive/tar, docker), in order. */
  xattrs: Array<[string, Buffer]>;
  mtime: ExactTime | undefined;
  atime: ExactTime | undefined;
}

const BLOCK = 512;
const XATTR = 'SCHILY.xattr.';
// Bound on one extended header, as tar-stream's MAX_HEADER_SIZE.
const MAX_META = 1 << 20;

/** `1700000000.123456789` (or negative) as seconds and nanoseconds; undefined when malformed. */
export function parsePaxTime(text: string): ExactTime | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const sec = Number(m[2]);
  const nsec = Number((m[3] ?? '').padEnd(9, '0').slice(0, 9));
  if (m[1] !== '-') return { sec, nsec };
  return nsec === 0 ? { sec: -sec, nsec: 0 } : { sec: -sec - 1, nsec: 1e9 - nsec };
}

function octal(buf: Buffer, off: number, len: number): number {
  // Base-256 (GNU): first byte 0x80 for a positive number.
  if (buf[off]! & 0x80) {
    let n = 0;
    for (let i = off + 1; i < off + len; i++) n = n * 256 + buf[i]!;
    return buf[off] === 0x80 ? n : -1;
  }
  const text = buf.toString('latin1', off, off + len).replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cstring(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

interface Pending {
  path?: string;
  size?: number;
  xattrs: Array<[string, Buffer]>;
  mtime?: ExactTime;
  atime?: ExactTime;
  longName?: string;
}

export class PaxRecordReader {
  readonly #ready: EntryRecords[] = [];
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  /** Bytes of data (and padding) to skip before the next header. */
  #skip = 0;
  /** An extended header being gathered: its type and bytes. */
  #meta: { type: number; buf: Buffer; fill: number; pad: number } | null = null;
  #pending: Pending = { xattrs: [] };

  /** Feed the next bytes of the tar stream. */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - off);
        this.#skip -= n;
        off += n;
        continue;
      }
      if (this.#meta) {
        const m = this.#meta;
        const n = chunk.copy(m.buf, m.fill, off, off + Math.min(m.buf.length - m.fill, chunk.length - off));
        m.fill += n;
        off += n;
        if (m.fill === m.buf.length) {
          this.#meta = null;
          this.#skip = m.pad;
          this.#takeMeta(m.type, m.buf);
        }
        continue;
      }
      const n = chunk.copy(this.#header, this.#headerFill, off, off + Math.min(BLOCK - this.#headerFill, chunk.length - off));
      this.#headerFill += n;
      off += n;
      if (this.#headerFill === BLOCK) {
        this.#headerFill = 0;
        this.#takeHeader(this.#header);
      }
    }
  }

  /** What the next entry tar-stream reports carries; undefined if this reader has not seen it. */
  shift(): EntryRecords | undefined {
    return this.#ready.shift();
  }

  #takeHeader(h: Buffer): void {
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum === 8 * 32) return; // an all-zero block: end-of-archive padding, skipped as tar-stream does
    let type = h[156]!;
    const size = octal(h, 124, 12);
    const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;
    // x: pax header, g: pax global header, K/L/N: GNU long link name / long name.
    if (type === 0x78 || type === 0x67 || type === 0x4b || type === 0x4c || type === 0x4e) {
      if (size < 0 || size > MAX_META) throw new Error('tar: extended header exceeds its size limit');
      this.#meta = { type, buf: Buffer.alloc(size), fill: 0, pad: pad(size) };
      if (size === 0) {
        this.#meta = null;
        this.#skip = 0;
      }
      return;
    }
    const p = this.#pending;
    this.#pending = { xattrs: [] };
    let name = cstring(h, 0, 100);
    // ustar: a prefix in 345..500 (tar-stream's rule: magic "ustar\0" and a non-empty prefix).
    if (h.toString('latin1', 257, 263) === 'ustar\0' && h[345] !== 0) name = `${cstring(h, 345, 155)}/${name}`;
    if (p.longName !== undefined) name = p.longName;
    if (p.path !== undefined) name = p.path;
    if ((type === 0 || type === 0x30) && name.endsWith('/')) type = 0x35;
    this.#ready.push({ name, xattrs: p.xattrs, mtime: p.mtime, atime: p.atime });
    const dataSize = type === 0x35 ? 0 : (p.size ?? size);
    this.#skip = dataSize + pad(dataSize);
  }

  #takeMeta(type: number, buf: Buffer): void {
    if (type === 0x4c || type === 0x4e) this.#pending.longName = cstring(buf, 0, buf.length);
    if (type !== 0x78) return; // global headers name no entry (Go's archive/tar reports them apart too)
    // Records: "LEN KEY=VALUE\n", LEN counting the whole record in bytes.
    for (let off = 0; off < buf.length; ) {
      const sp = buf.indexOf(0x20, off);
      if (sp === -1) break;
      const len = parseInt(buf.toString('latin1', off, sp), 10);
      if (!(len > 0) || off + len > buf.length) break;
      const rec = buf.subarray(sp + 1, off + len - 1);
      off += len;
      const eq = rec.indexOf(0x3d);
      if (eq === -1) continue;
      const key = rec.toString('utf8', 0, eq);
      const value = rec.subarray(eq + 1);
      if (key.startsWith(XATTR)) this.#pending.xattrs.push([key.slice(XATTR.length), Buffer.from(value)]);
      else if (key === 'path') this.#pending.path = value.toString('utf8');
      else if (key === 'size') this.#pending.size = parseInt(value.toString('latin1'), 10);
      else if (key === 'mtime') this.#pending.mtime = parsePaxTime(value.toString('latin1'));
      else if (key === 'atime') this.#pending.atime = parsePaxTime(value.toString('latin1'));
    }
  }
}
