/**
 * The control socket: a unix stream socket whose connections libuv never
 * reads (pauseOnConnect). We read them with recvmsg() so a tap fd sent with
 * SCM_RIGHTS arrives with the frame it belongs to (framing.ts), on readiness
 * from an FdPoller; each frame is decoded into a typed request
 * (protocol-decode.ts) before a handler sees it. Replies go out through the
 * net.Socket, bounded per connection (control-connection.ts).
 *
 * Connections are bounded too. A connection that holds something (a port
 * it attached, a subscription, a capture) is bounded by what it holds. The
 * others are at most `idleConnections`: when one more arrives, the oldest
 * that has nothing in flight is closed (with a refusal saying why), so a
 * storm of idle connections never keeps a container from attaching. A
 * connection that sends nothing within `handshakeMs`, or holds nothing and
 * stays silent for `idleMs`, is closed.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import {
  ContainetError,
  closeFd,
  decodeRequest,
  encodeFrame,
  peerCred,
  permissionError,
  recvWithFd,
  requestId,
  socketFd,
  type ControlRequest,
  type ErrorBody,
  type FdPoller,
  type PeerCred,
} from '@containet/common';
import { ControlConnection, Listing, type Connection, type ConnectionLimits } from './control-connection.js';
import { ThrottledLog } from './throttled-log.js';
import { ListingGate } from './listing-gate.js';

export type { Connection } from './control-connection.js';
export { Listing } from './control-connection.js';

/** Handles one decoded request: a reply body, a Listing, or a throw (sent as an error reply). */
export type RequestHandler = (request: ControlRequest, fd: number, conn: Connection) => object | Listing | Promise<object>;

export interface ControlLimits extends ConnectionLimits {
  /** Connections holding nothing; one more closes the oldest idle one. */
  idleConnections: number;
  /** A new connection's first request must come within this. */
  handshakeMs: number;
  /** A connection holding nothing is closed after this long without a request. */
  idleMs: number;
  /** A listing whose peer takes nothing for this long drops the connection. */
  listingStallMs: number;
  /** Listings being sent at once (each holds its list); more wait their turn. */
  concurrentListings: number;
}

/** Refused connections kept open half a second at most at once. */
const LINGERING_MAX = 256;

/** Requests of one connection handled per turn of the event loop. */
const FRAMES_PER_TURN = 32;

export const DEFAULT_CONTROL_LIMITS: ControlLimits = {
  queuedBytes: 512 * 1024,
  listingLowWater: 64 * 1024,
  idleConnections: 256,
  handshakeMs: 10_000,
  idleMs: 300_000,
  listingStallMs: 5_000,
  concurrentListings: 4,
};

export interface ControlServerOptions {
  poller: FdPoller;
  handler: RequestHandler;
  /** Whether a connection holds a port, a subscription or a capture (never closed for room or silence). */
  holds?: (conn: Connection) => boolean;
  /** Also let members of this group in (socket mode 0660). */
  group?: { gid: number; name: string } | undefined;
  onClose?: (conn: Connection) => void;
  log?: (line: string) => void;
  limits?: Partial<ControlLimits>;
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

export class ControlServer {
  readonly path: string;
  readonly limits: ControlLimits;
  /** Connections refused (credentials, room) and dropped (limits, timeouts) since start. */
  refused = 0;
  dropped = 0;
  #server: Server;
  #opts: ControlServerOptions;
  #conns = new Map<number, ControlConnection>();
  #nextId = 1;
  #closed = false;
  #log: (line: string) => void;
  #refusals: ThrottledLog;
  #drops: ThrottledLog;
  #protocolErrors: ThrottledLog;
  #sweep: NodeJS.Timeout;
  #listings: ListingGate;
  /** Refused sockets waiting to be closed (see #refuse). */
  #lingering = 0;

