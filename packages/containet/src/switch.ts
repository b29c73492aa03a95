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
  type LinkImpairment,
  type MacEntry,
  type PortInfo,
  type PortVlan,
  type SwitchStatus,
} from '@containet/common';
import { Datapath, type DatapathEvent } from './datapath.js';
import { DEFAULT_VLAN, datapathImpairment, formatVlan } from './port-settings.js';
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
  /** 802.1Q membership, checked (port-settings.ts); default access VLAN 1. */
  vlan?: PortVlan | undefined;
}

interface PortRecord extends AttachSpec {
  port: number;
  tap: string;
  vnetHdr: boolean;
  attachedAt: number;
  vlan: PortVlan;
  impair: { in?: LinkImpairment; out?: LinkImpairment };
}

/** What port-set changes; values checked by port-settings.ts. `impair: null` clears. */
export interface PortChange {
  vlan?: PortVlan | undefined;
  direction?: 'in' | 'out' | 'both' | undefined;
  impair?: LinkImpairment | null | undefined;
}

/** Events: 'attached' (PortInfo), 'detached' ({port, node, ifname, reason}), 'port-changed' (PortInfo), 'mac' (DatapathEvent). */
export class Switch extends EventEmitter {
  readonly datapath: Datapath;
  #ports = new Map<number, PortRecord>();
  /** Ports per node identity: a node has one per interface on this switch. */
  #byNode = new Map<string, Set<number>>();
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
      const same = this.#portOf(spec.node, spec.ifname);
      if (same !== undefined) {
        throw new ContainetError('CN_DUPLICATE_NODE', `node ${spec.node} interface ${spec.ifname} is already attached as port ${same}`, {
          hint: `an interface of a node attaches once; detach the old port first (containet detach ${spec.node}:${spec.ifname})`,
        });
      }
      const vlan = spec.vlan ?? DEFAULT_VLAN;
      if (!this.#allowDuplicates) this.#refuseDuplicate(spec, vlan);
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
      if (spec.vlan && formatVlan(spec.vlan) !== formatVlan(DEFAULT_VLAN)) {
        try {
          this.datapath.setVlan(port, spec.vlan);
        } catch (err) {
          this.datapath.removePort(port);
          throw err;
        }
      }
      const rec: PortRecord = { ...spec, port, tap: info.name, vnetHdr: info.vnetHdr, attachedAt: Date.now(), vlan, impair: {} };
      this.#ports.set(port, rec);
      this.#nodeAdd(spec.node, port);
      for (const key of addressKeys(spec, vlan)) this.#byAddress.set(key, port);
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
  #refuseDuplicate(spec: AttachSpec, vlan: PortVlan, self?: number): void {
    for (const key of addressKeys(spec, vlan)) {
      const rec = this.#ports.get(this.#byAddress.get(key) ?? -1);
      if (!rec || rec.port === self) continue;
      // A container that has exited leaves its port until the daemon reads
      // its connection's end; a successor with its address must not race that.
      if (rec.pid !== undefined && !processRunning(rec.pid)) continue;
      const [kind, domain, value] = key.split(' ');
      const what = `${kind === 'mac' ? 'MAC' : 'IPv4 address'} ${value}`;
      throw new ContainetError('CN_DUPLICATE_ADDRESS', `${what} of node ${spec.node} is already on port ${rec.port} (node ${rec.node})${domain === '1' ? '' : ` in VLAN ${domain}`}`, {
        hint: `give ${spec.node} another address, detach ${rec.node} first (containet detach ${rec.node}), or start containet with --allow-duplicate-addresses`,
      });
    }
  }

