/**
 * The host's port on the switch (`containet --host ADDR/PREFIX`): a tap in
 * the daemon's own network namespace carrying the containers' gateway
 * address, attached like any port, with optional masquerading (--nat).
 * close() removes the address, the device, the rules and restores
 * ip_forward; a record in the state directory lets the next start undo
 * what a crash left. The record and that recovery live in
 * @containet/common (host-gateway.ts): `containode cleanup` uses them too.
 */
import { execFile } from 'node:child_process';
import {
  closeFd,
  ContainetError,
  disableIpForward,
  gatewayTag,
  ipv4Network,
  openTap,
  parseIpv4Cidr,
  recoverGateway,
  removeGatewayRecord,
  removeTaggedNat,
  writeGatewayRecord,
  type GatewayRecord,
  type Ipv4Cidr,
} from '@containet/common';
import { installNat, forwardPolicyDrops, detectFirewallTool } from './firewall.js';
import { enableIpForward } from './ipforward.js';

export { gatewayTag, type GatewayRecord };

export interface GatewayOptions {
  /** ADDR/PREFIX of the host on the switch's subnet. */
  cidr: string;
  nat: boolean;
  /** The control socket path: the tag that names our rules and record. */
  socketPath: string;
  /** Interface name; default derived from the tag. */
  ifname?: string;
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _out, stderr) => {
      if (err) reject(new ContainetError('CN_HOST_IFACE', `ip ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

export class HostGateway {
  readonly record: GatewayRecord;
  readonly address: Ipv4Cidr;
  /** The tap fd; the switch owns it once attached. */
  readonly fd: number;
  #closed = false;

  private constructor(record: GatewayRecord, address: Ipv4Cidr, fd: number) {
    this.record = record;
    this.address = address;
    this.fd = fd;
  }

  /** Network address of the subnet, e.g. 10.0.0.0/24. */
  get subnet(): string {
    return ipv4Network(this.address);
  }

  static async open(opts: GatewayOptions): Promise<HostGateway> {
    const address = parseIpv4Cidr(opts.cidr);
    const tag = gatewayTag(opts.socketPath);
    await HostGateway.recover(tag);
    const ifname = opts.ifname ?? `cnhost${tag.slice(0, 6)}`;
    const tap = openTap(ifname, { vnetHdr: true });
    const record: GatewayRecord = { tag, ifname: tap.name, cidr: address.cidr, nat: opts.nat, ipForwardWasOff: false };
    const gw = new HostGateway(record, address, tap.fd);
    try {
      await ip(['addr', 'add', address.cidr, 'dev', tap.name]);
      await ip(['link', 'set', tap.name, 'up']);
      if (opts.nat) {
        record.tool = await detectFirewallTool();
        await gw.#save();
        record.ipForwardWasOff = await enableIpForward();
        await gw.#save();
        await installNat({ tag, subnet: gw.subnet, hostIf: tap.name }, record.tool);
      }
      await gw.#save();
      return gw;
    } catch (err) {
      await gw.close().catch(() => {});
      throw err;
    }
  }

  /** Whether the host firewall drops forwarded traffic by default (reported at start). */
  static forwardPolicyDrops(): Promise<boolean> {
    return forwardPolicyDrops();
  }

  /** Undo what a previous daemon with this tag left (after a crash). */
  static recover(tag: string): Promise<boolean> {
    return recoverGateway(tag);
  }

  async #save(): Promise<void> {
    await writeGatewayRecord(this.record);
  }

  /**
   * Remove rules, restore ip_forward, drop the record. The tap device goes
   * away when its last fd closes (the switch closes its copy on shutdown);
   * pass closeTap when the switch never took it. Safe to call twice.
   */
  async close(closeTap = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.record.nat) await removeTaggedNat(this.record.tag, this.record.tool).catch(() => 0);
    if (this.record.ipForwardWasOff) await disableIpForward();
    await removeGatewayRecord(this.record.tag);
    if (closeTap) closeFd(this.fd);
  }
}
