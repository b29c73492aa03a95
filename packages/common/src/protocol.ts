/**
 * The containet control protocol, shared by the switch daemon, its
 * management commands and containode. Requests and replies are JSON objects
 * in frames (framing.ts). Every request has a numeric `id` that its reply
 * echoes; the daemon may also push `event` messages to a connection.
 */

export const PROTOCOL_VERSION = 1;

export interface AttachRequest {
  op: 'attach';
  id: number;
  /** Container identity, unique on the switch. */
  node: string;
  /** Interface name inside the container (eth0). */
  ifname: string;
  /** The container's MAC, when known, as aa:bb:cc:dd:ee:ff. */
  mac?: string;
  /** Addresses in CIDR form, for display. */
  addresses?: string[];
  /** Pid of the attaching container, for display. */
  pid?: number;
  /**
   * Port lifetime. By default a port lives as long as the connection that
   * attached it (and its tap): when the attaching process dies, the kernel
   * closes the connection and the switch drops the port at once. Keep the
   * connection open for the container's life. With `persist: true` the port
   * outlives the connection and goes only on `detach` or when the tap dies
   * (its device deleted). Note that a tap opened inside a network namespace
   * keeps that namespace alive while any fd of it is open.
   */
  persist?: boolean;
  // The tap fd travels with this frame (SCM_RIGHTS).
}

/** Reply to attach: the port id and what the switch made of the tap. */
export interface AttachReply {
  port: number;
  /** Kernel name of the tap device. */
  tap: string;
  vnetHdr: boolean;
}

export interface DetachRequest {
  op: 'detach';
  id: number;
  /** Port id or node identity. */
  port: number | string;
}

export interface SimpleRequest {
  op: 'hello' | 'ports' | 'macs' | 'status';
  id: number;
}

/**
 * Ask for events on this connection: `port-attached` ({port: PortInfo}),
 * `port-detached` ({port, node, reason}), with `macs` also `mac-learned`,
 * `mac-moved` ({mac, port, from}), `mac-aged`, `mac-evicted`, `mac-flushed`
 * ({mac, port}), and with `counters` a `counters` event every second
 * ({ports: PortInfo[], time}).
 */
export interface SubscribeRequest {
  op: 'subscribe';
  id: number;
  macs?: boolean;
  counters?: boolean;
}

export type ControlRequest =
  | AttachRequest
  | DetachRequest
  | SimpleRequest
  | SubscribeRequest
  | { op: string; id: number; [k: string]: unknown };

/** Reply to status. */
/** What a switch reports of itself (containet's Switch.status()). */
export interface SwitchStatus {
  pid: number;
  uptime: number;
  ports: number;
  macs: number;
  macTableSize: number;
  macAgeSeconds: number;
  macEventsLost: number;
  macEvictions: number;
}

/** The daemon's `status` reply: the switch's status, and the daemon's own. */
export interface SwitchStatusReply extends SwitchStatus {
  version: number;
  socket: string;
  /** The daemon's memory in bytes (process.memoryUsage()): rss, and the JS heap apart from it. */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
}

export type ControlReply<T = Record<string, unknown>> =
  | ({ id: number; ok: true } & T)
  | { id: number; ok: false; error: ErrorBody };

export interface PortCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  errors: number;
}

export interface PortInfo {
  port: number;
  node: string;
  ifname: string;
  tap: string;
  pid?: number;
  addresses: string[];
  macs: string[];
  vnetHdr: boolean;
  counters: PortCounters;
}

export interface MacEntry {
  mac: string;
  port: number;
  /** Seconds since last seen. */
  age: number;
  /** On a VXLAN uplink port: the remote VTEP (ADDR:PORT) the MAC is behind. */
  vtep?: string;
}

export interface ControlEvent {
  event: string;
  [k: string]: unknown;
}
