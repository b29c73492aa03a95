/**
 * A tap made in a network namespace and plugged into a lab switch, for the
 * interfaces containode does not make itself (a node's eth1...; the host's
 * end of a host link). The namespace work is native/build/containet-cni-netns
 * (single-threaded C: Node never setns()es): it creates the tap inside the
 * namespace, persistent, and sends it to the switch with the attach frame
 * this side encodes, on this side's connection (shared with it as fd 3).
 * The port is `persist`: it lives until the tap does (its namespace ends,
 * or destroy deletes a host tap), not as long as this connection.
 */
import { connect, type Socket } from 'node:net';
import { ContainetError, FrameDecoder, encodeFrame, nativeHelper, socketFd } from '@containet/common';
import { lastError, run } from './programs.js';
import type { PortPlan } from './plan.js';

const HELPER = 'containet-cni-netns';
const REPLY_TIMEOUT_MS = 10_000;

interface Reply {
  id: number;
  ok: boolean;
  port?: number;
  error?: { code?: string; message?: string; hint?: string };
}

class SwitchSocket {
  #sock: Socket;
  #decoder = new FrameDecoder(() => {});
  #waiting = new Map<number, (r: Reply) => void>();
  #closed: Error | undefined;

  private constructor(sock: Socket, path: string) {
    this.#sock = sock;
    sock.on('data', (chunk: Buffer) => {
      for (const { message } of this.#decoder.push(chunk)) {
        const m = message as Reply;
        if (typeof m?.id === 'number') this.#waiting.get(m.id)?.(m);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.#closed = new ContainetError('CN_SWITCH_GONE', `the switch at ${path} closed the connection`);
      for (const w of this.#waiting.values()) w({ id: -1, ok: false, error: { code: 'CN_SWITCH_GONE', message: this.#closed.message } });
    });
  }

  static open(path: string): Promise<SwitchSocket> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('error', (err) => reject(new ContainetError('CN_SWITCH_UNREACHABLE', `cannot reach the switch at ${path}: ${err.message}`)));
      s.once('connect', () => resolve(new SwitchSocket(s, path)));
    });
  }

  get socket(): Socket {
    return this.#sock;
  }

  reply(id: number): Promise<Reply> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve({ id, ok: false, error: { message: this.#closed.message } });
      const timer = setTimeout(() => resolve({ id, ok: false, error: { code: 'CN_SWITCH_TIMEOUT', message: `no answer within ${REPLY_TIMEOUT_MS / 1000} s` } }), REPLY_TIMEOUT_MS);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(r);
      });
    });
  }

  close(): void {
    this.#sock.destroy();
  }
}

/**
 * Make tap `port.ifname` in the namespace at `netns` (/proc/PID/ns/net, or
 * /proc/self/ns/net for the host) and plug it into the switch at `socket`.
 * Returns the switch's port id. On failure nothing is left (the helper
 * deletes the tap it made).
 */
export async function attachPort(socket: string, netns: string, port: PortPlan, pid?: number): Promise<number> {
  const conn = await SwitchSocket.open(socket);
  try {
    conn.socket.write(encodeFrame({ op: 'hello', id: 1 }));
    const hello = await conn.reply(1);
    if (!hello.ok) throw new ContainetError(hello.error?.code ?? 'CN_LAB_ATTACH', `the switch at ${socket} refused the connection: ${hello.error?.message ?? ''}`);
    const frame = encodeFrame({ op: 'attach', id: 2, node: port.attachNode, ifname: port.ifname, persist: true, ...(pid === undefined ? {} : { pid }), ...(port.vlan === undefined ? {} : { vlan: { mode: 'access', vlan: port.vlan } }) });
    const args = ['add', netns, port.ifname];
    if (port.mac) args.push('--mac', port.mac);
    if (port.mtu) args.push('--mtu', String(port.mtu));
    args.push('--send', '3');
    const replied = conn.reply(2);
    const r = await run(nativeHelper(HELPER), args, { input: frame, stdio3: socketFd(conn.socket) });
    if (r.code !== 0) throw new ContainetError('CN_LAB_ATTACH', `${port.ifname}: ${lastError(r)}`);
    const reply = await replied;
    if (!reply.ok || typeof reply.port !== 'number') {
      await deletePort(netns, port.ifname).catch(() => {});
      throw new ContainetError(reply.error?.code ?? 'CN_LAB_ATTACH', `${port.ifname}: the switch refused it: ${reply.error?.message ?? 'no port in its reply'}`, { hint: reply.error?.hint });
    }
    return reply.port;
  } finally {
    conn.close();
  }
}

/** Delete tap `ifname` in `netns`; an absent namespace or tap is fine. */
export async function deletePort(netns: string, ifname: string): Promise<void> {
  const r = await run(nativeHelper(HELPER), ['del', netns, ifname]);
  if (r.code !== 0) throw new ContainetError('CN_LAB_DETACH', `cannot delete ${ifname}: ${lastError(r)}`);
}
