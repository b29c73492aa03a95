/**
 * Readiness of raw fds without letting libuv read them, for sockets whose
 * reads need recvmsg() with SCM_RIGHTS and for eventfds. A thread owned by
 * the native library (poll.c) waits in epoll_wait, queues the fds that fired
 * (one-shot) and writes a byte to a pipe that libuv watches here as a
 * net.Socket; the callbacks then run on the event loop and the fds are
 * re-armed. No wait ever holds one of libuv's worker threads, which fs, dns
 * and crypto need, and the process can exit at any moment.
 */
import { Socket } from 'node:net';
import { check, ContainetError } from './errors.js';
import { native } from './native.js';

export type ReadableHandler = (fd: number) => void;

/** Fds taken from the native queue per round; more wait for the next turn of the loop. */
const BATCH = 64;

export class FdPoller {
  #handle: number;
  #handlers = new Map<number, ReadableHandler>();
  /** Read end of the thread's notification pipe. */
  #notify: Socket;
  #ready = new Int32Array(BATCH);
  #closed = false;

  constructor() {
    const notifyFd = [-1];
    this.#handle = check(Number(native().cn_poll_create(notifyFd)), 'cn_poll_create');
    try {
      this.#notify = new Socket({ fd: notifyFd[0]!, readable: true, writable: false });
    } catch (err) {
      native().cn_poll_destroy(this.#handle);
      native().cn_fd_close(notifyFd[0]!);
      throw err;
    }
    this.#notify.on('data', () => this.#dispatch());
    this.#notify.on('error', () => {}); // only after close(): the pipe's writer is gone
    // Like a net.Server, a poller keeps the process alive only while it watches something.
    this.#notify.unref();
  }

  /** Call `onReadable(fd)` whenever fd has input or hung up (level-triggered). */
  add(fd: number, onReadable: ReadableHandler): void {
    if (this.#closed) throw new ContainetError('CN_CLOSED', 'poller is closed');
    check(Number(native().cn_poll_add(this.#handle, fd)), 'epoll_ctl(ADD)');
    this.#handlers.set(fd, onReadable);
    if (this.#handlers.size === 1) this.#notify.ref();
  }

  /** Stop watching fd. Call before closing it. Safe for unknown fds. */
  delete(fd: number): void {
    if (!this.#handlers.delete(fd) || this.#closed) return;
    native().cn_poll_del(this.#handle, fd);
    if (this.#handlers.size === 0) this.#notify.unref();
  }

  get size(): number {
    return this.#handlers.size;
  }

  /** Stop the thread (joined before this returns); fds are left open (their owners close them). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    native().cn_poll_destroy(this.#handle);
    this.#notify.destroy();
  }

  /** Take the fds that fired, call back, re-arm the ones still watched. */
  #dispatch(): void {
    if (this.#closed) return;
    const ready = this.#ready;
    const n = Number(native().cn_poll_take(this.#handle, ready, BATCH));
    if (n < 0) {
      // The thread's epoll_wait failed (EBADF-like): nothing sensible is left to poll.
      this.close();
      return;
    }
    let i = 0;
    try {
      for (; i < n && !this.#closed; i++) {
        const fd = ready[i]!;
        this.#handlers.get(fd)?.(fd);
      }
    } finally {
      if (!this.#closed) {
        // A handler that throws still re-arms its batch (the error goes on to the caller).
        native().cn_poll_rearm(this.#handle, ready, n);
        // The thread notifies only when its queue was empty: take the rest on the next turn.
        if (n === BATCH) setImmediate(() => this.#dispatch());
      }
    }
  }
}
