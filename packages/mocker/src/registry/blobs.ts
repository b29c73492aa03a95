/**
 * Fetch one blob into the store's ingest/ while hashing it, resuming a cut
 * transfer with a Range request (RFC 9110 §14) and renaming it into blobs/
 * only once its size and sha256 match the descriptor.
 *
 * The download is ingest/sha256-HEX, under a lock on that blob
 * (store/lock.ts) so one process at a time writes it. What an earlier pull
 * left there, cut off, interrupted or killed, is continued: its bytes are
 * hashed again to rebuild the sha256 state and the rest is asked for with
 * `Range: bytes=N-`; a server that answers 200 instead of 206 sends the
 * whole blob, which replaces the file. Bytes that do not verify are removed.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, read, statSync, writev, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import type { Descriptor } from '../manifest.js';
import type { ImageStore } from '../store/image-store.js';
import { acquireFileLock } from '../store/lock.js';
import { isTransientError, messageOf, sleep, transferError, type RegistryClient } from './client.js';
import { backoffDelay } from './retry.js';
import { sha256, type BlobHash } from './digest.js';

/** Body pieces are written to the disk in batches of about this much (one pwritev(2) each). */
const BATCH = 1 << 20;

export interface BlobProgress {
  (event: { state: 'downloading' | 'resuming' | 'verifying' | 'retrying'; got: number; total: number; reason?: string }): void;
}

