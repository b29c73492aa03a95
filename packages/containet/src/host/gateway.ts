/**
 * The host's port on the switch (`containet --host ADDR/PREFIX`): a tap in
 * the daemon's own network namespace carrying the containers' gateway
 * address, attached like any port, with optional masquerading (--nat).
 * close() removes the address, the device, the rules and restores
 * ip_forward; a record in the state directory lets the next start undo
 * what a crash left.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeFd, ContainetError, ipv4Network, openTap, parseIpv4Cidr, stateDir, type Ipv4Cidr } from '@containet/common';
import { installNat, removeNat, forwardPolicyDrops, detectFirewallTool, type FirewallTool } from './firewall.js';
import { enableIpForward, disableIpForward } from './ipforward.js';

export interface GatewayOptions {
  /** ADDR/PREFIX of the host on the switch's subnet. */
  cidr: string;
  nat: boolean;
  /** The control socket path: the tag that names our rules and record. */
  socketPath: string;
  /** Interface name; default derived from the tag. */
  ifname?: string;
}

export interface GatewayRecord {
  tag: string;
  ifname: string;
  cidr: string;
  nat: boolean;
  tool?: FirewallTool;
  ipForwardWasOff: boolean;
}

/** Short stable tag for a socket path: names rules, record and default interface. */
export function gatewayTag(socketPath: string): string {
  return createHash('sha256').update(socketPath).digest('hex').slice(0, 8);
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _out, stderr) => {
      if (err) reject(new ContainetError('CN_HOST_IFACE', `ip ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

const recordPath = (tag: string) => join(stateDir(), `gateway-${tag}.json`);

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
  static async recover(tag: string): Promise<boolean> {
    let rec: GatewayRecord;
    try {
      rec = JSON.parse(await readFile(recordPath(tag), 'utf8')) as GatewayRecord;
    } catch {
      return false;
    }
    if (rec.nat) await removeNat(tag, rec.tool).catch(() => 0);
    if (rec.ipForwardWasOff) await disableIpForward().catch(() => {});
    await rm(recordPath(tag), { force: true });
    return true;
  }

  async #save(): Promise<void> {
    await mkdir(stateDir(), { recursive: true });
    await writeFile(recordPath(this.record.tag), JSON.stringify(this.record, null, 2));
  }

  /**
   * Remove rules, restore ip_forward, drop the record. The tap device goes
   * away when its last fd closes (the switch closes its copy on shutdown);
   * pass closeTap when the switch never took it. Safe to call twice.
   */
  async close(closeTap = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.record.nat) await removeNat(this.record.tag, this.record.tool).catch(() => 0);
    if (this.record.ipForwardWasOff) await disableIpForward();
    await rm(recordPath(this.record.tag), { force: true });
    if (closeTap) closeFd(this.fd);
  }
}
