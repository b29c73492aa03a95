/**
 * The switch as the control plane sees it: the datapath plus what it knows
 * about each port (node identity, interface, addresses, the connection that
 * attached it). Requests from the control server end up here.
 */
import { EventEmitter } from 'node:events';
import {
  ContainetError,
  closeFd,
  errnoText,
  parseMac,
  formatMac,
  tapInfo,
  type FdPoller,
  PORT_MACS_SHOWN,
  type MacEntry,
  type PortInfo,
  type SwitchStatus,
} from '@containet/common';
import { Datapath, type DatapathEvent } from './datapath.js';
import { processRunning } from './proc.js';
import { VXLAN_OVERHEAD, formatVtep, vxlanError, type Vtep, type VxlanShow } from './vxlan.js';

export interface SwitchOptions {
  macTableSize: number;
  /** Seconds; 0 never ages. */
  macAgeSeconds: number;
  poller: FdPoller;
  log?: (line: string) => void;
  /** Let two ports carry the same IPv4 address or MAC (refused by default: CN_DUPLICATE_ADDRESS). */
  allowDuplicateAddresses?: boolean | undefined;
}

export interface AttachSpec {
  node: string;
  ifname: string;
  mac?: string | undefined;
  addresses?: string[] | undefined;
  pid?: number | undefined;
  /** The connection that attached the port; the port goes when it closes. */
  owner?: number | undefined;
}

interface PortRecord extends AttachSpec {
  port: number;
  tap: string;
  vnetHdr: boolean;
  attachedAt: number;
}

/** Events: 'attached' (PortInfo), 'detached' ({port, node, reason}), 'mac' (DatapathEvent). */
export class Switch extends EventEmitter {
  readonly datapath: Datapath;
  #ports = new Map<number, PortRecord>();
  /** Ports by NODE:IFNAME: a node may have one port per interface (a container with eth0, eth1, ...). */
  #byNode = new Map<string, number>();
  /** Ports by IPv4 address and MAC (addressKeys), for the duplicate check. */
  #byAddress = new Map<string, number>();
  /** Ports per owning connection. */
  #owned = new Map<number, number>();
  #started = Date.now();
  #log: (line: string) => void;
  #closed = false;
  #vxlan: { port: number; vni: number; local: Vtep; mtu: number } | undefined;
  readonly macAgeSeconds: number;
  readonly #allowDuplicates: boolean;

  constructor(opts: SwitchOptions) {
    super();
    this.#log = opts.log ?? (() => {});
    this.#allowDuplicates = opts.allowDuplicateAddresses === true;
    this.macAgeSeconds = opts.macAgeSeconds;
    this.datapath = new Datapath({
      macTableSize: opts.macTableSize,
      macAgeMs: opts.macAgeSeconds * 1000,
      poller: opts.poller,
      onEvent: (ev) => this.#onDatapathEvent(ev),
    });
  }

