/**
 * Fetch one blob into the store's ingest/ while hashing it, resuming a cut
 * transfer with a Range request (RFC 9110 §14) and renaming it into blobs/
 * only once its size and sha256 match the descriptor.
 */
import { open, rm } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { finished, type Readable } from 'node:stream';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import type { Descriptor } from '../manifest.js';
import type { ImageStore } from '../store/image-store.js';
import { isTransientError, sleep, type RegistryClient } from './client.js';

export interface BlobProgress {
  (event: { state: 'downloading' | 'verifying' | 'retrying'; got: number; total: number; reason?: string }): void;
}

export interface FetchBlobOptions {
  /** Resumptions of one blob before giving up; default 8. */
  resumes?: number;
  backoffMs?: number;
  signal?: AbortSignal;
  onProgress?: BlobProgress;
}

function shortBody(got: number, total: number): NodeJS.ErrnoException {
  const e = new Error(`connection closed after ${got} of ${total} bytes`) as NodeJS.ErrnoException;
  e.code = 'MOCKER_SHORT_BODY';
  return e;
}

export async function fetchBlob(client: RegistryClient, store: ImageStore, repoPath: string, desc: Descriptor, what: string, opts: FetchBlobOptions = {}): Promise<void> {
  if (store.hasBlob(desc.digest, desc.size)) return;
  const tmp = store.ingestPath();
  const fh = await open(tmp, 'wx', 0o644);
  let closed = false;
  try {
    let hash: Hash = createHash('sha256');
    let got = 0;
    let failures = 0;
    const limit = opts.resumes ?? 8;
    for (;;) {
      try {
        const headers: Record<string, string> = {};
        if (got > 0) headers['range'] = `bytes=${got}-`;
        const res = await client.request(`/v2/${repoPath}/blobs/${desc.digest}`, { headers, scope: `repository:${repoPath}:pull`, what });
        if (got > 0) {
          const cr = String(res.headers['content-range'] ?? '');
          if (res.status !== 206 || !cr.startsWith(`bytes ${got}-`)) {
            // The server ignored or mangled the range: start over.
            hash = createHash('sha256');
            got = 0;
            await fh.truncate(0);
          }
        }
        const progressEvery = Math.max(1 << 16, Math.floor(desc.size / 200));
        let lastReport = 0;
        // Socket reads arrive in 16-64 KiB pieces; gather them and write
        // with one writev(2) per MiB, hashing on this thread while the write
        // runs on libuv's pool. One write may still be on its way while the
        // next MiB arrives (reading does not stop for the disk); `got`
        // counts bytes on disk only, so a resume always starts right after
        // what was written.
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        let queued = 0;
        let inflight: Promise<void> = Promise.resolve();
        const flush = async (): Promise<void> => {
          if (pendingBytes === 0) return;
          const bufs = pending;
          const n = pendingBytes;
          pending = [];
          pendingBytes = 0;
          const writing = fh.writev(bufs, got + queued);
          queued += n;
          for (const b of bufs) hash.update(b);
          const before = inflight;
          inflight = (async () => {
            await before;
            const { bytesWritten } = await writing;
            if (bytesWritten !== n) throw new ContainetError('MOCKER_STORE', `short write to ${tmp} (${bytesWritten} of ${n} bytes): is the disk full?`);
            got += n;
            queued -= n;
            if (got - lastReport >= progressEvery) {
              lastReport = got;
              opts.onProgress?.({ state: 'downloading', got, total: desc.size });
            }
          })();
          // A failed write is awaited only by the next flush or the end of
          // the body; until then it must not count as an unhandled rejection
          // (which ends the process instead of reporting the error).
          inflight.catch(() => {});
          // At most one write behind the one just started.
          await before;
        };
        try {
          // 'data' events rather than an async iterator: no promise per
          // 64 KiB piece; the stream pauses while a MiB is handed over.
          const body = res.body as Readable;
          await new Promise<void>((resolve, reject) => {
            let failed = false;
            const fail = (err: unknown): void => {
              if (failed) return;
              failed = true;
              body.destroy();
              reject(err);
            };
            body.on('data', (chunk: Buffer) => {
              if (failed) return;
              if (got + queued + pendingBytes + chunk.length > desc.size) {
                fail(new ContainetError('MOCKER_SIZE_MISMATCH', `blob ${desc.digest} of ${what} is larger than the ${desc.size} bytes its manifest says`, { exitCode: EXIT.verify }));
                return;
              }
              pending.push(chunk);
              pendingBytes += chunk.length;
              if (pendingBytes >= 1 << 20) {
                body.pause();
                flush().then(() => body.resume(), fail);
              }
            });
            finished(body, (err) => (err ? fail(err) : !failed && resolve()));
          });
        } finally {
          // Keep what arrived before a cut: the resume asks for the rest.
          await flush();
          await inflight;
        }
        if (got < desc.size) throw shortBody(got, desc.size);
        break;
      } catch (err) {
        if (!isTransientError(err) || ++failures > limit || opts.signal?.aborted) throw err;
        opts.onProgress?.({ state: 'retrying', got, total: desc.size, reason: (err as Error).message });
        await sleep((opts.backoffMs ?? 250) * 2 ** Math.min(failures - 1, 5), opts.signal);
      }
    }
    opts.onProgress?.({ state: 'verifying', got, total: desc.size });
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== desc.digest) {
      throw new ContainetError('MOCKER_DIGEST_MISMATCH', `blob of ${what} has digest ${digest}, not ${desc.digest} as its manifest says; refused`, {
        exitCode: EXIT.verify,
        hint: 'the registry or a proxy served corrupt data; try again, or report it to the registry owner',
      });
    }
    await fh.close();
    closed = true;
    store.commitBlob(tmp, desc.digest);
  } finally {
    if (!closed) await fh.close().catch(() => {});
    await rm(tmp, { force: true });
  }
}
