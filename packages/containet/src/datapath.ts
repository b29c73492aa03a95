/**
 * The binding to the native datapath (native/src/lib/switch.c): a thread in
 * this process that forwards frames between tap fds. JavaScript only adds,
 * removes and inspects ports here; no frame ever crosses into it. The
 * structs it fills are declared once in common (native-types.ts, checked
 * against containet.h) and decoded through those declarations.
 */
import {
  check,
  CN,
  ContainetError,
  decodeStruct,
  decodeStructs,
  formatMac,
  native,
  structSize,
  type FdPoller,
  type PortCounters,
  type VxlanRemoteInfo,
} from '@containet/common';

export const VXLAN_REMOTES_MAX = CN.VXLAN_REMOTES_MAX;

/** Events the datapath queues, by CN_EV_* type. */
const EVENT_TYPES: Record<number, DatapathEvent['type']> = {
  [CN.EV_PORT_DOWN]: 'port-down',
  [CN.EV_MAC_LEARNED]: 'mac-learned',
  [CN.EV_MAC_MOVED]: 'mac-moved',
  [CN.EV_MAC_AGED]: 'mac-aged',
  [CN.EV_MAC_EVICTED]: 'mac-evicted',
  [CN.EV_MAC_FLUSHED]: 'mac-flushed',
  [CN.EV_CAPTURE_DOWN]: 'capture-down',
};

/** How many events one cn_switch_events() call takes. */
const EVENT_BATCH = 256;

export interface PortStats extends PortCounters {
  /** The tap carries a virtio_net_hdr (IFF_VNET_HDR). */
  vnetHdr: boolean;
  /** TUNSETOFFLOAD accepted: the container may send GSO frames. */
  offload: boolean;
  /** MAC table entries on this port. */
  macCount: number;
  /** A VXLAN uplink, not a tap. */
  vxlan: boolean;
  /** Frames received with a VLAN the port does not carry. */
  vlanDrops: number;
  /** Frames the impairments' loss draws dropped (both directions). */
  impairLost: number;
  /** Frames dropped because an impairment queue was full. */
  queueDrops: number;
  /** Frame bytes waiting in the impairment queues. */
  queuedBytes: number;
}

/** A port's 802.1Q membership as the datapath takes it. */
export type DatapathVlan = { mode: 'access'; vlan: number } | { mode: 'trunk'; allowed: number[]; native?: number | undefined };

/** Impairment parameters in the datapath's units (CN_IMP_*): nanoseconds, bits per second, parts per 10^9. */
export interface DatapathImpairment {
  delayNs?: number;
  jitterNs?: number;
  distribution?: 'uniform' | 'normal' | 'pareto' | 'paretonormal';
  lossPpb?: number;
  gilbert?: { pPpb: number; rPpb: number; badPpb: number; goodPpb: number };
  rateBps?: number;
  limitBytes?: number;
  duplicatePpb?: number;
  reorderPpb?: number;
  corruptPpb?: number;
  seed?: number;
}

const DISTRIBUTIONS = { uniform: CN.DIST_UNIFORM, normal: CN.DIST_NORMAL, pareto: CN.DIST_PARETO, paretonormal: CN.DIST_PARETONORMAL } as const;

/** Figures of a VXLAN uplink (struct cn_vxlan_stats). */
export interface VxlanStats {
  vni: number;
  mtu: number;
  local: string;
  localPort: number;
  /** Dropped on receipt: truncated, I flag clear. */
  rxMalformed: number;
  /** Dropped on receipt: another VNI. */
  rxBadVni: number;
  /** Dropped on receipt: the sender is no configured remote. */
  rxUnknownRemote: number;
  /** Not sent: a non-GSO frame bigger than the uplink MTU allows. */
  txTooBig: number;
  /** GSO frames cut into segments for the uplink. */
  txSegmented: number;
  /** GSO frames that could not be segmented (dropped). */
  txBadGso: number;
}

/** A remote VTEP as the datapath reports it: the protocol's type, declared once in common. */
export type VxlanRemote = VxlanRemoteInfo;

export interface DatapathMac {
  mac: string;
  port: number;
  ageMs: number;
  /** Remote VTEP slot on a VXLAN uplink, -1 otherwise. */
  remote: number;
  /** VLAN it was learned in. */
  vlan: number;
}

