/**
 * The containet control protocol, shared by the switch daemon, its
 * management commands and containode. Requests and replies are JSON objects
 * in frames of at most MAX_FRAME bytes (framing.ts). Every request has a
 * numeric `id` that its reply echoes; the daemon may also push `event`
 * messages to a connection. Each message is declared here once;
 * protocol-decode.ts turns what arrives into these types or a CN_PROTO_*
 * error naming the field.
 *
 * Listings (`ports`, `macs`) may be longer than one frame: the daemon sends
 * them as a sequence of reply frames with the same id, each carrying a
 * part of the list and `more: true`, and a last one without `more`. It
 * writes the next part only once the connection has taken the previous
 * ones, so a listing of any size costs the daemon one frame of buffer.
 */

/** 2: listings stream in parts (`more`), PortInfo.macs is bounded (macCount). */
export const PROTOCOL_VERSION = 2;

/** PortInfo.macs lists at most this many of a port's MACs; macCount has them all. */
export const PORT_MACS_SHOWN = 8;

// ---------------------------------------------------------------- requests

export interface HelloRequest {
  op: 'hello';
  id: number;
}

export interface AttachRequest {
  op: 'attach';
  id: number;
  /** Container identity, unique on the switch. */
  node: string;
  /** Interface name inside the container (eth0). */
  ifname?: string | undefined;
  /** The container's MAC, when known, as aa:bb:cc:dd:ee:ff. */
  mac?: string | undefined;
  /** Addresses in CIDR form, for display (at most 64). */
  addresses?: string[] | undefined;
  /** Pid of the attaching container, for display. */
  pid?: number | undefined;
  /**
   * Port lifetime. By default a port lives as long as the connection that
   * attached it (and its tap): when the attaching process dies, the kernel
   * closes the connection and the switch drops the port at once. Keep the
   * connection open for the container's life. With `persist: true` the port
   * outlives the connection and goes only on `detach` or when the tap dies
   * (its device deleted). Note that a tap opened inside a network namespace
   * keeps that namespace alive while any fd of it is open.
   */
  persist?: boolean | undefined;
  /** 802.1Q membership of the new port (default: access VLAN 1). */
  vlan?: PortVlan | undefined;
  // The tap fd travels with this frame (SCM_RIGHTS).
}

export interface DetachRequest {
  op: 'detach';
  id: number;
  /** Port id or node identity. */
  port: number | string;
  /**
   * Also refuse this node's attaches from now on, across switch restarts
   * (kept in the state directory), as `docker network disconnect` stays
   * disconnected: a re-attacher (containode) gets CN_DETACHED_PERMANENTLY
   * and stops. `undetach` lifts it.
   */
  permanent?: boolean | undefined;
}

/** Lift a permanent detach: `node` may attach again. */
export interface UndetachRequest {
  op: 'undetach';
  id: number;
  node: string;
}

export interface PortsRequest {
  op: 'ports';
  id: number;
}

export interface MacsRequest {
  op: 'macs';
  id: number;
}

export interface StatusRequest {
  op: 'status';
  id: number;
}

/**
 * Ask for events on this connection (ControlEvent): port attach/detach,
 * with `macs` also MAC table changes (MacChangesEvent), with `counters` a `counters` event
 * (in parts, see CountersEvent) every second.
 */
export interface SubscribeRequest {
  op: 'subscribe';
  id: number;
  macs?: boolean | undefined;
  counters?: boolean | undefined;
}

/** Mirror a port (or `all`) into the socket or pipe passed with the request. */
export interface CaptureRequest {
  op: 'capture';
  id: number;
  port: number | string;
  /** Bytes kept per frame, 64..262144. */
  snaplen?: number | undefined;
  /** A pcap-filter(7) expression run in the datapath: only matching frames are captured. */
  filter?: string | undefined;
}

/** Give the host a port with ADDR/PREFIX, optionally masquerading its subnet. */
export interface HostAddRequest {
  op: 'host-add';
  id: number;
  address: string;
  nat?: boolean | undefined;
}

/** Remove the host's port: its tap, address, NAT rules; ip_forward as it was. */
export interface HostDelRequest {
  op: 'host-del';
  id: number;
}

export interface VxlanShowRequest {
  op: 'vxlan-show';
  id: number;
}

