/**
 * A layer blob as a stream of tar bytes. The compression is recognised from
 * the first bytes (gzip RFC 1952 `1f 8b`, zstd RFC 8878 `28 b5 2f fd`) as
 * docker does, since media types are not always truthful.
 *
 * zstd: Node 20's zlib has none. fzstd is a pure-JavaScript decoder with no
 * dependencies and no install script, so nothing has to be compiled or
 * fetched at install time.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

export async function detectCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && buf.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

function zstdDecoder(): Transform {
  let out: Uint8Array[] = [];
  const dec = new Decompress((chunk) => {
    out.push(chunk);
  });
  const flush = (t: Transform): void => {
    for (const c of out) t.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    out = [];
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        dec.push(chunk);
        flush(this);
        cb();
      } catch (err) {
        cb(new Error(`zstd: ${(err as Error).message}`));
      }
    },
    final(cb) {
      try {
        dec.push(new Uint8Array(0), true);
        flush(this);
        cb();
      } catch (err) {
        cb(new Error(`zstd: ${(err as Error).message}`));
      }
    },
  });
}

export async function openLayer(path: string): Promise<Readable> {
  const kind = await detectCompression(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (kind === 'none') return raw;
  const dec = kind === 'gzip' ? createGunzip({ chunkSize: 1 << 18 }) : zstdDecoder();
  raw.on('error', (err) => dec.destroy(err));
  return raw.pipe(dec);
}
