/**
 * Readiness of raw fds without letting libuv read them. A worker thread
 * blocks in epoll_wait (native cn_poll_wait, called through koffi's async
 * path); callbacks run on the event loop. Used for sockets whose reads need
 * recvmsg() with SCM_RIGHTS.
 */
import { check, ContainetError } from './errors.js';
import { native } from './native.js';

export type ReadableHandler = (fd: number) => void;

export class FdPoller {
  #handle: number;
  #handlers = new Map<number, ReadableHandler>();
  #waiting = false;
  #closed = false;

  constructor() {
    this.#handle = check(Number(native().cn_poll_create()), 'epoll_create1');
  }

  /** Call `onReadable(fd)` whenever fd has input or hung up (level-triggered). */
  add(fd: number, onReadable: ReadableHandler): void {
    if (this.#closed) throw new ContainetError('CN_CLOSED', 'poller is closed');
    check(Number(native().cn_poll_add(this.#handle, fd)), 'epoll_ctl(ADD)');
    this.#handlers.set(fd, onReadable);
    this.#arm();
  }

  /** Stop watching fd. Call before closing it. Safe for unknown fds. */
  delete(fd: number): void {
    if (!this.#handlers.delete(fd) || this.#closed) return;
    native().cn_poll_del(this.#handle, fd);
  }

  get size(): number {
    return this.#handlers.size;
  }

  /** Stop waiting; fds are left open (their owners close them). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    if (this.#waiting) native().cn_poll_wake(this.#handle);
    else native().cn_poll_destroy(this.#handle);
  }

  #arm(): void {
    if (this.#waiting || this.#closed || this.#handlers.size === 0) return;
    this.#waiting = true;
    const fds = new Int32Array(64);
    native().cn_poll_wait.async(this.#handle, fds, 64, -1, (err: unknown, n: number) => {
      this.#waiting = false;
      if (this.#closed) {
        native().cn_poll_destroy(this.#handle);
        return;
      }
      if (err || n < 0) {
        // Only EBADF-like failures land here; nothing sensible is left to poll.
        this.close();
        return;
      }
      for (let i = 0; i < n; i++) {
        const fd = fds[i]!;
        const handler = this.#handlers.get(fd);
        if (handler) handler(fd);
      }
      this.#arm();
    });
  }
}
