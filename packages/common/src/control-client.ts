/**
 * Client side of the containet control socket, used by containode (attach)
 * and by the management commands. Replies and events arrive through libuv;
 * descriptors are sent with sendmsg() on the same socket (sendWithFd).
 */
import { connect, type Socket } from 'node:net';
import { ContainetError } from './errors.js';
import { sendWithFd, socketFd, closeFd } from './fdpass.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import type { ControlEvent, ControlReply } from './protocol.js';

export interface ControlClientOptions {
  /** How long a request may wait for its reply. */
  timeoutMs?: number;
  /** Called for every pushed event message. */
  onEvent?: (event: ControlEvent) => void;
  /** Called once when the connection ends (the daemon went away or close()). */
  onClose?: () => void;
}

type Pending = { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class ControlClient {
  readonly path: string;
  #sock: Socket;
  #decoder = new FrameDecoder(closeFd);
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #closed = false;
  #timeoutMs: number;

  private constructor(path: string, sock: Socket, opts: ControlClientOptions) {
    this.path = path;
    this.#sock = sock;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.#decoder.push(chunk);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      for (const { message } of frames) this.#dispatch(message as Record<string, unknown>, opts);
    });
    sock.on('error', () => {}); // surfaced through 'close' and failed requests
    sock.on('close', () => {
      this.#closed = true;
      this.#failPending(new ContainetError('CN_SWITCH_GONE', `containet at ${path} closed the connection`));
      opts.onClose?.();
    });
  }

  /** Connect to the switch at `path`; fails with CN_SWITCH_UNREACHABLE. */
  static connect(path: string, opts: ControlClientOptions = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new ContainetError('CN_SWITCH_UNREACHABLE', `cannot reach containet at ${path}: ${err.code ?? err.message}`, {
            hint: err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `start it with: containet -s ${path}` : undefined,
            cause: err,
          }),
        );
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        sock.off('error', onError);
        resolve(new ControlClient(path, sock, opts));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Send one request (an `id` is added) with an optional fd, resolve with the
   * reply body; a refusal rejects with the daemon's code and message.
   */
  request<T extends Record<string, unknown> = Record<string, unknown>>(body: Record<string, unknown>, fd = -1): Promise<T> {
    if (this.#closed) return Promise.reject(new ContainetError('CN_CLOSED', 'control connection is closed'));
    const id = this.#nextId++;
    const frame = encodeFrame({ ...body, id });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ContainetError('CN_SWITCH_TIMEOUT', `containet at ${this.path} did not answer ${String(body['op'])} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve: resolve as Pending['resolve'], reject, timer });
      try {
        if (fd >= 0) sendWithFd(socketFd(this.#sock), frame, fd);
        else this.#sock.write(frame);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err as Error);
      }
    });
  }

  /** Graceful close. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.end();
  }

  /** Forced close, failing pending requests with `err`. Safe to call twice. */
  destroy(err?: Error): void {
    this.#failPending(err ?? new ContainetError('CN_CLOSED', 'control connection was destroyed'));
    this.#closed = true;
    this.#sock.destroy();
  }

  /** Let the process exit while this connection is open (e.g. a watcher). */
  unref(): void {
    this.#sock.unref();
  }

  #dispatch(message: Record<string, unknown>, opts: ControlClientOptions): void {
    if (typeof message['event'] === 'string') {
      opts.onEvent?.(message as ControlEvent);
      return;
    }
    const id = message['id'];
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (!pending) return;
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    const reply = message as ControlReply;
    if (reply.ok) pending.resolve(reply as Record<string, unknown>);
    else pending.reject(new ContainetError(reply.error.code, reply.error.message, { hint: reply.error.hint }));
  }

  #failPending(err: Error): void {
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
  }
}