  /**
   * Attach tap `fd` (ownership passes to the switch, also on failure: the
   * fd is closed then).
   */
  attach(spec: AttachSpec, fd: number): PortInfo {
    try {
      if (this.#closed) throw new ContainetError('CN_CLOSED', 'the switch is shutting down');
      const key = `${spec.node}:${spec.ifname}`;
      if (this.#byNode.has(key)) {
        throw new ContainetError('CN_DUPLICATE_NODE', `node ${spec.node} is already attached with ${spec.ifname} as port ${this.#byNode.get(key)}`, {
          hint: 'a node has one port per interface name on a switch; detach the old port first (containet detach)',
        });
      }
      if (!this.#allowDuplicates) this.#refuseDuplicate(spec);
      let info;
      try {
        info = tapInfo(fd);
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'EINVAL';
        throw new ContainetError('CN_NOT_A_TAP', `the descriptor passed for ${spec.node} is not a tap device (${code})`, {
          hint: 'pass an fd of /dev/net/tun set up with IFF_TAP (openTap in @containet/common)',
          cause: err,
        });
      }
      let port: number;
      try {
        port = this.datapath.addPort(fd);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOSPC') throw new ContainetError('CN_PORTS_FULL', 'the switch has no free port', { cause: err });
        throw err;
      }
      fd = -1; // the datapath owns it now
      const rec: PortRecord = { ...spec, port, tap: info.name, vnetHdr: info.vnetHdr, attachedAt: Date.now() };
      this.#ports.set(port, rec);
      this.#byNode.set(key, port);
      for (const key of addressKeys(spec)) this.#byAddress.set(key, port);
      if (spec.owner !== undefined) this.#owned.set(spec.owner, (this.#owned.get(spec.owner) ?? 0) + 1);
      const out = this.#info(rec);
      this.#log(`port ${port} attached: node ${spec.node} ${spec.ifname} (tap ${info.name}${info.vnetHdr ? ', vnet' : ''})`);
      this.emit('attached', out);
      return out;
    } finally {
      if (fd >= 0) closeFd(fd);
    }
  }

  /**
   * Two ports with one IPv4 address or MAC make both unreachable at random
   * (ARP answers and MAC learning flip between them), so an attach that
   * repeats one is refused, naming the port that has it. A port whose
   * attaching process has exited does not count.
   */
  #refuseDuplicate(spec: AttachSpec): void {
    for (const key of addressKeys(spec)) {
      const rec = this.#ports.get(this.#byAddress.get(key) ?? -1);
      if (!rec) continue;
      // A container that has exited leaves its port until the daemon reads
      // its connection's end; a successor with its address must not race that.
      if (rec.pid !== undefined && !processRunning(rec.pid)) continue;
      const what = key.startsWith('mac ') ? `MAC ${key.slice(4)}` : `IPv4 address ${key.slice(5)}`;
      throw new ContainetError('CN_DUPLICATE_ADDRESS', `${what} of node ${spec.node} is already on port ${rec.port} (node ${rec.node})`, {
        hint: `give ${spec.node} another address, detach ${rec.node} first (containet detach ${rec.node}), or start containet with --allow-duplicate-addresses`,
      });
    }
  }

  /** The ports of `node`, by interface. */
  #portsOf(node: string): number[] {
    return [...this.#ports.values()].filter((r) => r.node === node).map((r) => r.port);
  }

  /**
   * The port id for a port id, NODE:IFNAME, or a node identity (its only
   * port); throws CN_NO_SUCH_PORT, or CN_AMBIGUOUS_PORT for a node with
   * several.
   */
  resolvePort(which: number | string): number {
    let port: number | undefined;
    if (typeof which === 'number') port = which;
    else if (which.includes(':')) port = this.#byNode.get(which);
    else {
      const ports = this.#portsOf(which);
      if (ports.length > 1) {
        const names = ports.map((p) => this.#ports.get(p)!.ifname).join(', ');
        throw new ContainetError('CN_AMBIGUOUS_PORT', `node ${which} has ${ports.length} ports (${names})`, { hint: `name one as ${which}:IFNAME or by its port id` });
      }
      port = ports[0];
    }
    if (port === undefined || !this.#ports.has(port)) {
      throw new ContainetError('CN_NO_SUCH_PORT', `no port ${typeof which === 'number' ? which : `for node ${which}`} on this switch`, {
        hint: 'list ports with: containet ports',
      });
    }
    return port;
  }

  /** Detach by port id, NODE:IFNAME or node identity (all its ports; the first is returned). */
  detach(which: number | string, reason = 'detached'): PortInfo {
    if (typeof which === 'string' && !which.includes(':') && this.#portsOf(which).length > 1) {
      const infos = this.#portsOf(which).map((p) => this.detach(p, reason));
      return infos[0]!;
    }
    const rec = this.#ports.get(this.resolvePort(which))!;
    const info = this.#info(rec);
    this.datapath.removePort(rec.port);
    this.#forget(rec, reason);
    return info;
  }

  /** Whether connection `owner` attached ports that live as long as it does. */
  owns(owner: number): boolean {
    return this.#owned.has(owner);
  }

  /** Detach every port a closed connection attached. */
  detachOwnedBy(owner: number): void {
    if (!this.#owned.has(owner)) return;
    for (const rec of [...this.#ports.values()]) {
      if (rec.owner === owner) {
        this.datapath.removePort(rec.port);
        this.#forget(rec, 'connection closed');
      }
    }
  }

  /**
   * Every port with its counters and at most PORT_MACS_SHOWN of its MACs
   * (the newest; macCount counts them all), so a port's entry stays small
   * whatever the MAC table holds. The MACs come from a scan of the table;
   * with `scanMacs: false` only the attach's own MAC is shown.
   */
  ports(opts: { scanMacs?: boolean } = {}): PortInfo[] {
    const macsByPort = new Map<number, string[]>();
    // Without the scan (counters every second) a port shows only its attach MAC.
    const macs = opts.scanMacs === false ? [] : this.datapath.macs(); // oldest first
    for (let i = macs.length - 1; i >= 0; i--) {
      const m = macs[i]!;
      let list = macsByPort.get(m.port);
      if (!list) macsByPort.set(m.port, (list = []));
      if (list.length < PORT_MACS_SHOWN) list.push(m.mac);
    }
    return [...this.#ports.values()].map((rec) => this.#info(rec, macsByPort.get(rec.port)));
  }

  macs(): MacEntry[] {
    const vteps = new Map<number, string>();
    const info = this.#vxlan ? this.datapath.vxlanInfo(this.#vxlan.port) : null;
    for (const r of info?.remotes ?? []) vteps.set(r.slot, formatVtep(r));
    return this.datapath.macs().map((m) => {
      const vtep = m.remote >= 0 ? vteps.get(m.remote) : undefined;
      return { mac: m.mac, port: m.port, age: Math.floor(m.ageMs / 1000), ...(vtep ? { vtep } : {}) };
    });
  }

  /**
   * Add the VXLAN uplink: a port whose frames travel in UDP from `local`
   * to remote VTEPs of VNI `vni` over an underlay of MTU `mtu`. One per
   * switch.
   */
  addVxlan(vni: number, local: Vtep, mtu: number): number {
    if (this.#closed) throw new ContainetError('CN_CLOSED', 'the switch is shutting down');
    if (this.#vxlan) {
      throw new ContainetError('CN_VXLAN_EXISTS', `this switch already has a VXLAN uplink (VNI ${this.#vxlan.vni} on port ${this.#vxlan.port})`, {
        hint: 'remove it first (containet vxlan del), then add the new one',
      });
    }
    let port: number;
    try {
      port = this.datapath.addVxlan(local.address, local.port, vni, mtu);
    } catch (err) {
      throw vxlanError(err, formatVtep(local));
    }
    const rec: PortRecord = { node: `vxlan-${vni}`, ifname: 'vxlan', addresses: [local.address], port, tap: `udp:${formatVtep(local)}`, vnetHdr: false, attachedAt: Date.now() };
    this.#ports.set(port, rec);
    this.#byNode.set(`${rec.node}:${rec.ifname}`, port);
    this.#vxlan = { port, vni, local, mtu };
    this.#log(`port ${port}: VXLAN uplink VNI ${vni} on ${formatVtep(local)} (underlay MTU ${mtu}, containers' MTU at most ${mtu - VXLAN_OVERHEAD})`);
    this.emit('attached', this.#info(rec));
    return port;
  }

  /** Remove the uplink: its port, UDP socket, remotes and their MACs. Throws CN_NO_VXLAN. */
  removeVxlan(): { port: number; vni: number } {
    const up = this.#uplink();
    this.detach(up.port, 'VXLAN uplink removed');
    return { port: up.port, vni: up.vni };
  }

  #uplink(): { port: number; vni: number; local: Vtep; mtu: number } {
    if (!this.#vxlan) {
      throw new ContainetError('CN_NO_VXLAN', 'this switch has no VXLAN uplink', {
        hint: 'start containet with --vxlan VNI --vxlan-local ADDR[:PORT], or add one with: containet vxlan add VNI --local ADDR[:PORT]',
      });
    }
    return this.#vxlan;
  }

  addVxlanRemote(remote: Vtep): void {
    const up = this.#uplink();
    try {
      this.datapath.addVxlanRemote(up.port, remote.address, remote.port);
    } catch (err) {
      throw vxlanError(err, formatVtep(remote));
    }
    this.#log(`VXLAN VNI ${up.vni}: remote ${formatVtep(remote)} added`);
  }

  removeVxlanRemote(address: string): void {
    const up = this.#uplink();
    try {
      this.datapath.removeVxlanRemote(up.port, address);
    } catch (err) {
      throw vxlanError(err, address);
    }
    this.#log(`VXLAN VNI ${up.vni}: remote ${address} removed`);
  }

  /** The uplink's settings, counters and remotes; null without one. */
  vxlanShow(): VxlanShow | null {
    if (!this.#vxlan) return null;
    const info = this.datapath.vxlanInfo(this.#vxlan.port);
    const st = this.datapath.stats(this.#vxlan.port);
    if (!info || !st) return null;
    return {
      port: this.#vxlan.port,
      ...info.stats,
      innerMtu: info.stats.mtu - VXLAN_OVERHEAD,
      rxPackets: st.rxPackets,
      rxBytes: st.rxBytes,
      txPackets: st.txPackets,
      txBytes: st.txBytes,
      drops: st.drops,
      errors: st.errors,
      remotes: info.remotes,
    };
  }

  status(): SwitchStatus {
    const s = this.datapath.status();
    return {
      pid: process.pid,
      uptime: Math.floor((Date.now() - this.#started) / 1000),
      ports: s.ports,
      macs: s.macs,
      macTableSize: s.macTableSize,
      macAgeSeconds: this.macAgeSeconds,
      macEventsLost: s.eventsLost,
      macEvictions: s.evictions,
    };
  }

  /** Close every port and stop the datapath. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.datapath.close();
    this.#ports.clear();
    this.#byNode.clear();
    this.#byAddress.clear();
    this.#owned.clear();
  }

  #info(rec: PortRecord, seen?: string[]): PortInfo {
    const stats = this.datapath.stats(rec.port);
    const macs = new Set<string>();
    if (rec.mac) macs.add(rec.mac);
    for (const m of seen ?? []) if (macs.size < PORT_MACS_SHOWN) macs.add(m);
    return {
      port: rec.port,
      node: rec.node,
      ifname: rec.ifname,
      tap: rec.tap,
      ...(rec.pid === undefined ? {} : { pid: rec.pid }),
      addresses: rec.addresses ?? [],
      macs: [...macs],
      macCount: stats?.macCount ?? 0,
      vnetHdr: rec.vnetHdr,
      counters: {
        rxPackets: stats?.rxPackets ?? 0,
        rxBytes: stats?.rxBytes ?? 0,
        txPackets: stats?.txPackets ?? 0,
        txBytes: stats?.txBytes ?? 0,
        drops: stats?.drops ?? 0,
        errors: stats?.errors ?? 0,
      },
    };
  }

  #forget(rec: PortRecord, reason: string): void {
    if (rec.port === this.#vxlan?.port) this.#vxlan = undefined;
    this.#ports.delete(rec.port);
    this.#byNode.delete(`${rec.node}:${rec.ifname}`);
    for (const key of addressKeys(rec)) if (this.#byAddress.get(key) === rec.port) this.#byAddress.delete(key);
    if (rec.owner !== undefined) {
      const n = (this.#owned.get(rec.owner) ?? 1) - 1;
      if (n > 0) this.#owned.set(rec.owner, n);
      else this.#owned.delete(rec.owner);
    }
    this.#log(`port ${rec.port} detached: node ${rec.node} (${reason})`);
    this.emit('detached', { port: rec.port, node: rec.node, reason });
  }

  #onDatapathEvent(ev: DatapathEvent): void {
    if (ev.type === 'port-down') {
      const rec = this.#ports.get(ev.port);
      if (rec) this.#forget(rec, `tap closed: ${errnoText(ev.errno)}`);
      return;
    }
    if (ev.type === 'capture-down') {
      this.emit('capture-down', ev);
      return;
    }
    this.emit('mac', ev);
  }
}

/** An attach's IPv4 addresses and MAC as keys of Switch's address index: `ipv4 A.B.C.D`, `mac AA:..`. */
function addressKeys(spec: { addresses?: string[] | undefined; mac?: string | undefined }): string[] {
  const keys = new Set<string>();
  for (const a of spec.addresses ?? []) {
    const v4 = ipv4Of(a);
    if (v4 !== undefined) keys.add(`ipv4 ${v4}`);
  }
  if (spec.mac !== undefined) keys.add(`mac ${spec.mac}`);
  return [...keys];
}

/** The IPv4 address of `a.b.c.d[/prefix]`, else undefined (IPv6 and anything else). */
function ipv4Of(cidr: string): string | undefined {
  const addr = cidr.split('/')[0]!;
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(addr) ? addr : undefined;
}

/** Normalise a MAC given in an attach request; throws CN_BAD_REQUEST. */
export function normaliseMac(text: string): string {
  try {
    return formatMac(parseMac(text));
  } catch {
    throw new ContainetError('CN_BAD_REQUEST', `invalid mac in attach request: ${JSON.stringify(text)}`, {
      hint: 'use six hex octets, e.g. 02:00:00:00:00:01',
    });
  }
}
