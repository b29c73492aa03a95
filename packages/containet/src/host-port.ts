/**
 * The host's own port on the switch (--host, `containet host add`): a tap
 * in the daemon's network namespace with the containers' gateway address,
 * optionally masquerading their subnet (host/gateway.ts does the tap, the
 * address, ip_forward and the rules).
 */
import { ContainetError, type HostAddReply, type HostDelReply, type PortInfo } from '@containet/common';
import { HostGateway } from './host/gateway.js';
import type { Switch } from './switch.js';

export class HostPort {
  readonly #switch: Switch;
  readonly #socketPath: string;
  readonly #log: (line: string) => void;
  #gateway: HostGateway | undefined;
  #port = -1;

  constructor(sw: Switch, socketPath: string, log: (line: string) => void) {
    this.#switch = sw;
    this.#socketPath = socketPath;
    this.#log = log;
    // The port can also go by `containet detach host` or its tap failing:
    // the rules and ip_forward go with it then too.
    sw.on('detached', (ev: { port: number }) => {
      if (ev.port === this.#port && this.#gateway) {
        this.#port = -1;
        void this.close().catch((err: Error) => this.#log(`host port ${ev.port}: undoing its rules failed: ${err.message}`));
      }
    });
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
    this.#port = info.port;
    const drops = nat ? await HostGateway.forwardPolicyDrops().catch(() => false) : false;
    this.#log(
      `host port ${info.port}: ${gw.record.ifname} ${gw.address.cidr}` +
        (nat ? `, masquerading ${gw.subnet}${drops ? ' (FORWARD policy is DROP: accept rules added for it)' : ''}` : ''),
    );
    return { port: info.port, ifname: gw.record.ifname, address: gw.address.cidr, subnet: gw.subnet, nat };
  }

  /**
   * Remove the host's port as a shutdown would: the switch closes the tap
   * (the device and its address go with its last fd), then the rules and
   * ip_forward go back as they were. Throws CN_NO_HOST_PORT.
   */
  async remove(): Promise<HostDelReply> {
    const gw = this.#gateway;
    if (!gw || this.#port < 0) {
      throw new ContainetError('CN_NO_HOST_PORT', 'the host has no port on this switch', { hint: 'add one with: containet host add ADDR/PREFIX [--nat]' });
    }
    const port = this.#port;
    this.#port = -1;
    this.#switch.detach(port, 'host port removed');
    await this.close();
    this.#log(`host port ${port}: ${gw.record.ifname} ${gw.address.cidr} removed${gw.record.nat ? ', NAT rules removed' : ''}`);
    return { port, ifname: gw.record.ifname, address: gw.address.cidr };
  }

  /** Rules and ip_forward back as they were. Safe to call twice. */
  async close(): Promise<void> {
    const gw = this.#gateway;
    this.#gateway = undefined;
    await gw?.close();
  }
}
