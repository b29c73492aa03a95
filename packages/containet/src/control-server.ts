/**
 * The control socket: a unix stream socket whose connections libuv never
 * reads (pauseOnConnect). We read them with recvmsg() so a tap fd sent with
 * SCM_RIGHTS arrives with the frame it belongs to (framing.ts), on readiness
 * from an FdPoller. Replies go out through the net.Socket.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import {
  ContainetError,
  FrameDecoder,
  closeFd,
  encodeFrame,
  peerCred,
  recvWithFd,
  socketFd,
  type ErrorBody,
  type FdPoller,
  type PeerCred,
} from '@containet/common';

export interface Connection {
  readonly id: number;
  readonly cred: PeerCred;
  /** Send one message (a reply or an event); dropped once closed. */
  send(message: Record<string, unknown>): void;
  readonly closed: boolean;
}

/** Handles one request; returns the reply body (without id/ok) or throws. */
export type RequestHandler = (
  request: Record<string, unknown>,
  fd: number,
  conn: Connection,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface ControlServerOptions {
  poller: FdPoller;
  handler: RequestHandler;
  /** Also let members of this group in (socket mode 0660). */
  group?: { gid: number; name: string } | undefined;
  onClose?: (conn: Connection) => void;
  log?: (line: string) => void;
}

/** Reply body for an error; ContainetErrors keep their code and hint. */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof ContainetError) {
    return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  }
  return { code: 'CN_INTERNAL', message: (err as Error)?.message ?? String(err) };
}

