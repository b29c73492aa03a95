/**
 * The HTTP/1.1 client (RFC 9112) under RegistryClient: one request per
 * connection at a time, idle connections kept per origin, bodies framed by
 * Content-Length, chunked coding or the end of the connection. Redirects,
 * authentication and retries are client.ts's.
 *
 * Why not node:http: a plain-HTTP socket here reads into reused 1 MiB
 * areas (net's `onread`, ReadAreas), and a body reaches its consumer as
 * views of them, so a blob costs no allocation and no stream machinery per
 * piece and one read(2) per few hundred KiB instead of per 64 KiB. Measured
 * on the reference machine, five blobs (49 MB) from docker-registry on
 * loopback, hashed, in a fresh process: node:http with 'data' events
 * 130-220 ms, net with 'data' events 125-155 ms, net with `onread` 70-90 ms.
 * A consumer may hold views past its call (hold/release) to write them to
 * disk as they are. HTTPS reads the same way, except through a proxy's
 * tunnel (a TLS socket over a given socket takes no `onread`), where
 * 'data' events bring chunks that are the consumer's to keep.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { connect as netConnect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { endpointOf } from '../reference.js';
import { proxyAuthorization, type ProxyChoice } from './proxy.js';

/** Response header fields by lower-case name; repeated fields joined with ", " (RFC 9110 §5.3). */
export type HttpHeaders = Record<string, string>;

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request body: bytes, or a source of them read anew for each attempt (a file, for a blob upload). */
export type RequestBody = Buffer | (() => AsyncIterable<Buffer>);

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  /** Sent after the head; the caller sets content-length. */
  body?: RequestBody;
}

export interface Http1Options {
  /** A connection with no traffic for this long fails its request. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The TLS context for HTTPS, asked for at each TLS connection; undefined: Node's. */
  secureContext?: () => SecureContext | undefined;
  /** The proxy for a URL (proxy.ts); none when absent. */
  proxyFor?: ProxyChoice;
}

const READ_AREA = 1 << 20;
/** A read(2) is given at least this much room; less left in an area starts the next. */
const MIN_READ = 64 << 10;
const MAX_HEAD = 64 << 10;
const MAX_LINE = 4 << 10;
const EMPTY = Buffer.alloc(0);
// A field name (RFC 9110 §5.1).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function httpError(message: string, code: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

