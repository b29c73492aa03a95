/**
 * Decoding of the control protocol (protocol.ts) at both ends: what came
 * out of a frame becomes a typed request, reply or event, or a
 * ContainetError CN_PROTO_* whose message names the field. Decoders only
 * check shapes and types; what a value means (a valid node identity, a
 * known port) is the daemon's business.
 */
import { ContainetError } from './errors.js';
import type {
  ControlEvent,
  ControlOp,
  ControlReply,
  ControlRequest,
  DashboardRequest,
  ErrorBody,
  LinkImpairment,
  MacChange,
  MacChangesEvent,
  MacEntry,
  PortCounters,
  PortInfo,
  PortVlan,
  RatedPort,
  ReplyBodies,
  SwitchStatusReply,
  VxlanRemoteInfo,
  VxlanUplinkInfo,
} from './protocol.js';

/** A checker: returns `v` as a T or throws CN_PROTO_INVALID naming `at`. */
export type Check<T> = (v: unknown, at: string) => T;

function invalid(at: string, what: string): ContainetError {
  return new ContainetError('CN_PROTO_INVALID', `${at} must be ${what}`);
}

export const num: Check<number> = (v, at) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(at, 'a number');
  return v;
};

export const int: Check<number> = (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(at, 'a whole number');
  return v;
};

export const str: Check<string> = (v, at) => {
  if (typeof v !== 'string') throw invalid(at, 'a string');
  return v;
};

export const bool: Check<boolean> = (v, at) => {
  if (typeof v !== 'boolean') throw invalid(at, 'true or false');
  return v;
};

/** A number or a string (a port id or a node identity, a VNI given either way). */
export const numOrStr: Check<number | string> = (v, at) => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw invalid(at, 'a number or a string');
};

/** Absent (undefined or null) or a T. */
export function opt<T>(check: Check<T>): Check<T | undefined> {
  return (v, at) => (v === undefined || v === null ? undefined : check(v, at));
}

export function list<T>(check: Check<T>, max = Infinity): Check<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) throw invalid(at, 'a list');
    if (v.length > max) throw invalid(at, `a list of at most ${max}`);
    return v.map((x, i) => check(x, `${at}[${i}]`));
  };
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (v, at) => (v === null ? null : check(v, at));
}

type Shape<T> = { [K in keyof T]-?: Check<T[K]> };