export interface VxlanAddRequest {
  op: 'vxlan-add';
  id: number;
  vni: number | string;
  /** ADDR[:PORT] */
  local: string;
  /** ADDR[:PORT] each */
  remotes?: string[] | undefined;
  /** Underlay MTU (default 1500). */
  mtu?: number | string | undefined;
}

export interface VxlanRemoteAddRequest {
  op: 'vxlan-remote-add';
  id: number;
  remote: string;
}

export interface VxlanRemoteDelRequest {
  op: 'vxlan-remote-del';
  id: number;
  remote: string;
}

/** Remove the VXLAN uplink (its port, UDP socket and remotes). */
export interface VxlanDelRequest {
  op: 'vxlan-del';
  id: number;
}

/**
 * 802.1Q membership of a port, as a Linux bridge port or an Open vSwitch
 * port has it. `access`: the container sends and receives untagged frames,
 * which belong to `vlan` (carried tagged on trunks). `trunk`: frames tagged
 * with one of `allowed` pass with their tag; untagged frames belong to
 * `native` when it is set and are dropped otherwise. VLAN ids are 1..4094.
 */
export type PortVlan =
  | { mode: 'access'; vlan: number }
  | { mode: 'trunk'; allowed: number[]; native?: number | undefined };

/**
 * Impairments of one direction of a port, applied in the datapath (netem's
 * model, tc-netem(8)). All optional; an absent field is no impairment.
 */
export interface LinkImpairment {
  /** Added delay, microseconds. */
  delayUs?: number | undefined;
  /** Delay variation, microseconds, drawn from `distribution`. */
  jitterUs?: number | undefined;
  distribution?: 'uniform' | 'normal' | 'pareto' | 'paretonormal' | undefined;
  /** Random loss, percent (0..100). */
  lossPercent?: number | undefined;
  /**
   * Bursty loss, Gilbert-Elliott: p = good to bad, r = bad to good,
   * badLoss / goodLoss = loss in each state, all percent (tc-netem's
   * `loss gemodel p r 1-h 1-k`).
   */
  lossGilbert?: { p: number; r: number; badLoss?: number | undefined; goodLoss?: number | undefined } | undefined;
  /** Rate limit in bits per second on the wire (GSO frames count by their segments' wire bytes). */
  rateBps?: number | undefined;
  /** Bytes a rate-limited or delayed direction may queue before dropping. */
  queueLimitBytes?: number | undefined;
  duplicatePercent?: number | undefined;
  reorderPercent?: number | undefined;
  corruptPercent?: number | undefined;
  /** Seed for the random draws, for reproducible runs. */
  seed?: number | undefined;
}

/**
 * Change a live port: its VLAN membership and/or the impairments of a
 * direction. `in` is what the switch receives from the port (the container
 * sending), `out` what the switch sends to it.
 */
export interface PortSetRequest {
  op: 'port-set';
  id: number;
  /** Port id, NODE (its only port) or NODE:IFNAME. */
  port: number | string;
  vlan?: PortVlan | undefined;
  /** Which direction `impair` or `clear` applies to (default both). */
  direction?: 'in' | 'out' | 'both' | undefined;
  /** Replaces the direction's impairments. */
  impair?: LinkImpairment | undefined;
  /** Removes the direction's impairments. */
  clear?: boolean | undefined;
}

export type ControlRequest =
  | HelloRequest
  | AttachRequest
  | DetachRequest
  | UndetachRequest
  | PortsRequest
  | MacsRequest
  | StatusRequest
  | SubscribeRequest
  | CaptureRequest
  | HostAddRequest
  | HostDelRequest
  | VxlanShowRequest
  | VxlanAddRequest
  | VxlanRemoteAddRequest
  | VxlanRemoteDelRequest
  | VxlanDelRequest
  | PortSetRequest;

export type ControlOp = ControlRequest['op'];

/** A request of operation `K`. */
export type RequestOf<K extends ControlOp> = Extract<ControlRequest, { op: K }>;

/** What a caller writes: a request without its id (the client adds it). */
export type RequestBody<K extends ControlOp = ControlOp> = K extends ControlOp ? Omit<RequestOf<K>, 'id'> : never;

// ---------------------------------------------------------------- replies

export interface HelloReply {
  version: number;
  pid: number;
}

/** Reply to attach: the port id and what the switch made of the tap. */
export interface AttachReply {
  port: number;
  /** Kernel name of the tap device. */
  tap: string;
  vnetHdr: boolean;
}