const abortError = (): Error => Object.assign(new Error('the operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });

const hasToken = (value: string | undefined, token: string): boolean => value !== undefined && value.split(',').some((t) => t.trim().toLowerCase() === token);

type Framing = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailer'; left: number } | { kind: 'close' };

/** The request line and header fields, checked: a line break in a value would smuggle a field in. */
function formatRequest({ method, url, headers }: HttpRequest, proxy: URL | null): string {
  const target = proxy ? `${url.origin}${url.pathname}${url.search}` : `${url.pathname}${url.search}`;
  let text = `${method} ${target} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  const auth = proxy && proxyAuthorization(proxy);
  if (auth) text += `proxy-authorization: ${auth}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new ContainetError('MOCKER_BAD_HEADER', `refusing to send header field ${JSON.stringify(name)} to ${url.host}: its name or value is not valid HTTP`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * Where a plain-HTTP connection's reads land: successive parts of 1 MiB
 * areas (net's `onread` with a buffer function, asked before each read), so
 * a piece of a body stays as it was after its consumer returns for as long
 * as the consumer holds it. An area is read into again only once nothing
 * in it is held: a blob goes to the disk as views of what was read, where
 * it was copied into a staging area before (23 ms of CPU for 49 MB).
 */
class ReadAreas {
  #areas = new Map<ArrayBufferLike, { buf: Buffer; holds: number }>();
  #free: { buf: Buffer; holds: number }[] = [];
  #cur: { buf: Buffer; holds: number };
  #at = 0;

  constructor() {
    this.#cur = this.#add();
  }

  #add(): { buf: Buffer; holds: number } {
    // allocUnsafe of 1 MiB is never a slice of Node's shared pool: the ArrayBuffer is the area's own.
    const area = { buf: Buffer.allocUnsafe(READ_AREA), holds: 0 };
    this.#areas.set(area.buf.buffer, area);
    return area;
  }

  /** Room for the next read. */
  space(): Buffer {
    if (READ_AREA - this.#at < MIN_READ) {
      if (this.#cur.holds > 0) this.#cur = this.#free.pop() ?? this.#add();
      this.#at = 0;
    }
    return this.#cur.buf.subarray(this.#at);
  }

  /** The `n` bytes the read just put in space(). */
  took(n: number): Buffer {
    const view = this.#cur.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return view;
  }

  hold(view: Buffer): void {
    const area = this.#areas.get(view.buffer);
    if (area) area.holds++;
  }

  release(view: Buffer): void {
    const area = this.#areas.get(view.buffer);
    if (area && --area.holds === 0 && area !== this.#cur) this.#free.push(area);
  }
}

/** One request and its response, from the request line to the body's end. */
class Exchange {
  response: HttpResponse | null = null;
  sink: ((view: Buffer) => void) | null = null;
  /** Copies of body pieces that arrived before the consumer (the read area is reused). */
  early: Buffer[] = [];
  ended = false;
  error: Error | null = null;
  paused = false;
  bodyDone: { resolve: () => void; reject: (err: Error) => void } | null = null;

  constructor(
    readonly request: HttpRequest,
    readonly head: { resolve: (res: HttpResponse) => void; reject: (err: Error) => void },
  ) {}
}

/** A response whose body is read once, by consume(), read() or discard(). */
export class HttpResponse {
  readonly #conn: Connection;
  readonly #ex: Exchange;

  constructor(
    conn: Connection,
    ex: Exchange,
    readonly status: number,
    readonly statusMessage: string,
    readonly headers: HttpHeaders,
  ) {
    this.#conn = conn;
    this.#ex = ex;
  }

  /**
   * Hand every piece of the body to `sink`, which must use it before it
   * returns (it is a view of a reused area) or hold() it; resolves at the
   * body's end. A sink that throws ends the connection and the promise
   * with its error.
   */
  consume(sink: (view: Buffer) => void): Promise<void> {
    const ex = this.#ex;
    if (ex.sink || ex.bodyDone) return Promise.reject(new Error('response body consumed twice'));
    return new Promise((resolve, reject) => {
      ex.bodyDone = { resolve, reject };
      ex.sink = sink;
      while (ex.early.length > 0 && !ex.error) this.#conn.deliver(ex, ex.early.shift()!);
      if (ex.error) reject(ex.error);
      else if (ex.ended) resolve();
      else if (!ex.paused) this.#conn.resumeFor(ex);
    });
  }

  /** The whole body; more than `limit` bytes fail with `tooBig()`'s error. */
  async read(limit: number, tooBig: () => Error): Promise<Buffer> {
    const parts: Buffer[] = [];
    let n = 0;
    await this.consume((view) => {
      n += view.length;
      if (n > limit) throw tooBig();
      parts.push(Buffer.from(view));
    });
    return Buffer.concat(parts, n);
  }

  /** Read and drop the body (a redirect's or an error's), so the connection can serve again. */
  discard(): void {
    if (!this.#ex.sink) this.consume(() => {}).catch(() => {});
  }

  /** Keep a piece `sink` was given as it is until release(piece) (bounded by the reading the consumer allows: pause()). */
  hold(view: Buffer): void {
    this.#conn.areas?.hold(view);
  }

  release(view: Buffer): void {
    this.#conn.areas?.release(view);
  }

  /** Stop reading until resume(): the consumer's disk is behind. */
  pause(): void {
    this.#ex.paused = true;
    this.#conn.pauseFor(this.#ex);
  }

  resume(): void {
    this.#ex.paused = false;
    if (this.#ex.sink) this.#conn.resumeFor(this.#ex);
  }

  /** End the exchange and its connection; consume() rejects with `err`. */
  destroy(err: Error): void {
    this.#conn.fail(this.#ex, err);
  }
}

class Connection {
  readonly socket: Socket | TLSSocket;
  #pool: Http1Client;
  #ex: Exchange | null = null;
  #phase: 'idle' | 'head' | 'body' = 'idle';
  #head: Buffer | null = null;
  #framing: Framing = { kind: 'none' };
  #line = '';
  #reusable = false;
  #failure: Error | null = null;
  #timeoutMs: number;

  /**
   * `open` makes the socket, handing it the function its bytes go to;
   * `areas` is where they are read to, if not into chunks of their own.
   */
  constructor(pool: Http1Client, readonly origin: string, timeoutMs: number, open: (onBytes: (view: Buffer) => void) => Socket | TLSSocket, readonly areas: ReadAreas | null = null) {
    this.#pool = pool;
    this.#timeoutMs = timeoutMs;
    this.socket = open((view) => this.#onBytes(view));
    this.socket.setNoDelay(true);
    this.socket.on('timeout', () => this.destroy(httpError(`no data from ${origin.replace(/^\w+:\/\//, '')} for ${this.#timeoutMs / 1000} s`, 'MOCKER_TIMEOUT')));
    this.socket.on('error', (err) => {
      this.#failure ??= err;
    });
    this.socket.on('close', () => this.#onClose());
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Write the request `head` (formatRequest's) for `ex`. */
  send(ex: Exchange, head: string): void {
    if (this.socket.destroyed) {
      this.#settle(ex, this.#failure ?? httpError(`connection to ${this.origin} closed before a request`, 'ECONNRESET'));
      return;
    }
    this.#ex = ex;
    this.#phase = 'head';
    this.socket.ref();
    this.socket.setTimeout(this.#timeoutMs);
    if (this.socket.isPaused()) this.socket.resume();
    this.socket.write(head, 'latin1');
    const body = ex.request.body;
    if (Buffer.isBuffer(body)) this.socket.write(body);
    else if (body) void this.#stream(body());
  }

  /** Write a body from its source, waiting for 'drain' (the socket's backpressure). */
  async #stream(source: AsyncIterable<Buffer>): Promise<void> {
    const socket = this.socket;
    try {
      for await (const chunk of source) {
        if (socket.destroyed) return;
        if (!socket.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        }
      }
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  /** Give `view` to the exchange's consumer, or keep a copy until there is one. */
  feed(ex: Exchange, view: Buffer): void {
    if (view.length === 0 || ex.error) return;
    if (!ex.sink || ex.early.length > 0) {
      ex.early.push(Buffer.from(view));
      this.socket.pause();
      return;
    }
    this.deliver(ex, view);
  }

  /** Call the consumer; one that throws ends the exchange with its error. */
  deliver(ex: Exchange, view: Buffer): void {
    try {
      ex.sink!(view);
    } catch (err) {
      this.fail(ex, err as Error);
    }
  }

  pauseFor(ex: Exchange): void {
    if (this.#ex === ex) this.socket.pause();
  }

  resumeFor(ex: Exchange): void {
    if (this.#ex === ex && ex.early.length === 0) this.socket.resume();
  }

  /** End `ex` with `err` (if it is still running) and this connection. */
  fail(ex: Exchange, err: Error): void {
    if (this.#ex === ex) this.destroy(err);
    // Already read to its end (a consumer may still fail on copies kept for it).
    else if (!ex.error) this.#settle(ex, err);
  }

  destroy(err: Error): void {
    this.#failure ??= err;
    this.#reusable = false;
    const ex = this.#ex;
    if (ex) {
      this.#ex = null;
      this.#settle(ex, err);
    }
    this.socket.destroy();
  }

  #settle(ex: Exchange, err: Error): void {
    ex.error = err;
    if (!ex.response) ex.head.reject(err);
    else ex.bodyDone?.reject(err);
  }

  #onBytes(view: Buffer): void {
    try {
      while (view.length > 0 && this.#ex) view = this.#phase === 'head' ? this.#readHead(view) : this.#readBody(view);
      // Bytes no request asked for: the stream is out of step.
      if (view.length > 0) this.destroy(httpError(`${view.length} bytes after the end of a response from ${this.origin}`, 'MOCKER_BAD_RESPONSE'));
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  #readHead(view: Buffer): Buffer {
    const prev = this.#head;
    const buf = prev ? Buffer.concat([prev, view]) : view;
    const end = buf.indexOf('\r\n\r\n', prev ? Math.max(0, prev.length - 3) : 0);
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw httpError(`response head from ${this.origin} is larger than ${MAX_HEAD} bytes`, 'MOCKER_BAD_RESPONSE');
      this.#head = Buffer.from(buf);
      return EMPTY;
    }
    this.#head = null;
    const rest = buf.subarray(end + 4);
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: (.*))?$/.exec(lines[0]!);
    if (!m) throw httpError(`${this.origin} did not answer in HTTP/1.1 (${JSON.stringify(lines[0]!.slice(0, 40))})`, 'MOCKER_BAD_RESPONSE');
    const status = Number(m[2]);
    // 1xx: an interim response (RFC 9110 §15.2); the final one follows.
    if (status < 200) {
      if (status === 101) throw httpError(`${this.origin} switched protocols unasked`, 'MOCKER_BAD_RESPONSE');
      return rest;
    }
    const headers: HttpHeaders = Object.create(null) as HttpHeaders;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name)) throw httpError(`malformed header line from ${this.origin}: ${JSON.stringify(line.slice(0, 60))}`, 'MOCKER_BAD_RESPONSE');
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    this.#framing = this.#framingOf(status, headers);
    this.#reusable = m[1] === '1' && !hasToken(headers['connection'], 'close') && !hasToken(this.#ex!.request.headers['connection'], 'close') && this.#framing.kind !== 'close';
    const ex = this.#ex!;
    ex.response = new HttpResponse(this, ex, status, m[3] ?? '', headers);
    ex.head.resolve(ex.response);
    if (this.#framing.kind === 'none') {
      this.#finish(ex, rest.length > 0);
      return rest;
    }
    this.#phase = 'body';
    return rest;
  }

  /** RFC 9112 §6.3: how the body of this response ends. */
  #framingOf(status: number, headers: HttpHeaders): Framing {
    if (this.#ex!.request.method === 'HEAD' || status === 204 || status === 304) return { kind: 'none' };
    const te = headers['transfer-encoding'];
    if (te !== undefined) return te.split(',').at(-1)!.trim().toLowerCase() === 'chunked' ? { kind: 'chunked', state: 'size', left: 0 } : { kind: 'close' };
    const cl = headers['content-length'];
    if (cl === undefined) return { kind: 'close' };
    const values = new Set(cl.split(',').map((s) => s.trim()));
    const n = Number([...values][0]);
    if (values.size !== 1 || !/^\d{1,15}$/.test([...values][0]!)) throw httpError(`bad Content-Length from ${this.origin}: ${JSON.stringify(cl)}`, 'MOCKER_BAD_RESPONSE');
    return n === 0 ? { kind: 'none' } : { kind: 'length', left: n };
  }

  #readBody(view: Buffer): Buffer {
    const ex = this.#ex!;
    const f = this.#framing;
    if (f.kind === 'close') {
      this.feed(ex, view);
      return EMPTY;
    }
    if (f.kind === 'length') {
      const n = Math.min(f.left, view.length);
      this.feed(ex, view.subarray(0, n));
      f.left -= n;
      if (f.left === 0) this.#finish(ex, view.length > n);
      return view.subarray(n);
    }
    if (f.kind !== 'chunked') return view;
    // Chunked coding (RFC 9112 §7.1): size line, data, CRLF ... 0, trailers, CRLF.
    if (f.state === 'data') {
      const n = Math.min(f.left, view.length);
      this.feed(ex, view.subarray(0, n));
      f.left -= n;
      if (f.left === 0) f.state = 'data-end';
      return view.subarray(n);
    }
    const nl = view.indexOf(10);
    if (nl < 0) {
      this.#line += view.toString('latin1');
      if (this.#line.length > MAX_LINE) throw httpError(`chunked body from ${this.origin}: line too long`, 'MOCKER_BAD_RESPONSE');
      return EMPTY;
    }
    const line = (this.#line + view.toString('latin1', 0, nl)).replace(/\r$/, '');
    this.#line = '';
    const rest = view.subarray(nl + 1);
    if (f.state === 'data-end') {
      if (line !== '') throw httpError(`chunked body from ${this.origin}: no line end after a chunk`, 'MOCKER_BAD_RESPONSE');
      f.state = 'size';
    } else if (f.state === 'size') {
      const size = line.split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw httpError(`chunked body from ${this.origin}: bad chunk size ${JSON.stringify(size.slice(0, 20))}`, 'MOCKER_BAD_RESPONSE');
      f.left = parseInt(size, 16);
      f.state = f.left === 0 ? 'trailer' : 'data';
    } else if (line === '') {
      this.#finish(ex, rest.length > 0);
    }
    return rest;
  }

  /** The response is complete: settle it, and serve again or close. */
  #finish(ex: Exchange, extraBytes: boolean): void {
    this.#ex = null;
    this.#phase = 'idle';
    ex.ended = true;
    if (ex.sink && ex.early.length === 0) ex.bodyDone?.resolve();
    this.#pool.release(this, !this.#reusable || extraBytes);
  }

  #onClose(): void {
    this.#pool.forget(this);
    const ex = this.#ex;
    if (!ex) return;
    if (this.#phase === 'body' && this.#framing.kind === 'close' && !this.#failure) {
      this.#finish(ex, false);
      return;
    }
    this.#ex = null;
    const where = this.#phase === 'head' ? 'before a response' : 'before the end of the response';
    this.#settle(ex, this.#failure ?? httpError(`connection to ${this.origin} closed ${where}`, this.#phase === 'head' ? 'ECONNRESET' : 'MOCKER_SHORT_BODY'));
  }
}

/**
 * A connection to `host:port` through an HTTP proxy's CONNECT (RFC 9110
 * §9.3.6), for TLS to run over: what HTTPS_PROXY means to docker and skopeo.
 */
function openTunnel(proxy: URL, host: string, port: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<Socket> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const where = `proxy ${proxy.host}`;
  const auth = proxyAuthorization(proxy);
  return new Promise((resolve, reject) => {
    const socket = netConnect(endpointOf(proxy));
    let head = EMPTY;
    let settled = false;
    const done = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      // Paused before its listener goes: nothing may be read past the proxy's answer until TLS takes the socket.
      socket.pause();
      socket.off('data', onData).off('error', onError).off('close', onClose).off('timeout', onTimeout);
      signal?.removeEventListener('abort', onAbort);
      socket.setTimeout(0);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) done(httpError(`${where} answered CONNECT with a head larger than ${MAX_HEAD} bytes`, 'MOCKER_BAD_RESPONSE'));
        return;
      }
      const m = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?/.exec(head.toString('latin1', 0, end));
      const status = Number(m?.[1] ?? 0);
      if (!m) done(httpError(`${where} did not answer CONNECT in HTTP/1.1`, 'MOCKER_BAD_RESPONSE'));
      else if (status < 200 || status > 299) {
        const hint = status === 407 ? "give the proxy's credentials in its URL: HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT" : 'check HTTPS_PROXY and NO_PROXY';
        done(new ContainetError('MOCKER_PROXY', `${where} refused a tunnel to ${target}: ${status}${m[2] ? ` ${m[2]}` : ''}`, { exitCode: EXIT.network, hint }));
      } else if (end + 4 !== head.length) done(httpError(`${where} sent data into the tunnel before TLS began`, 'MOCKER_BAD_RESPONSE'));
      else done(null);
    };
    const onError = (err: NodeJS.ErrnoException): void => done(Object.assign(new Error(`${where}: ${err.message}`), { code: err.code }));
    const onClose = (): void => done(httpError(`${where} closed the connection before answering CONNECT`, 'ECONNRESET'));
    const onTimeout = (): void => done(httpError(`no answer from ${where} for ${timeoutMs / 1000} s`, 'MOCKER_TIMEOUT'));
    const onAbort = (): void => done(abortError());
    socket.on('data', onData).on('error', onError).on('close', onClose).on('timeout', onTimeout);
    socket.setTimeout(timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n${auth ? `proxy-authorization: ${auth}\r\n` : ''}\r\n`, 'latin1');
  });
}

/**
 * Whether a URL's hostname is an address: the WHATWG URL parser writes an
 * IPv6 address in brackets and an IPv4 one as a dotted quad, anything else
 * being a name. net.isIP() would say the same through a regular expression
 * for IPv6 that V8 compiles on first use (6-8 ms of a pull's start-up).
 */
const isAddressLiteral = (hostname: string): boolean => hostname.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);

/** Connections to any number of origins; close() ends them all. */
export class Http1Client {
  #opts: Http1Options;
  #idle = new Map<string, Connection[]>();
  #all = new Set<Connection>();
  /**
   * The last TLS session (ticket) each origin gave us: a new connection to
   * it resumes that session (RFC 8446 §2.2) instead of a full handshake,
   * which matters when a pull opens a connection per parallel layer.
   */
  #tlsSessions = new Map<string, Buffer>();
  /** Each host name's addresses, looked up once per client (resolve()). */
  #addresses = new Map<string, Promise<LookupAddress[]>>();
  #closed = false;
  #onAbort = (): void => this.#destroyAll(abortError());

  constructor(opts: Http1Options) {
    this.#opts = opts;
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Resolves with the response head; its body is then the caller's to read. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    if (this.#closed) throw httpError('HTTP client is closed', 'MOCKER_CLOSED');
    if (this.#opts.signal?.aborted) throw abortError();
    const proxy = this.#opts.proxyFor?.(req.url) ?? null;
    // Plain HTTP through a proxy names the whole URL (RFC 9112 §3.2.2); HTTPS goes through a tunnel.
    const head = formatRequest(req, req.url.protocol === 'http:' ? proxy : null);
    const origin = `${req.url.protocol}//${req.url.host}`;
    const idle = this.#idle.get(origin);
    let conn = idle?.pop();
    while (conn?.closed) conn = idle?.pop();
    conn ??= await this.#open(req.url, origin, proxy);
    const ready = conn;
    return new Promise((resolve, reject) => ready.send(new Exchange(req, { resolve, reject }), head));
  }

  /**
   * Where to connect for `url`: its address, and for a name with several
   * addresses a `lookup` that hands net.connect the ones found here, so
   * its Happy Eyeballs (RFC 8305, autoSelectFamily) still races them.
   */
  async #target(url: URL): Promise<{ host: string; lookup?: typeof dnsLookup }> {
    const { host } = endpointOf(url);
    if (isAddressLiteral(url.hostname)) return { host };
    const addresses = await this.#resolve(host);
    if (this.#opts.signal?.aborted) throw abortError();
    if (addresses.length === 1) return { host: addresses[0]!.address };
    // All of them when net.connect races them, else (autoSelectFamily off) the first, as dns.lookup answers each.
    const lookup = ((_name: string, opts: { all?: boolean }, cb: (err: null, ...found: unknown[]) => void) =>
      opts.all ? cb(null, addresses) : cb(null, addresses[0]!.address, addresses[0]!.family)) as unknown as typeof dnsLookup;
    return { host, lookup };
  }

  /**
   * A name's addresses as net.connect finds them (dns.lookup, the system's
   * resolver and order), once per client: the connections a pull opens in
   * parallel go to the same host. A failed lookup is not kept.
   */
  #resolve(name: string): Promise<LookupAddress[]> {
    let found = this.#addresses.get(name);
    if (!found) {
      found = new Promise((resolve, reject) => dnsLookup(name, { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));
      this.#addresses.set(name, found);
      found.catch(() => this.#addresses.delete(name));
    }
    return found;
  }

  async #open(url: URL, origin: string, proxy: URL | null): Promise<Connection> {
    const { timeoutMs, signal } = this.#opts;
    let open: (onBytes: (view: Buffer) => void) => Socket | TLSSocket;
    let areas: ReadAreas | null = null;
    if (url.protocol === 'https:') {
      const { host, port } = endpointOf(url);
      // The name is looked up (libuv's pool) while node:tls loads and the
      // context is made (its root store parsed on the first connection).
      const target = proxy ? null : this.#target(url);
      target?.catch(() => {});
      const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
      const secureContext = this.#opts.secureContext?.();
      const socket = proxy ? await openTunnel(proxy, host, port, timeoutMs, signal) : undefined;
      const to = target ? await target : { host };
      const name = isAddressLiteral(url.hostname) ? undefined : host;
      const session = this.#tlsSessions.get(origin);
      // Without a tunnel, TLS reads land in ReadAreas as plain ones do
      // (tls.connect's `onread`, which it takes only when it makes the TCP
      // socket itself): each 16 KiB record is copied there and handed over
      // without a Buffer of its own and a Readable 'data' event apiece.
      const reads = socket ? null : (areas = new ReadAreas());
      open = (onBytes) => {
        const onread = reads ? { buffer: () => reads.space(), callback: (n: number) => (onBytes(reads.took(n)), true) } : undefined;
        const tlsSocket = tls
          .connect({
            socket,
            ...to,
            port,
            // The certificate is checked against the registry's name
            // whatever address was dialled (RFC 9110 §4.3.4).
            checkServerIdentity: (_dialled: string, cert: PeerCertificate) => tls.checkServerIdentity(name ?? host, cert),
            // Through a tunnel, tls.connect starts the handshake before it returns.
            ...(socket && name !== undefined ? { servername: name } : {}),
            secureContext,
            ALPNProtocols: ['http/1.1'],
            session,
            ...(onread ? { onread } : {}),
          })
          .on('session', (ticket: Buffer) => void this.#tlsSessions.set(origin, ticket));
        // SNI (RFC 6066 §3: names only), set before the ClientHello, which
        // leaves once the TCP connection is up. Given as the `servername`
        // option, tls.connect would first run the name through net.isIP().
        if (!socket && name !== undefined) (tlsSocket as TLSSocket & { setServername(name: string): void }).setServername(name);
        return reads ? tlsSocket : tlsSocket.on('data', onBytes);
      };
    } else {
      const { port } = endpointOf(proxy ?? url);
      const to = await this.#target(proxy ?? url);
      const reads = (areas = new ReadAreas());
      open = (onBytes) =>
        netConnect({
          ...to,
          port,
          onread: {
            buffer: () => reads.space(),
            callback: (n: number) => {
              onBytes(reads.took(n));
              return true;
            },
          },
        });
    }
    const conn = new Connection(this, origin, timeoutMs, open, areas);
    this.#all.add(conn);
    if (this.#closed) conn.destroy(httpError('HTTP client closed', 'MOCKER_CLOSED'));
    return conn;
  }

  /** Called by a connection whose exchange ended. */
  release(conn: Connection, close: boolean): void {
    if (close || this.#closed) {
      conn.socket.destroy();
      return;
    }
    // An idle connection neither keeps the process alive nor times out; it is read so a close by the server is seen.
    conn.socket.setTimeout(0);
    conn.socket.unref();
    conn.socket.resume();
    const list = this.#idle.get(conn.origin) ?? [];
    list.push(conn);
    this.#idle.set(conn.origin, list);
  }

  forget(conn: Connection): void {
    this.#all.delete(conn);
    const list = this.#idle.get(conn.origin);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /** Ends every connection; requests still running fail. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#destroyAll(httpError('HTTP client closed', 'MOCKER_CLOSED'));
  }

  #destroyAll(err: Error): void {
    for (const conn of [...this.#all]) conn.destroy(err);
    this.#idle.clear();
  }
}