/**
 * Make `path` free for a new daemon: a socket nobody answers on (a crashed
 * daemon's) is removed; a live one or a non-socket file is refused.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new ContainetError('CN_SOCKET_IN_USE', `${path} exists and is not a socket`, {
      hint: 'choose another path with -s, or remove the file if it is yours',
    });
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new ContainetError('CN_SWITCH_RUNNING', `another containet is already serving ${path}`, {
      hint: 'stop it first, or choose another socket path with -s',
    });
  }
  unlinkSync(path);
}

const MAX_QUEUED = 1 << 20;

class ClientConnection implements Connection {
  readonly id: number;
  readonly cred: PeerCred;
  readonly fd: number;
  readonly sock: Socket;
  readonly decoder = new FrameDecoder(closeFd);
  closed = false;

  constructor(id: number, sock: Socket, fd: number, cred: PeerCred) {
    this.id = id;
    this.sock = sock;
    this.fd = fd;
    this.cred = cred;
  }

  send(message: Record<string, unknown>): void {
    if (this.closed) return;
    // A subscriber that stops reading must not grow our memory: events are
    // dropped while a megabyte is queued (replies always go out).
    if ('event' in message && this.sock.writableLength > MAX_QUEUED) return;
    this.sock.write(encodeFrame(message));
  }
}

export class ControlServer {
  readonly path: string;
  #server: Server;
  #opts: ControlServerOptions;
  #conns = new Map<number, ClientConnection>();
  #nextId = 1;
  #closed = false;
  #log: (line: string) => void;

  private constructor(path: string, server: Server, opts: ControlServerOptions) {
    this.path = path;
    this.#server = server;
    this.#opts = opts;
    this.#log = opts.log ?? (() => {});
    server.on('connection', (sock) => this.#accept(sock));
  }

  /** Claim `path` (see claimSocketPath) and listen on it, mode 0600 (0660 with a group). */
  static async listen(path: string, opts: ControlServerOptions): Promise<ControlServer> {
    await claimSocketPath(path);
    const server = createServer({ pauseOnConnect: true });
    const mode = opts.group ? 0o660 : 0o600;
    // The socket must never exist with wider permissions, not even between
    // bind() and chmod(): bind() honours the umask (unix(7)).
    const oldMask = process.umask(0o777 & ~mode);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(new ContainetError('CN_LISTEN', `cannot listen on ${path}: ${err.code ?? err.message}`, { cause: err })),
        );
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, mode);
    if (opts.group) chownSync(path, process.getuid?.() ?? 0, opts.group.gid);
    return new ControlServer(path, server, opts);
  }

  get connections(): Connection[] {
    return [...this.#conns.values()];
  }

  /** Stop listening, drop every connection, remove the socket file. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [...this.#conns.values()]) this.#drop(conn);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone (net.Server removes it on close on some versions)
    }
  }

  #allowed(cred: PeerCred): boolean {
    if (cred.uid === 0 || cred.uid === process.getuid?.()) return true;
    return this.#opts.group !== undefined && cred.gid === this.#opts.group.gid;
  }

  #accept(sock: Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    let fd: number;
    let cred: PeerCred;
    try {
      fd = socketFd(sock);
      cred = peerCred(fd);
    } catch (err) {
      this.#log(`control: dropping a connection: ${(err as Error).message}`);
      sock.destroy();
      return;
    }
    sock.on('error', () => {}); // a peer gone mid-write; the poller sees EOF
    if (!this.#allowed(cred)) {
      this.#log(`control: refused uid ${cred.uid} (pid ${cred.pid})`);
      sock.end(
        encodeFrame({
          id: 0,
          ok: false,
          error: {
            code: 'CN_PERMISSION',
            message: `uid ${cred.uid} may not use containet at ${this.path}`,
            hint: 'run as root or as the daemon owner, or start containet with --group',
          },
        }),
        () => sock.destroy(),
      );
      return;
    }
    const conn = new ClientConnection(this.#nextId++, sock, fd, cred);
    this.#conns.set(conn.id, conn);
    this.#opts.poller.add(fd, () => this.#readable(conn));
  }

  #readable(conn: ClientConnection): void {
    // Level-triggered: read what is there now; the poller calls again.
    for (let i = 0; i < 16 && !conn.closed; i++) {
      let got;
      try {
        got = recvWithFd(conn.fd);
      } catch (err) {
        this.#log(`control: connection ${conn.id}: ${(err as Error).message}`);
        this.#drop(conn);
        return;
      }
      if (got === null) return;
      if (got.data.length === 0) {
        if (conn.decoder.buffered > 0) {
          this.#log(`control: connection ${conn.id} closed in the middle of a message (${conn.decoder.buffered} bytes dropped)`);
        }
        this.#drop(conn);
        return;
      }
      let frames;
      try {
        frames = conn.decoder.push(got.data, got.fd);
      } catch (err) {
        // The stream cannot be resynchronised: say why, then hang up.
        conn.send({ id: 0, ok: false, error: errorBody(err) });
        this.#log(`control: connection ${conn.id}: ${(err as Error).message}`);
        this.#drop(conn, true);
        return;
      }
      for (const frame of frames) this.#dispatch(conn, frame.message, frame.fd);
    }
  }

  #dispatch(conn: ClientConnection, message: unknown, fd: number): void {
    const request = message !== null && typeof message === 'object' && !Array.isArray(message) ? (message as Record<string, unknown>) : null;
    const id = request && typeof request['id'] === 'number' ? request['id'] : 0;
    const reply = (body: Record<string, unknown>) => conn.send({ ...body, id });
    const fail = (err: unknown) => reply({ ok: false, error: errorBody(err) });
    if (!request || typeof request['op'] !== 'string') {
      if (fd >= 0) closeFd(fd);
      fail(new ContainetError('CN_BAD_REQUEST', 'a request is a JSON object with a string "op" and a numeric "id"'));
      return;
    }
    let result;
    try {
      result = this.#opts.handler(request, fd, conn);
    } catch (err) {
      fail(err);
      return;
    }
    if (result instanceof Promise) result.then((body) => reply({ ...body, ok: true }), fail);
    else reply({ ...result, ok: true });
  }

  #drop(conn: ClientConnection, flush = false): void {
    if (conn.closed) return;
    this.#opts.poller.delete(conn.fd);
    conn.decoder.reset();
    conn.closed = true;
    this.#conns.delete(conn.id);
    if (flush) conn.sock.end(() => conn.sock.destroy());
    else conn.sock.destroy();
    this.#opts.onClose?.(conn);
  }
}
