/**
 * Attaching a tap made in another process: the switch takes the tap's fd
 * with the first byte of an `attach` frame (SCM_RIGHTS). The netns helper
 * holds the tap, so it writes the frame this side encodes, on this side's
 * connection (the socket is shared with it as fd 3), and this side reads
 * the reply. Node itself never touches a descriptor, which spares loading
 * the native library (koffi) on every CNI call.
 */
import { connect, type Socket } from 'node:net';
import { closeFd, ContainetError, encodeFrame, FrameDecoder, socketFd, type AttachReply, type RequestBody } from '@containet/common';

const HELLO_ID = 1;
const ATTACH_ID = 2;

export class SwitchConnection {
  readonly path: string;
  #sock: Socket;
  #decoder = new FrameDecoder(closeFd);
  #waiting = new Map<number, { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #timeoutMs: number;

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
  }

  /** Connect and say hello: resolves once the daemon accepts this peer as a containet client. */
  static async open(path: string, timeoutMs = 2000): Promise<SwitchConnection> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ContainetError(err.code === 'EACCES' ? 'CN_PERMISSION' : 'CN_SWITCH_UNREACHABLE', `cannot reach containet at ${path}: ${err.code ?? err.message}`, { cause: err })),
      );
      s.once('connect', () => resolve(s));
    });
    const conn = new SwitchConnection(path, sock, timeoutMs);
    try {
      const hello = conn.#expect(HELLO_ID, 'hello');
      sock.write(encodeFrame({ op: 'hello', id: HELLO_ID }));
      const reply = await hello;
      if (reply['ok'] !== true || typeof reply['version'] !== 'number') throw new ContainetError('CN_PROTO_INVALID', 'hello reply lacks ok/version');
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** The connection's fd, to share with the helper that sends the tap. */
  get fd(): number {
    return socketFd(this.#sock);
  }

  /** The attach frame for `body`, and the promise of its reply. */
  attachFrame(body: RequestBody<'attach'>): { frame: Buffer; reply: Promise<AttachReply> } {
    const frame = encodeFrame({ ...body, id: ATTACH_ID });
    const reply = this.#expect(ATTACH_ID, 'attach').then((m) => {
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