  private constructor(path: string, server: Server, opts: ControlServerOptions) {
    this.path = path;
    this.#server = server;
    this.#opts = opts;
    this.limits = { ...DEFAULT_CONTROL_LIMITS, ...opts.limits };
    this.#listings = new ListingGate(this.limits.concurrentListings);
    this.#log = opts.log ?? (() => {});
    this.#refusals = new ThrottledLog(this.#log);
    this.#drops = new ThrottledLog(this.#log);
    this.#protocolErrors = new ThrottledLog(this.#log);
    server.on('connection', (sock) => this.#accept(sock));
    this.#sweep = setInterval(() => this.#closeSilent(), 1000);
    this.#sweep.unref();
  }

  /** Claim `path` (see claimSocketPath) and listen on it, mode 0600 (0660 with a group). */
  static async listen(path: string, opts: ControlServerOptions): Promise<ControlServer> {
    await claimSocketPath(path);
    // A listen backlog beyond the default 511: connection storms are met by
    // closing idle connections, which needs them accepted first.
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
        server.listen({ path, backlog: 4096 }, () => resolve());
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

  get connectionCount(): number {
    return this.#conns.size;
  }

  /** Stop listening, drop every connection, remove the socket file. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
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

  #holds(conn: ControlConnection): boolean {
    return this.#opts.holds?.(conn) ?? false;
  }

  /**
   * Say why, then close: the peer reads one error frame with id 0. Only our
   * side is shut at once; the socket goes half a second later, so that a
   * peer writing its first request meanwhile (ControlClient's hello) gets no
   * EPIPE, which would make it drop the reason unread.
   */
  #refuse(sock: Socket, error: ErrorBody): void {
    sock.end(encodeFrame({ id: 0, ok: false, error }));
    // In a storm of refusals the fds matter more: beyond LINGERING_MAX the
    // socket goes at once (the reason is in the peer's receive queue already).
    if (this.#lingering >= LINGERING_MAX) {
      sock.destroy();
      return;
    }
    this.#lingering++;
    setTimeout(() => {
      this.#lingering--;
      sock.destroy();
    }, 500).unref();
  }

  #accept(sock: Socket): void {
    if (this.#closed) {
      sock.destroy();
      return;
    }
    sock.on('error', () => {}); // a peer gone mid-write; the poller sees EOF
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
    if (!this.#allowed(cred)) {
      this.refused++;
      this.#refusals.line(`control: refused pid ${cred.pid} uid ${cred.uid}: not root, the owner or the socket's group`);
      const why = permissionError(this.path, { group: this.#opts.group?.name ?? null });
      this.#refuse(sock, { code: why.code, message: why.message, ...(why.hint ? { hint: why.hint } : {}) });
      return;
    }
    if (!this.#makeRoom(cred)) {
      this.#refuse(sock, this.#tooMany());
      return;
    }
    const conn = new ControlConnection(this.#nextId++, sock, fd, cred, this.limits, (c, why) => this.#dropFor(c, why), this.#log);
    this.#conns.set(conn.id, conn);
    sock.once('close', () => this.#drop(conn));
    this.#watch(conn);
  }

  #tooMany(): ErrorBody {
    return {
      code: 'CN_TOO_MANY_CONNECTIONS',
      message: `containet at ${this.path} has ${this.limits.idleConnections} connections that hold nothing`,
      hint: 'close idle connections; attaching containers, subscribers and captures are not counted',
    };
  }

  /**
   * Room for one more connection from `cred`: when the connections holding
   * nothing are at the limit, close the oldest of them with nothing in
   * flight. False when there is none to close.
   */
  #makeRoom(cred: PeerCred): boolean {
    if (this.#conns.size < this.limits.idleConnections) return true;
    let idle = 0;
    let victim: ControlConnection | undefined;
    for (const c of this.#conns.values()) {
      if (this.#holds(c)) continue;
      idle++;
      if (!victim && c.inFlight === 0 && c.listingSince === 0) victim = c;
    }
    if (idle < this.limits.idleConnections) return true;
    this.refused++;
    if (!victim) {
      this.#refusals.line(`control: refused pid ${cred.pid} uid ${cred.uid}: ${idle} connections hold nothing (limit ${this.limits.idleConnections}), all busy`);
      return false;
    }
    this.#refusals.line(
      `control: ${idle} connections hold nothing (limit ${this.limits.idleConnections}): closed the oldest idle one, ${victim.name}, for pid ${cred.pid} uid ${cred.uid}`,
    );
    this.#drop(victim, this.#tooMany());
    return true;
  }

  /** Handshake and idle timeouts, stalled listings. */
  #closeSilent(): void {
    const now = Date.now();
    for (const c of [...this.#conns.values()]) {
      // A listing waiting for its turn is not stalled; one being sent that the peer does not take is.
      if (c.listingSince !== 0 && !c.listingQueued && now - c.listingSince > this.limits.listingStallMs) {
        this.#dropFor(c, `took nothing of a listing for ${this.limits.listingStallMs} ms`);
        continue;
      }
      if (c.inFlight > 0 || c.listingSince !== 0 || this.#holds(c)) continue;
      if (c.lastRequestAt === 0 && now - c.openedAt > this.limits.handshakeMs) {
        this.#dropFor(c, `sent no request within ${this.limits.handshakeMs} ms`, { code: 'CN_TIMEOUT', message: `no request within ${this.limits.handshakeMs} ms` });
      } else if (c.lastRequestAt !== 0 && now - c.lastRequestAt > this.limits.idleMs) {
        this.#dropFor(c, `idle for ${this.limits.idleMs} ms holding nothing`, { code: 'CN_TIMEOUT', message: `idle for ${this.limits.idleMs} ms` });
      }
    }
  }

  #dropFor(conn: ControlConnection, why: string, tell?: ErrorBody): void {
    if (conn.closed) return;
    this.dropped++;
    this.#drops.line(`control: dropped ${conn.name}: ${why}`);
    this.#drop(conn, tell);
  }

  #readable(conn: ControlConnection): void {
    // Level-triggered: read what is there now; the poller calls again.
    // What was read is handled first, a few frames per turn of the event
    // loop, so one connection's burst of requests cannot hold up the others.
    if (conn.backlog.length > 0) {
      this.#handleBacklog(conn);
      return;
    }
    for (let i = 0; i < 4 && !conn.closed && conn.listingSince === 0 && conn.backlog.length === 0; i++) {
      let got;
      try {
        got = recvWithFd(conn.fd);
      } catch (err) {
        this.#log(`control: ${conn.name}: ${(err as Error).message}`);
        this.#drop(conn);
        return;
      }
      if (got === null) return;
      if (got.data.length === 0) {
        if (got.fd >= 0) closeFd(got.fd);
        if (conn.decoder.buffered > 0) {
          this.#protocolErrors.line(`control: ${conn.name} closed in the middle of a message (${conn.decoder.buffered} bytes dropped)`);
        }
        this.#drop(conn);
        return;
      }
      let frames;
      try {
        frames = conn.decoder.push(got.data, got.fd);
      } catch (err) {
        // The stream cannot be resynchronised: say why, then hang up.
        this.#protocolErrors.line(`control: ${conn.name}: ${(err as Error).message}`);
        this.#drop(conn, errorBody(err));
        return;
      }
      for (const f of frames) conn.backlog.push(f);
      this.#handleBacklog(conn);
    }
  }

  /**
   * Handle up to FRAMES_PER_TURN of the frames read so far, stopping at a
   * listing until it is sent; the rest wait for the next turn.
   */
  #handleBacklog(conn: ControlConnection): void {
    for (let n = 0; n < FRAMES_PER_TURN && !conn.closed && conn.listingSince === 0; n++) {
      const frame = conn.backlog.shift();
      if (!frame) return;
      this.#dispatch(conn, frame.message, frame.fd);
    }
    if (conn.closed) this.#closeBacklogFds(conn);
    else if (conn.backlog.length > 0 && conn.listingSince === 0 && !conn.turnScheduled) {
      // The socket may have nothing more to read, so the poller may not call again.
      conn.turnScheduled = true;
      setImmediate(() => {
        conn.turnScheduled = false;
        if (!conn.closed && conn.listingSince === 0) this.#handleBacklog(conn);
      });
    }
  }

  #closeBacklogFds(conn: ControlConnection): void {
    for (const f of conn.backlog.splice(0)) if (f.fd >= 0) closeFd(f.fd);
  }

