/**
 * The binding to the native datapath (native/src/lib/switch.c): a thread in
 * this process that forwards frames between tap fds. JavaScript only adds,
 * removes and inspects ports here; no frame ever crosses into it. Struct
 * layouts follow native/include/containet.h.
 */
import { check, ContainetError, formatMac, native, type FdPoller, type PortCounters } from '@containet/common';

/** struct cn_port_stats: eight uint64 fields. */
const PORT_STATS_SIZE = 64;
/** struct cn_mac_record */
const MAC_RECORD_SIZE = 16;
/** struct cn_switch_event */
const EVENT_SIZE = 24;
/** struct cn_switch_status: six uint64 fields. */
const STATUS_SIZE = 48;

const PORT_VNET_HDR = 0x1;
const PORT_OFFLOAD = 0x2;
const PORT_VXLAN = 0x4;
/** struct cn_vxlan_stats: ten uint64 fields. */
const VXLAN_STATS_SIZE = 80;
/** struct cn_vxlan_remote_info */
const VXLAN_REMOTE_SIZE = 56;
/** CN_VXLAN_REMOTES_MAX */
export const VXLAN_REMOTES_MAX = 64;

export interface PortStats extends PortCounters {
  /** The tap carries a virtio_net_hdr (IFF_VNET_HDR). */
  vnetHdr: boolean;
  /** TUNSETOFFLOAD accepted: the container may send GSO frames. */
  offload: boolean;
  /** MAC table entries on this port. */
  macCount: number;
  /** A VXLAN uplink, not a tap. */
  vxlan: boolean;
}

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

export interface VxlanRemote {
  address: string;
  port: number;
  /** Index the MAC table refers to. */
  slot: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  macs: number;
}

export interface DatapathMac {
  mac: string;
  port: number;
  ageMs: number;
  /** Remote VTEP slot on a VXLAN uplink, -1 otherwise. */
  remote: number;
}

export interface DatapathStatus {
  ports: number;
  macs: number;
  macTableSize: number;
  macAgeMs: number;
  eventsLost: number;
  evictions: number;
}

export type DatapathEvent =
  | { type: 'port-down'; port: number; errno: number }
  | { type: 'mac-learned' | 'mac-aged' | 'mac-evicted' | 'mac-flushed'; port: number; mac: string }
  | { type: 'mac-moved'; port: number; from: number; mac: string }
  | { type: 'capture-down'; capture: number; port: number; errno: number };

const EVENT_TYPES = ['', 'port-down', 'mac-learned', 'mac-moved', 'mac-aged', 'mac-evicted', 'mac-flushed', 'capture-down'] as const;

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

function u64(buf: Buffer, index: number): number {
  return Number(buf.readBigUInt64LE(index * 8));
}

export class Datapath {
  #handle: number;
  #eventFd: number;
  #poller: FdPoller;
  #onEvent: (event: DatapathEvent) => void;
  #closed = false;
  #eventBuf = Buffer.alloc(EVENT_SIZE * 256);

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

  /** Counters of `port`, or null when it is gone. */
  stats(port: number): PortStats | null {
    const buf = Buffer.alloc(PORT_STATS_SIZE);
    if (Number(native().cn_switch_port_stats(this.#live(), port, buf)) < 0) return null;
    const flags = u64(buf, 6);
    return {
      rxPackets: u64(buf, 0),
      rxBytes: u64(buf, 1),
      txPackets: u64(buf, 2),
      txBytes: u64(buf, 3),
      drops: u64(buf, 4),
      errors: u64(buf, 5),
      vnetHdr: (flags & PORT_VNET_HDR) !== 0,
      offload: (flags & PORT_OFFLOAD) !== 0,
      macCount: u64(buf, 7),
      vxlan: (flags & PORT_VXLAN) !== 0,
    };
  }

  /** The MAC table, oldest entry first. */
  macs(): DatapathMac[] {
    let cap = 256;
    for (;;) {
      const buf = Buffer.alloc(MAC_RECORD_SIZE * cap);
      const n = check(Number(native().cn_switch_macs(this.#live(), buf, cap)), 'cn_switch_macs');
      if (n <= cap) {
        const out: DatapathMac[] = [];
        for (let i = 0; i < n; i++) {
          const at = i * MAC_RECORD_SIZE;
          out.push({
            mac: formatMac(buf.subarray(at, at + 6)),
            port: buf.readUInt32LE(at + 8),
            ageMs: buf.readUInt32LE(at + 12),
            remote: buf.readUInt16LE(at + 6) - 1,
          });
        }
        return out;
      }
      cap = n + 64;
    }
  }

  status(): DatapathStatus {
    const buf = Buffer.alloc(STATUS_SIZE);
    check(Number(native().cn_switch_status(this.#live(), buf)), 'cn_switch_status');
    return {
      ports: u64(buf, 0),
      macs: u64(buf, 1),
      macTableSize: u64(buf, 2),
      macAgeMs: u64(buf, 3),
      eventsLost: u64(buf, 4),
      evictions: u64(buf, 5),
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
    const buf = Buffer.alloc(16);
    if (Number(native().cn_switch_capture_stats(this.#live(), id, buf)) < 0) return null;
    return { written: u64(buf, 0), dropped: u64(buf, 1) };
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
    const st = Buffer.alloc(VXLAN_STATS_SIZE);
    const buf = Buffer.alloc(VXLAN_REMOTE_SIZE * VXLAN_REMOTES_MAX);
    const n = Number(native().cn_switch_vxlan_info(this.#live(), port, st, buf, VXLAN_REMOTES_MAX));
    if (n < 0) return null;
    const ipv4 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24].join('.');
    const remotes: VxlanRemote[] = [];
    for (let i = 0; i < Math.min(n, VXLAN_REMOTES_MAX); i++) {
      const at = i * VXLAN_REMOTE_SIZE;
      const r = (k: number) => Number(buf.readBigUInt64LE(at + 16 + k * 8));
      remotes.push({
        address: ipv4(buf.readUInt32LE(at)),
        port: buf.readUInt32LE(at + 4),
        slot: buf.readUInt32LE(at + 8),
        rxPackets: r(0),
        rxBytes: r(1),
        txPackets: r(2),
        txBytes: r(3),
        macs: r(4),
      });
    }
    return {
      stats: {
        vni: u64(st, 0),
        mtu: u64(st, 1),
        local: ipv4(u64(st, 2)),
        localPort: u64(st, 3),
        rxMalformed: u64(st, 4),
        rxBadVni: u64(st, 5),
        rxUnknownRemote: u64(st, 6),
        txTooBig: u64(st, 7),
        txSegmented: u64(st, 8),
        txBadGso: u64(st, 9),
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
    const max = buf.length / EVENT_SIZE;
    for (;;) {
      const n = Number(native().cn_switch_events(this.#handle, buf, max));
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const at = i * EVENT_SIZE;
        const type = EVENT_TYPES[buf.readUInt32LE(at)];
        const port = buf.readUInt32LE(at + 4);
        const mac = formatMac(buf.subarray(at + 16, at + 22));
        if (type === 'port-down') this.#onEvent({ type, port, errno: buf.readInt32LE(at + 12) });
        else if (type === 'capture-down') this.#onEvent({ type, capture: port, port: buf.readUInt32LE(at + 8), errno: buf.readInt32LE(at + 12) });
        else if (type === 'mac-moved') this.#onEvent({ type, port, from: buf.readUInt32LE(at + 8), mac });
        else if (type) this.#onEvent({ type, port, mac });
      }
      if (n < max) return;
    }
  }
}
