/**
 * Fetch one blob into the store's ingest/ while hashing it, resuming a cut
 * transfer with a Range request (RFC 9110 §14) and renaming it into blobs/
 * only once its size and sha256 match the descriptor.
 */
import { open, rm } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import type { Descriptor } from '../manifest.js';
import type { ImageStore } from '../store/image-store.js';
import { isTransientError, sleep, type RegistryClient } from './client.js';

const STAGE = 1 << 20;

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
    const free: Buffer[] = [];
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
        // Pieces of the body (views of the connection's read area) are
        // hashed and copied into a 1 MiB staging area; a full area is
        // written with one pwrite(2) on libuv's pool while the next fills.
        // Reading pauses while an older write is still running, so at most
        // three areas exist. `got` counts bytes on disk only: a resume
        // always starts right after what was written.
        let area = free.pop() ?? Buffer.allocUnsafe(STAGE);
        let fill = 0;
        let queued = 0;
        let writing = 0;
        let chain: Promise<void> = Promise.resolve();
        const writeArea = (): void => {
          const buf = area;
          const n = fill;
          const at = got + queued;
          queued += n;
          writing++;
          area = free.pop() ?? Buffer.allocUnsafe(STAGE);
          fill = 0;
          const before = chain;
          chain = before.then(async () => {
            const { bytesWritten } = await fh.write(buf, 0, n, at);
            if (bytesWritten !== n) throw new ContainetError('MOCKER_STORE', `short write to ${tmp} (${bytesWritten} of ${n} bytes): is the disk full?`);
            got += n;
            queued -= n;
            writing--;
            free.push(buf);
            if (got - lastReport >= progressEvery) {
              lastReport = got;
              opts.onProgress?.({ state: 'downloading', got, total: desc.size });
            }
          });
          // A failed write ends the transfer at once (and is not retried: it is not the network's).
          chain.catch((err: Error) => res.body.destroy(err));
          if (writing > 1) {
            res.body.pause();
            before.then(
              () => res.body.resume(),
              () => {},
            );
          }
        };
        try {
          await res.body.consume((view) => {
            if (got + queued + fill + view.length > desc.size) {
              throw new ContainetError('MOCKER_SIZE_MISMATCH', `blob ${desc.digest} of ${what} is larger than the ${desc.size} bytes its manifest says`, { exitCode: EXIT.verify });
            }
            hash.update(view);
            for (let off = 0; off < view.length; ) {
              const n = view.copy(area, fill, off);
              fill += n;
              off += n;
              if (fill === STAGE) writeArea();
            }
          });
        } finally {
          // Keep what arrived before a cut: the resume asks for the rest.
          if (fill > 0) writeArea();
          await chain;
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