  #dispatch(conn: ControlConnection, message: unknown, fd: number): void {
    conn.lastRequestAt = Date.now();
    const id = requestId(message);
    let request: ControlRequest;
    try {
      request = decodeRequest(message);
    } catch (err) {
      if (fd >= 0) closeFd(fd);
      conn.send({ id, ok: false, error: errorBody(err) });
      return;
    }
    let result;
    try {
      result = this.#opts.handler(request, fd, conn);
    } catch (err) {
      conn.send({ id, ok: false, error: errorBody(err) });
      return;
    }
    if (result instanceof Listing) {
      this.#startListing(conn, id, result);
      return;
    }
    if (result instanceof Promise) {
      conn.inFlight++;
      result.then(
        (body: object) => conn.send({ ...body, id, ok: true }),
        (err: unknown) => conn.send({ id, ok: false, error: errorBody(err) }),
      ).finally(() => conn.inFlight--);
      return;
    }
    conn.send({ ...result, id, ok: true });
  }

  /**
   * Send a listing once fewer than `concurrentListings` are going out;
   * the connection is not read meanwhile (its requests wait in the kernel).
   */
  #startListing(conn: ControlConnection, id: number, listing: Listing): void {
    conn.listingSince = Date.now();
    // Level-triggered readiness would call us for the unread input all along.
    this.#unwatch(conn);
    conn.listingQueued = true;
    const run = () => {
      conn.listingQueued = false;
      if (conn.closed) {
        this.#listings.done();
        return;
      }
      let items: readonly unknown[];
      try {
        items = listing.items();
      } catch (err) {
        conn.listingSince = 0;
        conn.send({ id, ok: false, error: errorBody(err) });
        this.#listings.done();
        this.#resume(conn);
        return;
      }
      conn.sendListing(id, listing.key, items).then(() => {
        this.#listings.done();
        this.#resume(conn);
      });
    };
    this.#listings.enter(run);
  }

  /** A listing is out: handle what was read behind it, and read on. */
  #resume(conn: ControlConnection): void {
    if (conn.closed) return;
    this.#handleBacklog(conn);
    // A listing may have started and ended within #handleBacklog: its own
    // #resume comes later, and watches the connection once, as here.
    if (conn.listingSince !== 0 || conn.closed) return;
    this.#watch(conn);
  }

  #watch(conn: ControlConnection): void {
    if (conn.watched) return;
    try {
      this.#opts.poller.add(conn.fd, () => this.#readable(conn));
      conn.watched = true;
    } catch (err) {
      this.#log(`control: ${conn.name}: cannot watch it: ${(err as Error).message}`);
      this.#drop(conn);
    }
  }

  #unwatch(conn: ControlConnection): void {
    if (!conn.watched) return;
    this.#opts.poller.delete(conn.fd);
    conn.watched = false;
  }

  #drop(conn: ControlConnection, tell?: ErrorBody): void {
    if (conn.closed) return;
    this.#unwatch(conn);
    conn.decoder.reset();
    conn.closed = true;
    this.#closeBacklogFds(conn);
    this.#conns.delete(conn.id);
    if (tell) this.#refuse(conn.sock, tell);
    else conn.sock.destroy();
    try {
      this.#opts.onClose?.(conn);
    } catch (err) {
      this.#log(`control: ${conn.name}: cleaning up after it: ${(err as Error).message}`);
    }
  }
}
