/**
 * Control-socket framing: each message is a 4-byte big-endian length and
 * that many bytes of UTF-8 JSON. A passed fd travels with the first byte of
 * its message's length prefix, so the receiver knows which message owns it
 * (the kernel never merges a recvmsg() across an SCM_RIGHTS boundary).
 */
import { ContainetError } from './errors.js';

/** Largest message body accepted; anything bigger is a protocol error. */
export const MAX_FRAME = 64 * 1024;

/** Frame `message`; throws CN_PROTO_TOO_LARGE when its JSON exceeds MAX_FRAME. */
export function encodeFrame(message: unknown): Buffer {
  return frameJson(JSON.stringify(message));
}

/** Frame a message already turned into JSON; throws CN_PROTO_TOO_LARGE. */
export function frameJson(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  if (body.length > MAX_FRAME) {
    throw new ContainetError('CN_PROTO_TOO_LARGE', `control message of ${body.length} bytes exceeds ${MAX_FRAME}`);
  }
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

export interface Frame {
  message: unknown;
  /** The fd that came with this frame, or -1. Ownership passes to the caller. */
  fd: number;
}

/**
 * Incremental decoder. push() returns the complete frames; a malformed or
 * oversized frame throws CN_PROTO_* and the connection should be dropped
 * (after replying) because the stream can no longer be resynchronised.
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  #pendingFd = -1;
  readonly #closeFd: (fd: number) => void;

  /** `closeFd` releases descriptors that arrive where no frame can own them. */
  constructor(closeFd: (fd: number) => void) {
    this.#closeFd = closeFd;
  }

  /** Bytes buffered toward an incomplete frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** An fd received but not yet handed out with a complete frame. */
  takePendingFd(): number {
    const fd = this.#pendingFd;
    this.#pendingFd = -1;
    return fd;
  }

  /** Release what is buffered, closing a pending fd (connection gone). */
  reset(): void {
    const fd = this.takePendingFd();
    if (fd >= 0) this.#closeFd(fd);
    this.#buf = Buffer.alloc(0);
  }

  push(chunk: Buffer, fd = -1): Frame[] {
    if (fd >= 0) {
      if (this.#buf.length !== 0 || this.#pendingFd >= 0) {
        this.#closeFd(fd);
        throw new ContainetError('CN_PROTO_FD_MISPLACED', 'file descriptor not attached to the start of a message');
      }
      this.#pendingFd = fd;
    }
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: Frame[] = [];
    try {
      this.#parse(frames);
    } catch (err) {
      // The caller gets no frame: release the descriptors of those already parsed.
      for (const f of frames) if (f.fd >= 0) this.#closeFd(f.fd);
      throw err;
    }
    return frames;
  }

  #parse(frames: Frame[]): void {
    for (;;) {
      if (this.#buf.length < 4) break;
      const len = this.#buf.readUInt32BE(0);
      if (len > MAX_FRAME) {
        throw new ContainetError('CN_PROTO_TOO_LARGE', `control message of ${len} bytes exceeds ${MAX_FRAME}`);
      }
      if (this.#buf.length < 4 + len) break;
      const body = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      let message: unknown;
      try {
        message = JSON.parse(body.toString('utf8'));
      } catch {
        throw new ContainetError('CN_PROTO_MALFORMED', 'control message is not valid JSON');
      }
      frames.push({ message, fd: this.takePendingFd() });
    }
  }
}