export interface DetachReply {
  port: number;
  node: string;
}

export interface UndetachReply {
  node: string;
  /** Whether the node was permanently detached (false: nothing to lift). */
  lifted: boolean;
}

export interface PortCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  errors: number;
  /** Frames received with a VLAN the port does not carry. */
  vlanDrops?: number;
  /** Frames the impairments' loss draws dropped (both directions). */
  impairLost?: number;
  /** Frames dropped because an impairment queue was full (its bound: queueLimitBytes). */
  queueDrops?: number;
  /** Frame bytes waiting in the impairment queues now. */
  queuedBytes?: number;
}

export interface PortInfo {
  port: number;
  node: string;
  ifname: string;
  tap: string;
  pid?: number;
  addresses: string[];
  /** Some of the MACs on this port (at most PORT_MACS_SHOWN; the attach's own first). */
  macs: string[];
  /** How many MAC table entries point at this port. */
  macCount: number;
  vnetHdr: boolean;
  counters: PortCounters;
  /** 802.1Q membership (absent from switches that predate VLANs: access 1). */
  vlan?: PortVlan;
  /** Impairments in force, per direction. */
  impair?: { in?: LinkImpairment; out?: LinkImpairment };
}

/** Reply to port-set: the port as it now is. */
export interface PortSetReply {
  port: PortInfo;
}

export interface PortsReply {
  ports: PortInfo[];
}

export interface MacEntry {
  mac: string;
  port: number;
  /** Seconds since last seen. */
  age: number;
  /** On a VXLAN uplink port: the remote VTEP (ADDR:PORT) the MAC is behind. */
  vtep?: string;
  /** The VLAN it was learned in (MACs are learned per VLAN). */
  vlan?: number;
}

export interface MacsReply {
  macs: MacEntry[];
}

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

/** The daemon's memory in bytes (process.memoryUsage()): rss, and the JS heap apart from it. */
export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** The daemon's control clients. */
export interface ClientFigures {
  /** Control connections open now. */
  connections: number;
  /** Dashboard WebSocket clients. */
  dashboard: number;
  /** Connections refused or dropped since start (limits, timeouts, slow readers). */
  refused: number;
  dropped: number;
}

/** The switch's status with the daemon's own figures: a new observer's first view. */
export interface SwitchStatusReply extends SwitchStatus {
  version: number;
  socket: string;
  memory: MemoryFigures;
}

export interface CaptureInfo {
  capture: number;
  port: number;
  written: number;
  dropped: number;
}

/** A remote VTEP of the uplink and its traffic. */
export interface VxlanRemoteInfo {
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

/** The VXLAN uplink: settings, drop counters per reason, remotes. */
export interface VxlanUplinkInfo extends PortCounters {
  /** The uplink's switch port. */
  port: number;
  vni: number;
  mtu: number;
  /** Largest inner IP packet (the containers' MTU for unsegmented traffic). */
  innerMtu: number;
  local: string;
  localPort: number;
  rxMalformed: number;
  rxBadVni: number;
  rxUnknownRemote: number;
  txTooBig: number;
  txSegmented: number;
  txBadGso: number;
  remotes: VxlanRemoteInfo[];
}

export interface StatusReply {
  status: SwitchStatusReply & { captures: CaptureInfo[]; vxlan: VxlanUplinkInfo | null; clients: ClientFigures };
}

export interface SubscribeReply {
  subscribed: { macs: boolean; counters: boolean };
}

export interface CaptureReply {
  capture: number;
  port: number;
}

export interface HostAddReply {
  port: number;
  ifname: string;
  address: string;
  subnet: string;
  nat: boolean;
}

export interface HostDelReply {
  port: number;
  ifname: string;
  address: string;
}

export interface VxlanDelReply {
  port: number;
  vni: number;
}

export interface VxlanReply {
  vxlan: VxlanUplinkInfo | null;
}

/** The reply body of each operation. */
export interface ReplyBodies {
  hello: HelloReply;
  attach: AttachReply;
  detach: DetachReply;
  undetach: UndetachReply;
  ports: PortsReply;
  macs: MacsReply;
  status: StatusReply;
  subscribe: SubscribeReply;
  capture: CaptureReply;
  'host-add': HostAddReply;
  'host-del': HostDelReply;
  'vxlan-show': VxlanReply;
  'vxlan-add': VxlanReply;
  'vxlan-remote-add': VxlanReply;
  'vxlan-remote-del': VxlanReply;
  'vxlan-del': VxlanDelReply;
  'port-set': PortSetReply;
}

export type ReplyOf<K extends ControlOp> = ReplyBodies[K];

/** The operations whose replies come in parts, and the list each carries. */
export const LISTING_KEYS = { ports: 'ports', macs: 'macs' } as const;
export type ListingOp = keyof typeof LISTING_KEYS;

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
}