export interface FetchBlobOptions {
  /** Resumptions of one blob before giving up; default 5 (docker's max-download-attempts). */
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

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const readAt = promisify(read);
const writevAt = promisify(writev);

/** Hash what an earlier download left in `fd`; the bytes kept (0 when they cannot be this blob). */
async function rehash(fd: number, size: number, hash: BlobHash): Promise<number> {
  const have = fstatSync(fd).size;
  if (have > size) {
    ftruncateSync(fd, 0);
    return 0;
  }
  const buf = Buffer.allocUnsafe(Math.min(BATCH, Math.max(have, 1)));
  for (let at = 0; at < have; ) {
    const { bytesRead } = await readAt(fd, buf, 0, Math.min(buf.length, have - at), at);
    if (bytesRead === 0) return at;
    await hash.update([buf.subarray(0, bytesRead)]);
    at += bytesRead;
  }
  return have;
}

export async function fetchBlob(client: RegistryClient, store: ImageStore, repoPath: string, desc: Descriptor, what: string, opts: FetchBlobOptions = {}): Promise<void> {
  if (store.hasBlob(desc.digest, desc.size)) return;
  // Another pull downloading the same blob may take as long as the blob
  // needs: wait for it (Ctrl-C ends the wait), then find the blob stored.
  const lock = await acquireFileLock(store.blobLockPath(desc.digest), Infinity, opts.signal, () =>
    opts.onProgress?.({ state: 'retrying', got: 0, total: desc.size, reason: 'another mocker is downloading this blob; waiting for it' }),
  );
  try {
    // Another process may have fetched it while we waited for the lock.
    if (store.hasBlob(desc.digest, desc.size)) return;
    const resuming = (statOrNull(store.partialPath(desc.digest))?.size ?? 0) > 0;
    try {
      await download(client, store, repoPath, desc, what, opts);
    } catch (err) {
      // Bytes left by an earlier pull that do not verify (a torn write at a
      // power cut, say) are no fault of the registry: one fresh try (the
      // failed download removed them).
      if (!resuming || (err as { code?: string }).code !== 'MOCKER_DIGEST_MISMATCH') throw err;
      opts.onProgress?.({ state: 'retrying', got: 0, total: desc.size, reason: 'the download left by an earlier pull did not verify; starting over' });
      await download(client, store, repoPath, desc, what, opts);
    }
  } finally {
    lock.release();
  }
}

async function download(client: RegistryClient, store: ImageStore, repoPath: string, desc: Descriptor, what: string, opts: FetchBlobOptions): Promise<void> {
  const tmp = store.partialPath(desc.digest);
  // Opened and sized synchronously (microseconds on a local disk), so the
  // request leaves at once rather than after two round trips through
  // libuv's pool, which on a loaded machine took milliseconds each.
  const fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT, 0o644);
  let closed = false;
  let keep = true;
  try {
    let hash = sha256();
    let got = await rehash(fd, desc.size, hash);
    if (got > 0) opts.onProgress?.({ state: 'resuming', got, total: desc.size });
    let failures = 0;
    const limit = opts.resumes ?? 5;
    const path = `/v2/${repoPath}/blobs/${desc.digest}`;
    while (got < desc.size || desc.size === 0) {
      try {
        const headers: Record<string, string> = {};
        if (got > 0) headers['range'] = `bytes=${got}-`;
        const res = await client.request(path, {
          headers,
          scope: `repository:${repoPath}:pull`,
          what,
          onRetry: (e) => opts.onProgress?.({ state: 'retrying', got, total: desc.size, reason: `${e.reason}; next try in ${(e.delayMs / 1000).toFixed(1)} s` }),
        });
        if (got > 0) {
          const cr = String(res.headers['content-range'] ?? '');
          if (res.status !== 206 || !cr.startsWith(`bytes ${got}-`)) {
            // The server ignored or mangled the range: start over.
            hash = sha256();
            got = 0;
            ftruncateSync(fd, 0);
          }
        }
        const progressEvery = Math.max(1 << 16, Math.floor(desc.size / 200));
        let lastReport = 0;
        // Pieces of the body (views of what the connection read) are held,
        // and a batch of about 1 MiB of them is hashed (digest.ts) and
        // written with one pwritev(2), both on libuv's pool, while the next
        // batch arrives; pieces hashed and written are released for the
        // connection to read into again (no copy into a staging area).
        // Batches are hashed and written in order, one at a time. Reading
        // pauses while an older batch is still running, so at most about
        // three batches are held. `got` counts bytes on disk only: a resume
        // always starts right after what was written.
        let batch: Buffer[] = [];
        let fill = 0;
        let queued = 0;
        let writing = 0;
        let chain: Promise<void> = Promise.resolve();
        const writeBatch = (): void => {
          const views = batch;
          const n = fill;
          const at = got + queued;
          queued += n;
          writing++;
          batch = [];
          fill = 0;
          const before = chain;
          const batchHash = hash;
          chain = before.then(async () => {
            const [, { bytesWritten }] = await Promise.all([batchHash.update(views), writevAt(fd, views, at)]);
            if (bytesWritten !== n) throw new ContainetError('MOCKER_STORE', `short write to ${tmp} (${bytesWritten} of ${n} bytes): is the disk full?`);
            for (const v of views) res.body.release(v);
            got += n;
            queued -= n;
            writing--;
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
            res.body.hold(view);
            batch.push(view);
            fill += view.length;
            if (fill >= BATCH) writeBatch();
          });
        } finally {
          // Keep what arrived before a cut: the resume asks for the rest.
          if (fill > 0) writeBatch();
          await chain;
        }
        if (got < desc.size) throw shortBody(got, desc.size);
        break;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (!isTransientError(err) || ++failures > limit) throw transferError(err, 'GET', `${client.base}${path}`);
        const delayMs = backoffDelay(failures, opts.backoffMs ?? 250);
        opts.onProgress?.({ state: 'retrying', got, total: desc.size, reason: `${messageOf(err)}; next try in ${(delayMs / 1000).toFixed(1)} s` });
        await sleep(delayMs, opts.signal);
      }
    }
    opts.onProgress?.({ state: 'verifying', got, total: desc.size });
    const digest = `sha256:${hash.hex()}`;
    if (digest !== desc.digest) {
      throw new ContainetError('MOCKER_DIGEST_MISMATCH', `blob of ${what} has digest ${digest}, not ${desc.digest} as its manifest says; refused`, {
        exitCode: EXIT.verify,
        hint: 'the registry or a proxy served corrupt data; try again, or report it to the registry owner',
      });
    }
    closeSync(fd);
    closed = true;
    store.commitBlob(tmp, desc.digest);
  } catch (err) {
    // Bytes that are not this blob's are no start for the next pull.
    const code = (err as { code?: string }).code;
    if (code === 'MOCKER_DIGEST_MISMATCH' || code === 'MOCKER_SIZE_MISMATCH') keep = false;
    throw err;
  } finally {
    if (!closed) closeSync(fd);
    if (!keep) await rm(tmp, { force: true });
  }
}