export interface DatapathStatus {
  ports: number;
  macs: number;
  macTableSize: number;
  macAgeMs: number;
  eventsLost: number;
  evictions: number;
  /** How frames move: 'io_uring' (batched, the default where the kernel has it) or 'epoll' (a read and a write per frame). */
  datapath: 'io_uring' | 'epoll';
}

export type DatapathEvent =
  | { type: 'port-down'; port: number; errno: number }
  | { type: 'mac-learned' | 'mac-aged' | 'mac-evicted' | 'mac-flushed'; port: number; mac: string }
  | { type: 'mac-moved'; port: number; from: number; mac: string }
  | { type: 'capture-down'; capture: number; port: number; errno: number };

export interface CaptureStats {
  written: number;
  dropped: number;
}

export interface DatapathOptions {
  /** MAC table entries (bounded; the oldest is evicted when full). */
  macTableSize: number;
  /** MAC aging in milliseconds; 0 never ages. */
  macAgeMs: number;
  /** Watches the event fd; shared with the control server. */
  poller: FdPoller;
  onEvent: (event: DatapathEvent) => void;
}

export class Datapath {
  #handle: number;
  #eventFd: number;
  #poller: FdPoller;
  #onEvent: (event: DatapathEvent) => void;
  #closed = false;
  #eventBuf = Buffer.alloc(structSize('cn_switch_event') * EVENT_BATCH);

  constructor(opts: DatapathOptions) {
    this.#handle = check(Number(native().cn_switch_create(opts.macTableSize, opts.macAgeMs)), 'cn_switch_create');
    this.#eventFd = Number(native().cn_switch_event_fd(this.#handle));
    this.#poller = opts.poller;
    this.#onEvent = opts.onEvent;
    this.#poller.add(this.#eventFd, () => this.#drainEvents());
  }

  #live(): number {
    if (this.#closed) throw new ContainetError('CN_CLOSED', 'the switch datapath is closed');
    return this.#handle;
  }

