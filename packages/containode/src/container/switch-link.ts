/**
 * containode's attachment to a containet switch: the tap fd goes over the
 * control socket with the container's identity, MAC and addresses. The port
 * lives as long as this connection (protocol.ts, AttachRequest.persist), so
 * the link stays open for the container's life. containode keeps its own
 * copy of the tap fd; when the switch goes away the container keeps running
 * and the link re-attaches, with backoff, once a switch listens again.
 */
import { ControlClient, ContainetError, closeFd } from '@containet/common';

export interface AttachInfo {
  node: string;
  ifname: string;
  mac: string;
  addresses: string[];
  pid: number;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

export class SwitchLink {
  readonly socket: string;
  #client: ControlClient | undefined;
  #info: AttachInfo | undefined;
  #tapFd = -1;
  #attached = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #port = -1;
  /** Called after every successful re-attach with the new port id. */
  onReattach: ((port: number) => void) | undefined;

  private constructor(socket: string) {
    this.socket = socket;
  }

  /** Reach the switch before anything else is created; throws CN_SWITCH_UNREACHABLE. */
  static async open(socket: string): Promise<SwitchLink> {
    const link = new SwitchLink(socket);
    link.#client = await link.#connect();
    return link;
  }

  #connect(): Promise<ControlClient> {
    return ControlClient.connect(this.socket, {
      onClose: () => {
        if (this.#attached && !this.#closed) this.#reconnect(RETRY_MIN_MS);
      },
    });
  }

  get port(): number {
    return this.#port;
  }

  /** Attach `tapFd` (kept open here until close()). Throws the daemon's refusal. */
  async attach(info: AttachInfo, tapFd: number): Promise<number> {
    if (!this.#client) throw new ContainetError('CN_CLOSED', 'switch link is closed');
    this.#info = info;
    this.#tapFd = tapFd;
    try {
      const reply = await this.#client.request({ op: 'attach', ...info }, tapFd);
      this.#port = Number(reply['port']);
    } catch (err) {
      if (err instanceof ContainetError) {
        throw new ContainetError(err.code, `containet at ${this.socket} refused the attach: ${err.message}`, { hint: err.hint, cause: err });
      }
      throw err;
    }
    this.#attached = true;
    return this.#port;
  }

  #reconnect(delay: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void (async () => {
        if (this.#closed || !this.#info) return;
        let client: ControlClient;
        try {
          client = await this.#connect();
        } catch {
          this.#reconnect(Math.min(delay * 2, RETRY_MAX_MS));
          return;
        }
        if (this.#closed) {
          client.close();
          return;
        }
        this.#client = client;
        try {
          const reply = await client.request({ op: 'attach', ...this.#info }, this.#tapFd);
          this.#port = Number(reply['port']);
          this.onReattach?.(this.#port);
        } catch {
          // Refused (e.g. the old port still lingers) or the switch went
          // away again: drop this connection and retry later.
          client.destroy();
        }
      })();
    }, delay);
  }

  /** Leave the switch (the port goes with the connection) and close the tap. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#client?.close();
    if (this.#tapFd >= 0) closeFd(this.#tapFd);
  }
}