  #nodeAdd(node: string, port: number): void {
    let set = this.#byNode.get(node);
    if (!set) this.#byNode.set(node, (set = new Set()));
    set.add(port);
  }

  #portOf(node: string, ifname: string): number | undefined {
    for (const port of this.#byNode.get(node) ?? []) if (this.#ports.get(port)?.ifname === ifname) return port;
    return undefined;
  }

  /**
   * The port id for a port id, NODE:IFNAME, or NODE (a node's only port:
   * refused as ambiguous, CN_AMBIGUOUS_PORT, when it has several); throws
   * CN_NO_SUCH_PORT.
   */
  resolvePort(which: number | string): number {
    const none = (what: string) =>
      new ContainetError('CN_NO_SUCH_PORT', `no port ${what} on this switch`, { hint: 'list ports with: containet ports' });
    if (typeof which === 'number') {
      if (!this.#ports.has(which)) throw none(String(which));
      return which;
    }
    const colon = which.lastIndexOf(':');
    if (colon > 0) {
      const port = this.#portOf(which.slice(0, colon), which.slice(colon + 1));
      if (port === undefined) throw none(`for node ${which.slice(0, colon)} interface ${which.slice(colon + 1)}`);
      return port;
    }
    const ports = [...(this.#byNode.get(which) ?? [])];
    if (ports.length === 0) throw none(`for node ${which}`);
    if (ports.length > 1) {
      const names = ports.map((p) => this.#ports.get(p)!.ifname).sort();
      throw new ContainetError('CN_AMBIGUOUS_PORT', `node ${which} has ${ports.length} ports (${names.join(', ')})`, {
        hint: `name one as NODE:IFNAME, e.g. ${which}:${names[0]}, or give its port id`,
      });
    }
    return ports[0]!;
  }

  /**
   * Change a live port: its VLAN membership and/or the impairments of
   * `direction` (default both; `impair: null` removes them). Values are
   * checked (port-settings.ts) before anything changes.
   */
  setPort(which: number | string, change: PortChange): PortInfo {
    const rec = this.#ports.get(this.resolvePort(which))!;
    if (change.vlan) {
      const vlan = change.vlan;
      if (!this.#allowDuplicates) this.#refuseDuplicate(rec, vlan, rec.port);
      this.datapath.setVlan(rec.port, vlan);
      for (const key of addressKeys(rec, rec.vlan)) if (this.#byAddress.get(key) === rec.port) this.#byAddress.delete(key);
      rec.vlan = vlan;
      for (const key of addressKeys(rec, vlan)) this.#byAddress.set(key, rec.port);
      this.#log(`port ${rec.port} (${rec.node}:${rec.ifname}): VLAN ${formatVlan(vlan)}`);
    }
    if (change.impair !== undefined) {
      const dirs: Array<'in' | 'out'> = change.direction === 'in' ? ['in'] : change.direction === 'out' ? ['out'] : ['in', 'out'];
      for (const dir of dirs) {
        const imp = change.impair;
        this.datapath.setImpairment(rec.port, dir, imp ? datapathImpairment(imp) : null);
        if (imp) rec.impair[dir] = imp;
        else delete rec.impair[dir];
      }
      this.#log(`port ${rec.port} (${rec.node}:${rec.ifname}): impairments ${change.impair ? 'set' : 'cleared'} (${dirs.join(', ')})`);
    }
    const info = this.#info(rec);
    this.emit('port-changed', info);
    return info;
  }

  /** Detach by port id, NODE:IFNAME or node identity (all its ports). */
  detach(which: number | string, reason = 'detached'): PortInfo {
    // A bare node detaches all its ports (a container leaving the switch); the first is returned.
    const all = typeof which === 'string' && !which.includes(':') ? [...(this.#byNode.get(which) ?? [])] : [];
    if (all.length > 1) return all.map((p) => this.detach(p, reason))[0]!;
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
      return { mac: m.mac, port: m.port, age: Math.floor(m.ageMs / 1000), vlan: m.vlan, ...(vtep ? { vtep } : {}) };
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
    const rec: PortRecord = {
      node: `vxlan-${vni}`,
      ifname: 'vxlan',
      addresses: [local.address],
      port,
      tap: `udp:${formatVtep(local)}`,
      vnetHdr: false,
      attachedAt: Date.now(),
      // The datapath makes an uplink a trunk of every VLAN, VLAN 1 untagged.
      vlan: { mode: 'trunk', allowed: [], native: 1 },
      impair: {},
    };
    this.#ports.set(port, rec);
    this.#nodeAdd(rec.node, port);
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
        vlanDrops: stats?.vlanDrops ?? 0,
        impairLost: stats?.impairLost ?? 0,
        queueDrops: stats?.queueDrops ?? 0,
        queuedBytes: stats?.queuedBytes ?? 0,
      },
      vlan: rec.vlan,
      ...(rec.impair.in || rec.impair.out ? { impair: { ...rec.impair } } : {}),
    };
  }

  #forget(rec: PortRecord, reason: string): void {
    if (rec.port === this.#vxlan?.port) this.#vxlan = undefined;
    this.#ports.delete(rec.port);
    const set = this.#byNode.get(rec.node);
    set?.delete(rec.port);
    if (set?.size === 0) this.#byNode.delete(rec.node);
    for (const key of addressKeys(rec, rec.vlan)) if (this.#byAddress.get(key) === rec.port) this.#byAddress.delete(key);
    if (rec.owner !== undefined) {
      const n = (this.#owned.get(rec.owner) ?? 1) - 1;
      if (n > 0) this.#owned.set(rec.owner, n);
      else this.#owned.delete(rec.owner);
    }
    this.#log(`port ${rec.port} detached: node ${rec.node} ${rec.ifname} (${reason})`);
    this.emit('detached', { port: rec.port, node: rec.node, ifname: rec.ifname, reason });
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

/**
 * An attach's IPv4 addresses and MAC as keys of Switch's address index,
 * per VLAN (`ipv4 10 A.B.C.D`, `mac 10 AA:..`): one address in two VLANs
 * is two hosts in two networks. An access port's addresses are in its
 * VLAN, a trunk's in its native VLAN; a trunk without one has none the
 * switch can know (they are on the container's VLAN interfaces).
 */
function addressKeys(spec: { addresses?: string[] | undefined; mac?: string | undefined }, vlan: PortVlan): string[] {
  const domain = vlan.mode === 'access' ? vlan.vlan : vlan.native;
  if (domain === undefined) return [];
  const keys = new Set<string>();
  for (const a of spec.addresses ?? []) {
    const v4 = ipv4Of(a);
    if (v4 !== undefined) keys.add(`ipv4 ${domain} ${v4}`);
  }
  if (spec.mac !== undefined) keys.add(`mac ${domain} ${spec.mac}`);
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