  /** Attach tap `fd`; the datapath owns it from now on. Returns the port id. */
  addPort(fd: number): number {
    return check(Number(native().cn_switch_port_add(this.#live(), fd)), 'cn_switch_port_add');
  }

  /** Detach a port and close its tap; false when it is already gone. */
  removePort(port: number): boolean {
    return Number(native().cn_switch_port_del(this.#live(), port)) === 0;
  }

  ports(): number[] {
    let ids = new Uint32Array(64);
    for (;;) {
      const n = check(Number(native().cn_switch_ports(this.#live(), ids, ids.length)), 'cn_switch_ports');
      if (n <= ids.length) return Array.from(ids.subarray(0, n));
      ids = new Uint32Array(n + 16);
    }
  }

  /** Set the 802.1Q membership of `port` (flushes its MACs). Throws EINVAL for a VLAN outside 1..4094 or a repeated one, ENOENT. */
  setVlan(port: number, vlan: DatapathVlan): void {
    const allowed = vlan.mode === 'trunk' ? Uint16Array.from(vlan.allowed) : new Uint16Array(0);
    const mode = vlan.mode === 'trunk' ? CN.VLAN_TRUNK : CN.VLAN_ACCESS;
    const pvid = vlan.mode === 'trunk' ? (vlan.native ?? 0) : vlan.vlan;
    check(Number(native().cn_switch_port_vlan(this.#live(), port, mode, pvid, allowed, allowed.length)), 'cn_switch_port_vlan');
  }

  /**
   * Replace the impairments of one direction of `port` (null removes
   * them); frames that direction had queued are dropped. Throws EINVAL
   * for a value the datapath refuses, ENOENT, ENOMEM.
   */
  setImpairment(port: number, direction: 'in' | 'out', imp: DatapathImpairment | null): void {
    const dir = direction === 'in' ? CN.DIR_IN : CN.DIR_OUT;
    if (!imp) {
      check(Number(native().cn_switch_port_impair(this.#live(), port, dir, null, 0)), 'cn_switch_port_impair');
      return;
    }
    const v = new BigUint64Array(CN.IMP_COUNT);
    const put = (i: number, n: number | undefined) => {
      if (n !== undefined) v[i] = BigInt(Math.round(n));
    };
    put(CN.IMP_DELAY_NS, imp.delayNs);
    put(CN.IMP_JITTER_NS, imp.jitterNs);
    put(CN.IMP_DIST, imp.distribution === undefined ? undefined : DISTRIBUTIONS[imp.distribution]);
    put(CN.IMP_LOSS, imp.lossPpb);
    if (imp.gilbert) {
      put(CN.IMP_GILBERT, 1);
      put(CN.IMP_GE_P, imp.gilbert.pPpb);
      put(CN.IMP_GE_R, imp.gilbert.rPpb);
      put(CN.IMP_GE_BAD, imp.gilbert.badPpb);
      put(CN.IMP_GE_GOOD, imp.gilbert.goodPpb);
    }
    put(CN.IMP_RATE_BPS, imp.rateBps);
    put(CN.IMP_LIMIT, imp.limitBytes);
    put(CN.IMP_DUP, imp.duplicatePpb);
    put(CN.IMP_REORDER, imp.reorderPpb);
    put(CN.IMP_CORRUPT, imp.corruptPpb);
    put(CN.IMP_SEED, imp.seed);
    check(Number(native().cn_switch_port_impair(this.#live(), port, dir, v, CN.IMP_COUNT)), 'cn_switch_port_impair');
  }

  /** Counters of `port`, or null when it is gone. */
  stats(port: number): PortStats | null {
    const buf = Buffer.alloc(structSize('cn_port_stats'));
    if (Number(native().cn_switch_port_stats(this.#live(), port, buf)) < 0) return null;
    const st = decodeStruct('cn_port_stats', buf);
    return {
      rxPackets: st.rx_packets,
      rxBytes: st.rx_bytes,
      txPackets: st.tx_packets,
      txBytes: st.tx_bytes,
      drops: st.drops,
      errors: st.errors,
      vnetHdr: (st.flags & CN.PORT_VNET_HDR) !== 0,
      offload: (st.flags & CN.PORT_OFFLOAD) !== 0,
      macCount: st.mac_count,
      vxlan: (st.flags & CN.PORT_VXLAN) !== 0,
      vlanDrops: st.vlan_drops,
      impairLost: st.impair_lost,
      queueDrops: st.queue_drops,
      queuedBytes: st.queued_bytes,
    };
  }

  /** The MAC table, oldest entry first. */
  macs(): DatapathMac[] {
    let cap = 256;
    for (;;) {
      const buf = Buffer.alloc(structSize('cn_mac_record') * cap);
      const n = check(Number(native().cn_switch_macs(this.#live(), buf, cap)), 'cn_switch_macs');
      if (n <= cap) {
        return decodeStructs('cn_mac_record', buf, n).map((r) => ({ mac: formatMac(r.mac), port: r.port, ageMs: r.age_ms, remote: r.remote - 1, vlan: r.vlan }));
      }
      cap = n + 64;
    }
  }

  status(): DatapathStatus {
    const buf = Buffer.alloc(structSize('cn_switch_status'));
    check(Number(native().cn_switch_status(this.#live(), buf)), 'cn_switch_status');
    const st = decodeStruct('cn_switch_status', buf);
    return {
      ports: st.ports,
      macs: st.macs,
      macTableSize: st.mac_table_size,
      macAgeMs: st.mac_age_ms,
      eventsLost: st.events_lost,
      evictions: st.evictions,
      datapath: st.io_uring ? 'io_uring' : 'epoll',
    };
  }

  /** Report MAC learned/moved/aged events too (port-down always is). */
  watchMacs(on: boolean): void {
    native().cn_switch_watch_macs(this.#live(), on ? 1 : 0);
  }

  /**
   * Mirror port `port` (0: every frame) as a pcap stream into `fd`, a socket
   * or pipe the datapath owns from now on. Returns the capture id.
   */
  addCapture(port: number, fd: number, snaplen = 262144): number {
    return check(Number(native().cn_switch_capture_add(this.#live(), port, fd, snaplen)), 'cn_switch_capture_add');
  }

  /** Stop a capture (closing its fd); false when it already ended. */
  removeCapture(id: number): boolean {
    return Number(native().cn_switch_capture_del(this.#live(), id)) === 0;
  }

  captureStats(id: number): CaptureStats | null {
    const buf = Buffer.alloc(structSize('cn_capture_stats'));
    if (Number(native().cn_switch_capture_stats(this.#live(), id, buf)) < 0) return null;
    const st = decodeStruct('cn_capture_stats', buf);
    return { written: st.written, dropped: st.dropped };
  }

  /**
   * Add a VXLAN uplink port: a UDP socket the datapath binds to
   * `local`:`port` (IPv4) for VNI `vni` over an underlay of MTU `mtu`.
   * Returns the port id.
   */
  addVxlan(local: string, port: number, vni: number, mtu: number): number {
    return check(Number(native().cn_switch_vxlan_add(this.#live(), local, port, vni, mtu)), 'cn_switch_vxlan_add');
  }

  /** Add remote VTEP `address`:`udpPort` to uplink `port`. */
  addVxlanRemote(port: number, address: string, udpPort: number): void {
    check(Number(native().cn_switch_vxlan_remote(this.#live(), port, address, udpPort, 1)), 'cn_switch_vxlan_remote');
  }

  /** Remove remote VTEP `address` (and the MACs behind it) from uplink `port`. */
  removeVxlanRemote(port: number, address: string): void {
    check(Number(native().cn_switch_vxlan_remote(this.#live(), port, address, 0, 0)), 'cn_switch_vxlan_remote');
  }

  /** Figures and remotes of uplink `port`, or null when it is no uplink. */
  vxlanInfo(port: number): { stats: VxlanStats; remotes: VxlanRemote[] } | null {
    const stBuf = Buffer.alloc(structSize('cn_vxlan_stats'));
    const buf = Buffer.alloc(structSize('cn_vxlan_remote_info') * VXLAN_REMOTES_MAX);
    const n = Number(native().cn_switch_vxlan_info(this.#live(), port, stBuf, buf, VXLAN_REMOTES_MAX));
    if (n < 0) return null;
    // Addresses are in network byte order in the low 32 bits: the first octet is the lowest byte.
    const ipv4 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24].join('.');
    const remotes: VxlanRemote[] = decodeStructs('cn_vxlan_remote_info', buf, Math.min(n, VXLAN_REMOTES_MAX)).map((r) => ({
      address: ipv4(r.addr),
      port: r.port,
      slot: r.slot,
      rxPackets: r.rx_packets,
      rxBytes: r.rx_bytes,
      txPackets: r.tx_packets,
      txBytes: r.tx_bytes,
      macs: r.macs,
    }));
    const st = decodeStruct('cn_vxlan_stats', stBuf);
    return {
      stats: {
        vni: st.vni,
        mtu: st.mtu,
        local: ipv4(st.local_addr),
        localPort: st.local_port,
        rxMalformed: st.rx_malformed,
        rxBadVni: st.rx_bad_vni,
        rxUnknownRemote: st.rx_unknown_remote,
        txTooBig: st.tx_too_big,
        txSegmented: st.tx_segmented,
        txBadGso: st.tx_bad_gso,
      },
      remotes,
    };
  }

  /** Stop the thread and close every port. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#drainEvents();
    this.#closed = true;
    this.#poller.delete(this.#eventFd);
    native().cn_switch_destroy(this.#handle);
  }

  #drainEvents(): void {
    if (this.#closed) return;
    const buf = this.#eventBuf;
    for (;;) {
      const n = Number(native().cn_switch_events(this.#handle, buf, EVENT_BATCH));
      if (n <= 0) return;
      for (const ev of decodeStructs('cn_switch_event', buf, n)) {
        const type = EVENT_TYPES[ev.type];
        if (type === 'port-down') this.#onEvent({ type, port: ev.port, errno: ev.err });
        else if (type === 'capture-down') this.#onEvent({ type, capture: ev.port, port: ev.other, errno: ev.err });
        else if (type === 'mac-moved') this.#onEvent({ type, port: ev.port, from: ev.other, mac: formatMac(ev.mac) });
        else if (type) this.#onEvent({ type, port: ev.port, mac: formatMac(ev.mac) });
      }
      if (n < EVENT_BATCH) return;
    }
  }
}
