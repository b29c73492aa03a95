/**
 * Attaching a tap made in another process: the switch takes the tap's fd
 * with the first byte of an `attach` frame (SCM_RIGHTS). The netns helper
 * holds the tap, so it writes the frame this side encodes, on this side's
 * connection (the socket is shared with it as fd 3), and this side reads
 * the reply. Node itself never touches a descriptor, which spares loading
 * the native library (koffi) on every CNI call. Requests are pipelined:
 * the hello goes out on connect and its answer is awaited only when the
 * caller needs it, so engines' per-container calls do not pay round trips
 * to the daemon one after another.
 */
import { connect, type Socket } from 'node:net';
import { closeFd, ContainetError, encodeFrame, FrameDecoder, socketFd, type AttachReply, type RequestBody } from '@containet/common';

const HELLO_ID = 1;

export class SwitchConnection {
  readonly path: string;
  #sock: Socket;
  #decoder = new FrameDecoder(closeFd);
  #waiting = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #timeoutMs: number;
  #nextId = HELLO_ID + 1;
  /** Settles when the daemon answered the hello (rejects: not a containet switch, or refused). */
  readonly hello: Promise<void>;

  private constructor(path: string, sock: Socket, timeoutMs: number) {
    this.path = path;
    this.#sock = sock;
    this.#timeoutMs = timeoutMs;
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = this.#decoder.push(chunk);
      } catch (err) {
        this.#failAll(err as Error);
        sock.destroy();
        return;
      }
      for (const { message } of frames) {
        const m = message as Record<string, unknown> | null;
        if (m === null || typeof m !== 'object' || 'event' in m) continue;
        const w = typeof m['id'] === 'number' ? this.#waiting.get(m['id']) : undefined;
        // id 0: the daemon refuses the connection and says why.
        if (m['id'] === 0 && m['ok'] === false) {
          this.#failAll(replyError(m));
          continue;
        }
        if (!w) continue;
        this.#waiting.delete(m['id'] as number);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => this.#failAll(new ContainetError('CN_SWITCH_GONE', `containet at ${path} closed the connection`)));
    const hello = this.#expect(HELLO_ID, 'hello');
    sock.write(encodeFrame({ op: 'hello', id: HELLO_ID }));
    this.hello = hello.then((reply) => {
      if (reply['ok'] !== true || typeof reply['version'] !== 'number') throw reply['ok'] === false ? replyError(reply) : new ContainetError('CN_PROTO_INVALID', 'hello reply lacks ok/version');
    });
    this.hello.catch(() => {}); // a caller that fails earlier never waits
  }

  /**
   * Connect and send the hello; resolves once connected, without waiting
   * for the answer (`hello`), so that the caller's own work (the IPAM
   * plugin) overlaps the daemon's round trip.
   */
  static async connect(path: string, timeoutMs = 2000): Promise<SwitchConnection> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ContainetError(err.code === 'EACCES' ? 'CN_PERMISSION' : 'CN_SWITCH_UNREACHABLE', `cannot reach containet at ${path}: ${err.code ?? err.message}`, { cause: err })),
      );
      s.once('connect', () => resolve(s));
    });
    return new SwitchConnection(path, sock, timeoutMs);
  }

  /** Connect and say hello: resolves once the daemon accepts this peer as a containet client. */
  static async open(path: string, timeoutMs = 2000): Promise<SwitchConnection> {
    const conn = await SwitchConnection.connect(path, timeoutMs);
    try {
      await conn.hello;
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /**
   * Send `body` now (pipelined after the hello) and return the promise of
   * its reply; an error reply rejects with the daemon's code and message.
   */
  send(body: RequestBody<'detach' | 'port-set'>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const reply = this.#expect(id, body.op).then((m) => {
      if (m['ok'] !== true) throw replyError(m);
      return m;
    });
    reply.catch(() => {});
    this.#sock.write(encodeFrame({ ...body, id }));
    return reply;
  }

  /** The connection's fd, to share with the helper that sends the tap. */
  get fd(): number {
    return socketFd(this.#sock);
  }

  /** The attach frame for `body`, and the promise of its reply. */
  attachFrame(body: RequestBody<'attach'>): { frame: Buffer; reply: Promise<AttachReply> } {
    const id = this.#nextId++;
    const frame = encodeFrame({ ...body, id });
    const reply = this.#expect(id, 'attach').then((m) => {
      if (m['ok'] !== true) throw replyError(m);
      if (typeof m['port'] !== 'number' || typeof m['tap'] !== 'string') throw new ContainetError('CN_PROTO_INVALID', 'attach reply lacks port/tap');
      return { port: m['port'], tap: m['tap'], vnetHdr: m['vnetHdr'] === true };
    });
    reply.catch(() => {}); // the caller may never wait (the helper failed)
    return { frame, reply };
  }

  close(): void {
    for (const w of this.#waiting.values()) clearTimeout(w.timer);
    this.#waiting.clear();
    this.#sock.destroy();
  }

  #expect(id: number, op: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new ContainetError('CN_SWITCH_TIMEOUT', `containet at ${this.path} did not answer ${op} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(id, { resolve, reject, timer });
    });
  }

  #failAll(err: Error): void {
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiting.clear();
  }
}

function replyError(m: Record<string, unknown>): ContainetError {
  const e = m['error'] as { code?: unknown; message?: unknown; hint?: unknown } | undefined;
  return new ContainetError(typeof e?.code === 'string' ? e.code : 'CN_PROTO_INVALID', typeof e?.message === 'string' ? e.message : 'the switch refused the request', {
    hint: typeof e?.hint === 'string' ? e.hint : undefined,
  });
}
