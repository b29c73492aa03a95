/**
 * The host's own port on the switch (--host, `containet host add`): a tap
 * in the daemon's network namespace with the containers' gateway address,
 * optionally masquerading their subnet (host/gateway.ts does the tap, the
 * address, ip_forward and the rules).
 */
import { ContainetError, type HostAddReply, type PortInfo } from '@containet/common';
import { HostGateway } from './host/gateway.js';
import type { Switch } from './switch.js';

export class HostPort {
  readonly #switch: Switch;
  readonly #socketPath: string;
  readonly #log: (line: string) => void;
  #gateway: HostGateway | undefined;

  constructor(sw: Switch, socketPath: string, log: (line: string) => void) {
    this.#switch = sw;
    this.#socketPath = socketPath;
    this.#log = log;
  }

  /** Give the host a port with `cidr`, with NAT when `nat`; one per switch. */
  async add(cidr: string, nat: boolean): Promise<HostAddReply> {
    if (this.#gateway) {
      throw new ContainetError('CN_HOST_EXISTS', `the host already has a port on this switch (${this.#gateway.address.cidr} on ${this.#gateway.record.ifname})`);
    }
    const gw = await HostGateway.open({ cidr, nat, socketPath: this.#socketPath });
    let info: PortInfo;
    try {
      info = this.#switch.attach({ node: 'host', ifname: gw.record.ifname, addresses: [gw.address.cidr], pid: process.pid }, gw.fd);
    } catch (err) {
      await gw.close(true);
      throw err;
    }
    this.#gateway = gw;
    const drops = nat ? await HostGateway.forwardPolicyDrops().catch(() => false) : false;
    this.#log(
      `host port ${info.port}: ${gw.record.ifname} ${gw.address.cidr}` +
        (nat ? `, masquerading ${gw.subnet}${drops ? ' (FORWARD policy is DROP: accept rules added for it)' : ''}` : ''),
    );
    return { port: info.port, ifname: gw.record.ifname, address: gw.address.cidr, subnet: gw.subnet, nat };
  }

  /** Rules and ip_forward back as they were. Safe to call twice. */
  async close(): Promise<void> {
    const gw = this.#gateway;
    this.#gateway = undefined;
    await gw?.close();
  }
}