/**
 * A reply frame. `more: true` marks a part of a listing with more to come.
 * An error with id 0 answers no request: the daemon refuses or drops the
 * connection and says why before closing.
 */
export type ControlReply<T = unknown> =
  | ({ id: number; ok: true; more?: boolean } & T)
  | { id: number; ok: false; error: ErrorBody };

// ---------------------------------------------------------------- events

export interface PortAttachedEvent {
  event: 'port-attached';
  port: PortInfo;
}

export interface PortDetachedEvent {
  event: 'port-detached';
  port: number;
  node: string;
  reason: string;
}

/** One change of the MAC table (an element of MacChangesEvent). */
export interface MacChange {
  change: 'learned' | 'moved' | 'aged' | 'evicted' | 'flushed';
  mac: string;
  port: number;
  /** With `moved`: the port it was on. */
  from?: number;
}

/**
 * MAC table changes, gathered for up to MAC_CHANGES_WINDOW_MS: at most
 * MAC_CHANGES_MAX of them. With more (a flood of new sources) the rest of
 * the window's changes are not reported: `lost` is then non-zero (a lower
 * bound) and a subscriber that needs the table lists it (`macs`). One
 * message per window, whatever the rate, so that fanning changes out to
 * many subscribers stays cheap.
 */
export interface MacChangesEvent {
  event: 'mac-changes';
  changes: MacChange[];
  lost: number;
}

export const MAC_CHANGES_WINDOW_MS = 100;
export const MAC_CHANGES_MAX = 800;

export interface PortRates {
  rxBps: number;
  txBps: number;
  rxPps: number;
  txPps: number;
}

export type RatedPort = PortInfo & { rates: PortRates };

/**
 * Every second, each port's counters and rates. A switch with many ports
 * sends them in several events of one `time`; all but the last have
 * `more: true`.
 */
export interface CountersEvent {
  event: 'counters';
  time: number;
  macCount: number;
  ports: RatedPort[];
  more?: boolean;
}

export type ControlEvent = PortAttachedEvent | PortDetachedEvent | MacChangesEvent | CountersEvent;

// ---------------------------------------------------------------- dashboard

/** The dashboard's first message: the state the page starts from. */
export interface DashboardSnapshot {
  event: 'snapshot';
  admin: boolean;
  ports: PortInfo[];
  /** The newest MAC entries, at most DASHBOARD_MACS of them; status.macs has the count. */
  macs: MacEntry[];
  status: SwitchStatusReply;
}

/** The most MAC entries a dashboard snapshot carries. */
export const DASHBOARD_MACS = 1000;

/**
 * Every DASHBOARD_MAC_AGES_MS, the newest MAC entries again with the ages
 * the datapath reports (a MAC refreshed by traffic is not a change, so
 * only this keeps the page's ages equal to `containet macs`).
 */
export interface DashboardMacs {
  event: 'macs';
  macs: MacEntry[];
}

export const DASHBOARD_MAC_AGES_MS = 2000;

/** A refused dashboard request. */
export interface DashboardError {
  event: 'error';
  code: string;
  message: string;
}

/** The one request a dashboard client may send (with the admin token). */
export interface DashboardDetachRequest {
  op: 'detach';
  port: number | string;
  adminToken: string;
}

/** A port change from a dashboard client (as containet port set), with the admin token. */
export interface DashboardPortSetRequest extends Omit<PortSetRequest, 'op' | 'id'> {
  op: 'port-set';
  adminToken: string;
}

/** What a dashboard client may ask, each with the admin token. */
export type DashboardRequest = DashboardDetachRequest | DashboardPortSetRequest;

export type DashboardMessage = DashboardSnapshot | DashboardMacs | DashboardError | ControlEvent;

// The decoders of these messages (type-only imports there: no cycle at run time).
export * from './protocol-decode.js';
