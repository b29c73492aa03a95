/**
 * File descriptors over unix stream sockets (SCM_RIGHTS), through native/.
 * Node's net module cannot send or receive descriptors on an ordinary
 * socket, so these calls work on the raw fd; see socketFd().
 */
import type { Socket } from 'node:net';
import { check, ContainetError } from './errors.js';
import { native } from './native.js';

/** Send all of `body` on `sock`, with `fd` (if given) attached to its first byte. */
export function sendWithFd(sock: number, body: Uint8Array, fd = -1, timeoutMs = 5000): void {
  check(Number(native().cn_fd_send(sock, body, body.length, fd, timeoutMs)), 'sendmsg');
}

export interface Received {
  /** Bytes read; empty at end of stream. */
  data: Buffer;
  /** The descriptor that came with the bytes, or -1. The caller owns it. */
  fd: number;
}

// One receive area for every call (they are synchronous): a fresh 64 KiB
// per recvmsg() made each control connection leave ~200 KiB of garbage
// outside the JS heap, and the daemon's RSS swing by tens of MiB.
let scratch: Buffer | undefined;

/**
 * One non-blocking recvmsg() of at most `cap` bytes. Returns null when
 * nothing is waiting (EAGAIN). The data returned is the caller's own copy.
 */
export function recvWithFd(sock: number, cap = 65536): Received | null {
  if (!scratch || scratch.length < cap) scratch = Buffer.alloc(cap);
  const fdOut = [-1];
  const n = Number(native().cn_fd_recv(sock, scratch, cap, fdOut));
  if (n === -11 /* EAGAIN */) return null;
  check(n, 'recvmsg');
  return { data: Buffer.from(scratch.subarray(0, n)), fd: fdOut[0] ?? -1 };
}

export function closeFd(fd: number): void {
  check(Number(native().cn_fd_close(fd)), 'close');
}

export function dupFd(fd: number): number {
  return check(Number(native().cn_fd_dup(fd)), 'fcntl(F_DUPFD_CLOEXEC)');
}

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

export function peerCred(sock: number): PeerCred {
  const pid = [0];
  const uid = [0];
  const gid = [0];
  check(Number(native().cn_peer_cred(sock, pid, uid, gid)), 'getsockopt(SO_PEERCRED)');
  return { pid: pid[0] ?? 0, uid: uid[0] ?? 0, gid: gid[0] ?? 0 };
}

/** A blocking connect to a unix socket path; returns the socket fd. */
export function unixConnect(path: string): number {
  return check(Number(native().cn_unix_connect(path)), 'connect', path);
}

/**
 * The kernel fd under a connected net.Socket. libuv keeps it in the handle;
 * Node has no public accessor. Reads on it must be ours alone (create servers
 * with pauseOnConnect), writes may go through either side, never both at once.
 */
export function socketFd(sock: Socket): number {
  const handle = (sock as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new ContainetError('CN_NO_FD', 'socket has no file descriptor (closed, or not a unix/TCP socket)');
  }
  return fd;
}
