/**
 * The one way a container's tap reaches a containet switch: its fd goes
 * over the control socket with the container's identity, MAC and
 * addresses (protocol.ts, AttachRequest). Two lifetimes:
 *
 * - `persist: false` (containode): the port lives as long as this link's
 *   connection, so the link stays open for the container's life. It keeps
 *   its own copy of the tap fd; when the switch goes away the container
 *   keeps running and the link re-attaches, with backoff, once a switch
 *   listens again.
 * - `persist: true` (containode-oci): the switch keeps the port after the
 *   link is closed (nothing of that runtime stays running between
 *   commands); `SwitchLink.detach` removes it at delete. The switch then
 *   holds the only fd of the tap.
 *
 * Only @containet/common's errors are imported statically: containode-oci's
 * bundle loads the control client when a container has a switch.
 */
import { ContainetError } from '@containet/common';
import type { ControlClient, PortVlan } from '@containet/common';

export interface AttachInfo {
  node: string;
  ifname: string;
  mac: string;
  addresses: string[];
  pid: number;
  /** 802.1Q membership of the port (absent: the switch's default, access VLAN 1). */
  vlan?: PortVlan | undefined;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

export class SwitchLink {
  readonly socket: string;
  #client: ControlClient | undefined;
  #info: AttachInfo | undefined;
  #tapFd = -1;
  #attached = false;
  #persist = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #port = -1;
  #closeFd: ((fd: number) => void) | undefined;
  /** The wait before the next re-attach: doubled by each refusal, reset by a success. */
  #retryMs = RETRY_MIN_MS;
  #gaveUp = false;
  /** Called after every successful re-attach with the new port id. */
  onReattach: ((port: number) => void) | undefined;
  /**
   * Called once if the switch refuses the node for good
   * (CN_DETACHED_PERMANENTLY, `containet detach --permanent`): the link
   * stops re-attaching, as the detached supervisor does, and the
   * container runs on without this interface.
   */
  onGiveUp: ((err: ContainetError) => void) | undefined;

  private constructor(socket: string) {
    this.socket = socket;
  }

  /** Reach the switch before anything else is created; throws CN_SWITCH_UNREACHABLE. */
  static async open(socket: string): Promise<SwitchLink> {
    const link = new SwitchLink(socket);
    link.#client = await link.#connect();
    return link;
  }

  /** Remove port `node` (or NODE:IFNAME) from the switch at `socket`; a switch that is gone has no port left to remove. */
  static async detach(socket: string, node: string): Promise<void> {
    const { ControlClient } = await import('@containet/common');
    let client: ControlClient;
    try {
      client = await ControlClient.connect(socket);
    } catch {
      return;
    }
    try {
      await client.request({ op: 'detach', port: node });
    } finally {
      client.close();
    }
  }

  /**
   * Remove the ports of `node`'s interfaces, each from its switch, named
   * NODE:IFNAME (a switch refuses a bare node that has several ports as
   * ambiguous); without `interfaces` (a record from before them), the
   * node's one port on `socket`.
   */
  static async detachInterfaces(socket: string, node: string, interfaces: readonly { socket: string; ifname: string }[] | undefined, warn?: (message: string) => void): Promise<void> {
    const targets = interfaces?.length ? interfaces.map((i) => ({ socket: i.socket, port: `${node}:${i.ifname}` })) : [{ socket, port: node }];
    for (const t of targets) {
      await SwitchLink.detach(t.socket, t.port).catch((err: Error) => warn?.(`detach ${t.port} from containet at ${t.socket}: ${err.message}`));
    }
  }

  async #connect(): Promise<ControlClient> {
    const { ControlClient } = await import('@containet/common');
    return ControlClient.connect(this.socket, {
      onClose: () => {
        if (this.#attached && !this.#persist && !this.#closed && !this.#gaveUp) this.#reconnect(this.#retryMs);
      },
    });
  }

  get port(): number {
    return this.#port;
  }

  /**
   * Attach `tapFd`, which this link owns from now on (closed by close()).
   * Throws the daemon's refusal.
   */
  async attach(info: AttachInfo, tapFd: number, opts: { persist?: boolean } = {}): Promise<number> {
    if (!this.#client) throw new ContainetError('CN_CLOSED', 'switch link is closed');
    this.#closeFd = (await import('@containet/common')).closeFd;
    this.#info = info;
    this.#tapFd = tapFd;
    this.#persist = opts.persist === true;
    try {
      const reply = await this.#client.request({ op: 'attach', ...info, ...(this.#persist ? { persist: true } : {}) }, tapFd);
      this.#port = Number(reply.port);
    } catch (err) {
      if (err instanceof ContainetError) {
        throw new ContainetError(err.code, `containet at ${this.socket} refused the attach of ${info.ifname}: ${err.message}`, { hint: err.hint, cause: err });
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
          this.#port = Number(reply.port);
          this.#retryMs = RETRY_MIN_MS;
          this.onReattach?.(this.#port);
        } catch (err) {
          if (err instanceof ContainetError && err.code === 'CN_DETACHED_PERMANENTLY') {
            this.#gaveUp = true;
            client.destroy();
            this.onGiveUp?.(err);
            return;
          }
          // Refused (the old port still lingers, an address taken) or the
          // switch went away again: drop this connection and try again,
          // waiting twice as long after each refusal.
          this.#retryMs = Math.min(delay * 2, RETRY_MAX_MS);
          client.destroy();
        }
      })();
    }, delay);
  }

  /**
   * Close the connection and our copy of the tap fd. A port attached with
   * `persist: false` leaves the switch with the connection; a persistent
   * one stays. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#client?.close();
    if (this.#tapFd >= 0) this.#closeFd?.(this.#tapFd);
  }
}
