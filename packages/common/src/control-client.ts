/**
 * Client side of the containet control socket, used by containode (attach)
 * and by the management commands. Replies and events arrive through libuv;
 * descriptors are sent with sendmsg() on the same socket (sendWithFd).
 * Every reply is decoded into its operation's type (protocol-decode.ts);
 * listings that come in parts are put back together here.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { ContainetError } from './errors.js';
import { sendWithFd, socketFd, closeFd } from './fdpass.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { decodeEvent, decodeRefusal, decodeReply, isControlOp } from './protocol-decode.js';
import { LISTING_KEYS, type ControlEvent, type ReplyOf, type RequestBody } from './protocol.js';

export interface ControlClientOptions {
  /** How long a request may wait for its reply (for a listing: for each part). */
  timeoutMs?: number;
  /** Called for every pushed event message. */
  onEvent?: (event: ControlEvent) => void;
  /** Called once when the connection ends (the daemon went away or close()). */
  onClose?: () => void;
  /**
   * Say hello on connect (default true): connect() then resolves only once
   * the daemon has accepted this peer, and a refusal (permissions, too many
   * connections) rejects it with the daemon's reason.
   */
  hello?: boolean;
}

type Pending = {
  op: string;
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** A listing's parts so far. */
  parts?: unknown[];
};

/** The group a socket of mode 0660 lets in, by name when /etc/group has it. */
function socketGroup(path: string): string | undefined {
  try {
    const st = statSync(path);
    if ((st.mode & 0o060) === 0) return undefined;
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name && Number(gid) === st.gid) return name;
    }
    return String(st.gid);
  } catch {
    return undefined;
  }
}

/**
 * Why a peer may not use the socket at `path`, as the CLI tells it: root
 * only, or root and one group (SO_PEERCRED, see containet's README). The
 * daemon says it when it refuses a peer; a client says it when connect()
 * fails with EACCES (the socket's mode kept it out).
 */
export function permissionError(path: string, opts: { group?: string | null; cause?: unknown } = {}): ContainetError {
  // The daemon knows its group (null: none); a client reads it off the socket.
  const group = opts.group === undefined ? socketGroup(path) : (opts.group ?? undefined);
  const cause = opts.cause;
  return group === undefined
    ? new ContainetError('CN_PERMISSION', `${path} is root-only; start containet with --group GROUP to allow a group`, { cause })
    : new ContainetError('CN_PERMISSION', `${path} is for root and group ${group} only`, {
        hint: `run as root, or as a user whose primary group is ${group} (e.g. sg ${group} -c '...')`,
        cause,
      });
}

export class ControlClient {
  readonly path: string;
  #sock: Socket;
  #decoder = new FrameDecoder(closeFd);
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #closed = false;
  #timeoutMs: number;
  /** Why the daemon ended the connection, when it said. */
  #refusal: ContainetError | undefined;

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
      for (const { message } of frames) this.#dispatch(message, opts);
    });
    sock.on('error', () => {}); // surfaced through 'close' and failed requests
    sock.on('close', () => {
      this.#closed = true;
      this.#failPending(this.#refusal ?? new ContainetError('CN_SWITCH_GONE', `containet at ${path} closed the connection`));
      opts.onClose?.();
    });
  }

  /**
   * Connect to the switch at `path`; fails with CN_SWITCH_UNREACHABLE,
   * CN_PERMISSION, or the daemon's refusal.
   */
  static async connect(path: string, opts: ControlClientOptions = {}): Promise<ControlClient> {
    const client = await new Promise<ControlClient>((resolve, reject) => {
      const sock = connect(path);
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EACCES' || err.code === 'EPERM') {
          reject(permissionError(path, { cause: err }));
          return;
        }
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
    if (opts.hello !== false) {
      try {
        await client.request({ op: 'hello' });
      } catch (err) {
        client.destroy();
        throw err;
      }
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Send one request (an `id` is added) with an optional fd; resolve with
   * the reply body, decoded and checked for its operation (a listing put
   * together from its parts); a refusal rejects with the daemon's code and
   * message.
   */
  request<B extends RequestBody>(body: B, fd = -1): Promise<ReplyOf<B['op']>> {
    return this.#send(body, fd) as Promise<ReplyOf<B['op']>>;
  }

  /**
   * Send anything as a request, for tests of the daemon's handling of
   * requests the protocol does not declare; an undeclared operation's
   * reply comes back unchecked.
   */
  requestUnchecked(body: object, fd = -1): Promise<unknown> {
    return this.#send(body, fd);
  }

  #send(body: object, fd: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#refusal ?? new ContainetError('CN_CLOSED', 'control connection is closed'));
    const id = this.#nextId++;
    const op = String((body as { op?: unknown }).op);
    let frame: Buffer;
    try {
      frame = encodeFrame({ ...body, id });
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { op, resolve, reject, timer: this.#timer(id, op) };
      this.#pending.set(id, pending);
      try {
        if (fd >= 0) sendWithFd(socketFd(this.#sock), frame, fd);
        else this.#sock.write(frame);
      } catch (err) {
        clearTimeout(pending.timer);
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

  #timer(id: number, op: string): NodeJS.Timeout {
    return setTimeout(() => {
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      p.reject(new ContainetError('CN_SWITCH_TIMEOUT', `containet at ${this.path} did not answer ${op} within ${this.#timeoutMs} ms`));
    }, this.#timeoutMs);
  }

  #dispatch(message: unknown, opts: ControlClientOptions): void {
    if (message !== null && typeof message === 'object' && 'event' in message) {
      let event: ControlEvent;
      try {
        event = decodeEvent(message);
      } catch {
        return; // an event this side does not know: not ours to act on
      }
      opts.onEvent?.(event);
      return;
    }
    let refusal;
    try {
      refusal = decodeRefusal(message);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (refusal) {
      this.#refusal = new ContainetError(refusal.code, refusal.message, { hint: refusal.hint });
      this.#failPending(this.#refusal);
      return;
    }
    const id = (message as { id?: unknown } | null)?.id;
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (!pending) return;
    let reply: Record<string, unknown>;
    try {
      reply = (isControlOp(pending.op) ? decodeReply(pending.op, message) : message) as Record<string, unknown>;
    } catch (err) {
      this.#pending.delete(id as number);
      clearTimeout(pending.timer);
      pending.reject(err as Error);
      return;
    }
    if (reply['ok'] === false) {
      this.#pending.delete(id as number);
      clearTimeout(pending.timer);
      const error = reply['error'] as { code: string; message: string; hint?: string };
      pending.reject(new ContainetError(error.code, error.message, { hint: error.hint }));
      return;
    }
    const key = (LISTING_KEYS as Record<string, string>)[pending.op];
    if (key !== undefined) {
      const part = reply[key] as unknown[];
      if (pending.parts) for (const item of part) pending.parts.push(item);
      else pending.parts = part;
      if (reply['more'] === true) {
        clearTimeout(pending.timer);
        pending.timer = this.#timer(id as number, pending.op);
        return;
      }
      reply = { ...reply, [key]: pending.parts };
    }
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    const { id: _id, ok: _ok, more: _more, ...body } = reply;
    pending.resolve(isControlOp(pending.op) ? body : reply);
  }

  #failPending(err: Error): void {
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
  }
}
