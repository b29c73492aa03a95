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
  // The tap fd travels with this frame (SCM_RIGHTS).
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

export type ControlRequest = AttachRequest | DetachRequest | SimpleRequest | { op: string; id: number; [k: string]: unknown };

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
}

export interface ControlEvent {
  event: string;
  [k: string]: unknown;
}