/** An object with these fields (others are ignored and left out). */
export function obj<T>(shape: Shape<T>): Check<T> {
  return (v, at) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(at, 'an object');
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape) as Array<keyof T & string>) {
      const value = (shape[key] as Check<unknown>)(src[key], `${at}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  };
}

/** One of these strings. */
export function oneOf<T extends string>(...values: T[]): Check<T> {
  return (v, at) => {
    if (typeof v !== 'string' || !(values as string[]).includes(v)) throw invalid(at, `one of ${values.join(', ')}`);
    return v as T;
  };
}

export const portVlan: Check<PortVlan> = (v, at) => {
  const mode = oneOf('access', 'trunk')((v as { mode?: unknown } | null)?.mode, `${at}.mode`);
  if (mode === 'access') return { mode, ...obj({ vlan: int })(v, at) };
  return { mode, ...obj({ allowed: list(int, 4094), native: opt(int) })(v, at) };
};

export const linkImpairment: Check<LinkImpairment> = obj<LinkImpairment>({
  delayUs: opt(num),
  jitterUs: opt(num),
  distribution: opt(oneOf('uniform', 'normal', 'pareto', 'paretonormal')),
  lossPercent: opt(num),
  lossGilbert: opt(obj({ p: num, r: num, badLoss: opt(num), goodLoss: opt(num) })),
  rateBps: opt(num),
  queueLimitBytes: opt(num),
  duplicatePercent: opt(num),
  reorderPercent: opt(num),
  corruptPercent: opt(num),
  seed: opt(num),
});

const counterShape = {
  rxPackets: num,
  rxBytes: num,
  txPackets: num,
  txBytes: num,
  drops: num,
  errors: num,
  vlanDrops: opt(num),
  impairLost: opt(num),
  queueDrops: opt(num),
  queuedBytes: opt(num),
};

const counters = obj<PortCounters>(counterShape);

export const portInfo: Check<PortInfo> = obj<PortInfo>({
  port: int,
  node: str,
  ifname: str,
  tap: str,
  pid: opt(int),
  addresses: list(str),
  macs: list(str),
  macCount: int,
  vnetHdr: bool,
  counters,
  vlan: opt(portVlan),
  impair: opt(obj({ in: opt(linkImpairment), out: opt(linkImpairment) })),
});

export const ratedPort: Check<RatedPort> = (v, at) => ({
  ...portInfo(v, at),
  rates: obj({ rxBps: num, txBps: num, rxPps: num, txPps: num })((v as { rates?: unknown }).rates, `${at}.rates`),
});

export const macEntry: Check<MacEntry> = obj<MacEntry>({ mac: str, port: int, age: num, vtep: opt(str), vlan: opt(int) });

export const switchStatus: Check<SwitchStatusReply> = obj<SwitchStatusReply>({
  version: int,
  socket: str,
  pid: int,
  uptime: num,
  ports: int,
  macs: int,
  macTableSize: int,
  macAgeSeconds: num,
  macEventsLost: num,
  macEvictions: num,
  memory: obj({ rss: num, heapUsed: num, heapTotal: num, external: num, arrayBuffers: num }),
});

const vxlanRemote = obj<VxlanRemoteInfo>({ address: str, port: int, slot: int, rxPackets: num, rxBytes: num, txPackets: num, txBytes: num, macs: num });

export const vxlanUplink: Check<VxlanUplinkInfo> = obj<VxlanUplinkInfo>({
  port: int,
  vni: int,
  mtu: int,
  innerMtu: int,
  local: str,
  localPort: int,
  rxMalformed: num,
  rxBadVni: num,
  rxUnknownRemote: num,
  txTooBig: num,
  txSegmented: num,
  txBadGso: num,
  ...counterShape,
  remotes: list(vxlanRemote),
});

const vxlanReply = obj({ vxlan: nullable(vxlanUplink) });

/** Each operation's request fields (besides op and id). */
const REQUESTS: { [K in ControlOp]: Check<Omit<Extract<ControlRequest, { op: K }>, 'op' | 'id'>> } = {
  hello: obj({}),
  attach: obj({
    node: str,
    ifname: opt(str),
    mac: opt(str),
    addresses: opt(list(str, 64)),
    pid: opt(int),
    persist: opt(bool),
    vlan: opt(portVlan),
  }),
  detach: obj({ port: numOrStr, permanent: opt(bool) }),
  undetach: obj({ node: str }),
  ports: obj({}),
  macs: obj({}),
  status: obj({}),
  subscribe: obj({ macs: opt(bool), counters: opt(bool) }),
  capture: obj({ port: numOrStr, snaplen: opt(int), filter: opt(str) }),
  'host-add': obj({ address: str, nat: opt(bool) }),
  'host-del': obj({}),
  'vxlan-show': obj({}),
  'vxlan-add': obj({ vni: numOrStr, local: str, remotes: opt(list(str, 64)), mtu: opt(numOrStr) }),
  'vxlan-remote-add': obj({ remote: str }),
  'vxlan-remote-del': obj({ remote: str }),
  'vxlan-del': obj({}),
  'port-set': obj({
    port: numOrStr,
    vlan: opt(portVlan),
    direction: opt(oneOf('in', 'out', 'both')),
    impair: opt(linkImpairment),
    clear: opt(bool),
  }),
};

/** Each operation's reply body. */
const REPLIES: { [K in ControlOp]: Check<ReplyBodies[K]> } = {
  hello: obj({ version: int, pid: int }),
  attach: obj({ port: int, tap: str, vnetHdr: bool }),
  detach: obj({ port: int, node: str }),
  undetach: obj({ node: str, lifted: bool }),
  ports: obj({ ports: list(portInfo) }),
  macs: obj({ macs: list(macEntry) }),
  status: (v, at) => {
    const status = (v as { status?: unknown } | null)?.status;
    const extra = obj({
      captures: list(obj({ capture: int, port: int, written: num, dropped: num })),
      vxlan: nullable(vxlanUplink),
      clients: obj({ connections: int, dashboard: int, refused: num, dropped: num }),
    })(status, `${at}.status`);
    return { status: { ...switchStatus(status, `${at}.status`), ...extra } };
  },
  subscribe: obj({ subscribed: obj({ macs: bool, counters: bool }) }),
  capture: obj({ capture: int, port: int }),
  'host-add': obj({ port: int, ifname: str, address: str, subnet: str, nat: bool }),
  'host-del': obj({ port: int, ifname: str, address: str }),
  'vxlan-show': vxlanReply,
  'vxlan-add': vxlanReply,
  'vxlan-remote-add': vxlanReply,
  'vxlan-remote-del': vxlanReply,
  'vxlan-del': obj({ port: int, vni: int }),
  'port-set': obj({ port: portInfo }),
};

export const CONTROL_OPS = Object.keys(REQUESTS) as ControlOp[];

export function isControlOp(op: unknown): op is ControlOp {
  return typeof op === 'string' && Object.prototype.hasOwnProperty.call(REQUESTS, op);
}

/** The request's id if it has a usable one (for the reply to a request that fails to decode), else 0. */
export function requestId(message: unknown): number {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : 0;
}

/** A frame's JSON as a request; throws CN_PROTO_INVALID or CN_PROTO_UNKNOWN_OP. */
export function decodeRequest(message: unknown): ControlRequest {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new ContainetError('CN_PROTO_INVALID', 'a request must be a JSON object with a string "op" and a numeric "id"');
  }
  const m = message as Record<string, unknown>;
  const op = str(m['op'], 'request.op');
  const id = int(m['id'], 'request.id');
  if (!isControlOp(op)) {
    throw new ContainetError('CN_PROTO_UNKNOWN_OP', `unknown request ${JSON.stringify(op.slice(0, 64))}`, { hint: `known: ${CONTROL_OPS.join(', ')}` });
  }
  const fields = (REQUESTS[op] as Check<object>)(m, op);
  return { ...fields, op, id } as ControlRequest;
}

const errorBody = obj<ErrorBody>({ code: str, message: str, hint: opt(str) });

/**
 * A reply frame (or part of one) to a request of `op`. `partial` is true
 * for a part of a listing with `more: true`; the list field is then the
 * part. Throws CN_PROTO_INVALID.
 */
export function decodeReply<K extends ControlOp>(op: K, message: unknown): ControlReply<ReplyBodies[K]> {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) throw invalid('reply', 'an object');
  const m = message as Record<string, unknown>;
  const id = int(m['id'], 'reply.id');
  if (m['ok'] === false) return { id, ok: false, error: errorBody(m['error'], 'reply.error') };
  if (m['ok'] !== true) throw invalid('reply.ok', 'true or false');
  const body = (REPLIES[op] as Check<ReplyBodies[K]>)(m, op);
  return { ...body, id, ok: true, ...(m['more'] === true ? { more: true } : {}) } as ControlReply<ReplyBodies[K]>;
}

/** An error frame with id 0: the daemon refuses or drops this connection. */
export function decodeRefusal(message: unknown): ErrorBody | null {
  const m = message as Record<string, unknown> | null;
  if (!m || typeof m !== 'object' || m['id'] !== 0 || m['ok'] !== false) return null;
  return errorBody(m['error'], 'reply.error');
}

const EVENTS: { [K in ControlEvent['event']]: Check<ControlEvent> } = {
  'port-attached': (v, at) => ({ event: 'port-attached', port: portInfo((v as { port?: unknown }).port, `${at}.port`) }),
  'port-detached': (v, at) => ({ event: 'port-detached', ...obj({ port: int, node: str, reason: str })(v, at) }),
  'mac-changes': (v, at) => ({
    event: 'mac-changes',
    ...obj<Omit<MacChangesEvent, 'event'>>({
      changes: list(
        obj<MacChange>({
          change: (c, where) => {
            if (c !== 'learned' && c !== 'moved' && c !== 'aged' && c !== 'evicted' && c !== 'flushed') throw invalid(where, 'learned, moved, aged, evicted or flushed');
            return c;
          },
          mac: str,
          port: int,
          from: opt(int),
        }),
      ),
      lost: int,
    })(v, at),
  }),
  counters: (v, at) => ({ event: 'counters', ...obj({ time: num, macCount: int, ports: list(ratedPort), more: opt(bool) })(v, at) }),
};

/** A pushed event; throws CN_PROTO_INVALID (also for an event type this side does not know). */
export function decodeEvent(message: unknown): ControlEvent {
  const type = (message as { event?: unknown } | null)?.event;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(EVENTS, type)) {
    throw invalid('event.event', `one of ${Object.keys(EVENTS).join(', ')}`);
  }
  return (EVENTS[type as ControlEvent['event']] as Check<ControlEvent>)(message, `event ${type}`);
}

/** A dashboard client's message; throws CN_PROTO_INVALID. */
export function decodeDashboardRequest(message: unknown): DashboardRequest {
  const m = obj({ op: str, port: numOrStr, adminToken: str })(message, 'message');
  if (m.op === 'port-set') return { op: 'port-set', adminToken: m.adminToken, ...REQUESTS['port-set'](message, 'message') };
  if (m.op !== 'detach') throw new ContainetError('CN_PROTO_UNKNOWN_OP', 'dashboard requests are {op: "detach" | "port-set", port, adminToken, ...}');
  return { op: 'detach', port: m.port, adminToken: m.adminToken };
}
