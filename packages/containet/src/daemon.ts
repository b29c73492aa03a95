/**
 * The running switch daemon: the datapath, the control server in front of
 * it, and the request handlers that connect the two.
 */
import {
  ContainetError,
  FdPoller,
  PROTOCOL_VERSION,
  closeFd,
  validateIdentity,
  type PortInfo,
  type SwitchStatusReply,
} from '@containet/common';
import { ControlServer, type Connection } from './control-server.js';
import { Switch, normaliseMac, type AttachSpec } from './switch.js';
import type { DatapathEvent } from './datapath.js';
import { HostGateway } from './host/gateway.js';
import { checkRemote, parseMtu, parseVni, parseVtep, type VxlanSettings } from './vxlan.js';

export interface DaemonOptions {
  socket: string;
  /** Seconds; 0 never ages. */
  macAge: number;
  macTableSize: number;
  group?: { gid: number; name: string } | undefined;
  log?: (line: string) => void;
  /** ADDR/PREFIX: give the host a port on the switch with this address. */
  host?: string | undefined;
  /** Masquerade the host port's subnet to the outside (needs host). */
  nat?: boolean | undefined;
  /** A VXLAN uplink to other hosts (RFC 7348). */
  vxlan?: VxlanSettings | undefined;
}

interface CaptureRecord {
  conn: Connection;
  /** Port id, 0 for all. */
  port: number;
}

export interface Subscription {
  /** Also MAC learned/moved/aged/evicted/flushed events. */
  macs: boolean;
  /** A `counters` event every second with each port's counters and rates. */
  counters: boolean;
}

/** Where events go: a control connection, a WebSocket, a test. */
export interface EventSink {
  send(message: Record<string, unknown>): void;
}

export interface PortRates {
  rxBps: number;
  txBps: number;
  rxPps: number;
  txPps: number;
}

function badRequest(message: string, hint?: string): ContainetError {
  return new ContainetError('CN_BAD_REQUEST', message, hint ? { hint } : {});
}

function optionalString(req: Record<string, unknown>, key: string): string | undefined {
  const v = req[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`"${key}" must be a string`);
  return v;
}

/** Validate an attach request's metadata; throws CN_BAD_REQUEST. */
export function parseAttach(req: Record<string, unknown>): AttachSpec & { persist: boolean } {
  const node = req['node'];
  if (typeof node !== 'string') throw badRequest('attach needs "node", the container identity');
  try {
    validateIdentity(node);
  } catch (err) {
    throw badRequest((err as Error).message, (err as ContainetError).hint);
  }
  const ifname = optionalString(req, 'ifname') ?? 'eth0';
  if (ifname.length === 0 || ifname.length > 15 || /[\s/:]/.test(ifname)) throw badRequest(`invalid interface name ${JSON.stringify(ifname)}`);
  const mac = optionalString(req, 'mac');
  const addresses = req['addresses'];
  if (addresses !== undefined && (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string') || addresses.length > 64)) {
    throw badRequest('"addresses" must be a list of at most 64 strings');
  }
  const pid = req['pid'];
  if (pid !== undefined && (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0)) throw badRequest('"pid" must be a positive integer');
  return {
    node,
    ifname,
    mac: mac === undefined ? undefined : normaliseMac(mac),
    addresses: addresses as string[] | undefined,
    pid: pid as number | undefined,
    persist: req['persist'] === true,
  };
}

export class Daemon {
  readonly switch: Switch;
  readonly server: ControlServer;
  readonly poller: FdPoller;
  #subs = new Map<EventSink, Subscription>();
  #last = new Map<number, { time: number; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }>();
  #captures = new Map<number, CaptureRecord>();
  #timer: NodeJS.Timeout;
  #closed = false;
  #gateway: HostGateway | undefined;
  #log: (line: string) => void = () => {};

  private constructor(sw: Switch, server: ControlServer, poller: FdPoller) {
    this.switch = sw;
    this.server = server;
    this.poller = poller;
    sw.on('attached', (port: PortInfo) => this.#broadcast({ event: 'port-attached', port }));
    sw.on('detached', (d: { port: number; node: string; reason: string }) => this.#broadcast({ event: 'port-detached', ...d }));
    sw.on('mac', (ev: DatapathEvent) => {
      const { type, ...rest } = ev;
      this.#broadcast({ event: type, ...rest }, (s) => s.macs);
    });
    sw.on('capture-down', (ev: { capture: number }) => this.#captures.delete(ev.capture));
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const log = opts.log ?? (() => {});
    const poller = new FdPoller();
    let sw: Switch | undefined;
    try {
      sw = new Switch({ macTableSize: opts.macTableSize, macAgeSeconds: opts.macAge, poller, log });
      let daemon: Daemon | undefined;
      const server = await ControlServer.listen(opts.socket, {
        poller,
        group: opts.group,
        log,
        handler: (req, fd, conn) => {
          if (!daemon) throw new ContainetError('CN_CLOSED', 'the switch is starting');
          return daemon.#handle(req, fd, conn);
        },
        onClose: (conn) => {
          if (daemon) daemon.#connectionClosed(conn);
        },
      });
      daemon = new Daemon(sw, server, poller);
      daemon.#log = log;
      if (opts.host) {
        try {
          await daemon.addHost(opts.host, opts.nat === true);
        } catch (err) {
          await daemon.close();
          throw err;
        }
      }
      if (opts.vxlan) {
        try {
          daemon.addVxlan(opts.vxlan);
        } catch (err) {
          await daemon.close();
          throw err;
        }
      }
      log(`listening on ${opts.socket} (MAC table ${opts.macTableSize} entries, aging ${opts.macAge} s)`);
      return daemon;
    } catch (err) {
      sw?.close();
      poller.close();
      throw err;
    }
  }

  /** Stop serving, close every port, remove the socket. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.server.close();
    // Rules and ip_forward first: the subnet stops being routed before its port goes.
    await this.#gateway?.close();
    this.switch.close();
    this.poller.close();
  }

  /**
   * Give the host a port on the switch: a tap in this process's network
   * namespace with `cidr` (the containers' gateway), optionally with NAT.
   */
  async addHost(cidr: string, nat: boolean): Promise<Record<string, unknown>> {
    if (this.#gateway) {
      throw new ContainetError('CN_HOST_EXISTS', `the host already has a port on this switch (${this.#gateway.address.cidr} on ${this.#gateway.record.ifname})`);
    }
    const gw = await HostGateway.open({ cidr, nat, socketPath: this.server.path });
    let info: PortInfo;
    try {
      info = this.switch.attach({ node: 'host', ifname: gw.record.ifname, addresses: [gw.address.cidr], pid: process.pid }, gw.fd);
    } catch (err) {
      await gw.close(true);
      throw err;
    }
    this.#gateway = gw;
    const drops = nat ? await HostGateway.forwardPolicyDrops().catch(() => false) : false;
    this.#log(
      `host port ${info.port}: ${gw.record.ifname} ${gw.address.cidr}` +
        (nat ? `, masquerading ${gw.subnet}${drops ? ' (FORWARD policy is DROP: accept rules added for it)' : ''}` : ''),
    );
    return { port: info.port, ifname: gw.record.ifname, address: gw.address.cidr, subnet: gw.subnet, nat };
  }

  /** Add the VXLAN uplink and its remotes. */
  addVxlan(v: VxlanSettings): Record<string, unknown> {
    const port = this.switch.addVxlan(v.vni, v.local, v.mtu);
    try {
      for (const r of v.remotes) this.switch.addVxlanRemote(r);
    } catch (err) {
      this.switch.detach(port, 'VXLAN setup failed');
      throw err;
    }
    return { vxlan: this.switch.vxlanShow() };
  }

  #vxlanRequest(op: string, req: Record<string, unknown>): Record<string, unknown> {
    const str = (key: string, what: string): string => {
      const v = req[key];
      if (typeof v !== 'string' && typeof v !== 'number') throw badRequest(`${op} needs "${key}": ${what}`);
      return String(v);
    };
    switch (op) {
      case 'vxlan-add': {
        const remotes = req['remotes'] ?? [];
        if (!Array.isArray(remotes) || remotes.some((r) => typeof r !== 'string')) throw badRequest('"remotes" must be a list of ADDR[:PORT] strings');
        return this.addVxlan({
          vni: parseVni(str('vni', 'the VNI')),
          local: parseVtep(str('local', 'ADDR[:PORT]'), 'local VTEP'),
          mtu: parseMtu(req['mtu'] as string | number | undefined),
          remotes: (remotes as string[]).map((r) => checkRemote(parseVtep(r, 'remote VTEP'), r)),
        });
      }
      case 'vxlan-remote-add': {
        const text = str('remote', 'ADDR[:PORT]');
        this.switch.addVxlanRemote(checkRemote(parseVtep(text, 'remote VTEP'), text));
        return { vxlan: this.switch.vxlanShow() };
      }
      case 'vxlan-remote-del':
        this.switch.removeVxlanRemote(parseVtep(str('remote', 'ADDR'), 'remote VTEP').address);
        return { vxlan: this.switch.vxlanShow() };
      default:
        return { vxlan: this.switch.vxlanShow() };
    }
  }

  #handle(req: Record<string, unknown>, fd: number, conn: Connection): Record<string, unknown> | Promise<Record<string, unknown>> {
    const op = req['op'] as string;
    if (op !== 'attach' && op !== 'capture' && fd >= 0) closeFd(fd); // only these take a descriptor
    switch (op) {
      case 'hello':
        return { version: PROTOCOL_VERSION, pid: process.pid };
      case 'attach': {
        if (fd < 0) {
          throw new ContainetError('CN_NO_FD', 'attach request came without a tap file descriptor', {
            hint: 'send the tap fd with the request (SCM_RIGHTS), e.g. ControlClient.request(body, fd)',
          });
        }
        let spec;
        try {
          spec = parseAttach(req);
        } catch (err) {
          closeFd(fd);
          throw err;
        }
        const { persist, ...meta } = spec;
        const info = this.switch.attach({ ...meta, owner: persist ? undefined : conn.id }, fd);
        return { port: info.port, tap: info.tap, vnetHdr: info.vnetHdr };
      }
      case 'detach': {
        const which = req['port'];
        if (typeof which !== 'number' && typeof which !== 'string') throw badRequest('detach needs "port": a port id or a node identity');
        const numeric = typeof which === 'string' && /^\d+$/.test(which) ? Number(which) : which;
        const info = this.switch.detach(numeric, 'detached on request');
        return { port: info.port, node: info.node };
      }
      case 'host-add': {
        const cidr = req['address'];
        if (typeof cidr !== 'string') throw badRequest('host-add needs "address": ADDR/PREFIX');
        return this.addHost(cidr, req['nat'] === true);
      }
      case 'vxlan-add':
      case 'vxlan-remote-add':
      case 'vxlan-remote-del':
      case 'vxlan-show':
        return this.#vxlanRequest(op, req);
      case 'ports':
        return { ports: this.switch.ports() };
      case 'macs':
        return { macs: this.switch.macs() };
      case 'status': {
        const reply = this.#statusReply();
        const captures = [...this.#captures].map(([id, c]) => ({ capture: id, port: c.port, ...this.switch.datapath.captureStats(id) }));
        return { status: { ...reply, captures, vxlan: this.switch.vxlanShow() } };
      }
      case 'capture':
        return this.#capture(req, fd, conn);
      case 'subscribe': {
        const sub = { macs: req['macs'] === true, counters: req['counters'] === true };
        this.#subs.set(conn, sub);
        this.#updateMacWatch();
        return { subscribed: sub };
      }
      default:
        throw new ContainetError('CN_UNKNOWN_OP', `unknown request ${JSON.stringify(op)}`, {
          hint: 'known: hello, attach, detach, host-add, vxlan-add, vxlan-remote-add, vxlan-remote-del, vxlan-show, ports, macs, status, subscribe, capture',
        });
    }
  }

  /** Mirror a port (or all) into the socket/pipe that came with the request. */
  #capture(req: Record<string, unknown>, fd: number, conn: Connection): Record<string, unknown> {
    if (fd < 0) {
      throw new ContainetError('CN_NO_FD', 'capture request came without a file descriptor to write the pcap stream to', {
        hint: 'pass the write end of a socket pair or pipe with the request',
      });
    }
    try {
      const which = req['port'];
      const snaplen = req['snaplen'] ?? 262144;
      if (typeof snaplen !== 'number' || !Number.isInteger(snaplen) || snaplen < 64 || snaplen > 262144) {
        throw badRequest('"snaplen" must be a whole number from 64 to 262144');
      }
      let port: number;
      if (which === 'all') port = 0;
      else if (typeof which === 'number' || (typeof which === 'string' && which !== '')) {
        port = this.switch.resolvePort(typeof which === 'string' && /^\d+$/.test(which) ? Number(which) : which);
      } else throw badRequest('capture needs "port": a port id, a node identity or "all"');
      let id: number;
      try {
        id = this.switch.datapath.addCapture(port, fd, snaplen);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EINVAL') throw new ContainetError('CN_BAD_CAPTURE_FD', 'the descriptor for a capture must be a socket or a pipe', { cause: err });
        if (code === 'ENOSPC') throw new ContainetError('CN_CAPTURES_FULL', 'too many captures are running on this switch', { cause: err });
        if (code === 'ENOENT') throw new ContainetError('CN_NO_SUCH_PORT', `port ${port} went away`, { cause: err });
        throw err;
      }
      fd = -1; // the datapath owns it
      this.#captures.set(id, { conn, port });
      return { capture: id, port };
    } finally {
      if (fd >= 0) closeFd(fd);
    }
  }

  /** Receive events (see SubscribeRequest in protocol.ts) until the returned function is called. */
  subscribe(sink: EventSink, sub: Subscription): () => void {
    this.#subs.set(sink, sub);
    this.#updateMacWatch();
    return () => {
      if (this.#subs.delete(sink)) this.#updateMacWatch();
    };
  }

  /** Ports with the rates since the previous sample (bits and packets per second). */
  portsWithRates(): Array<PortInfo & { rates: PortRates }> {
    const now = Date.now();
    const seen = new Set<number>();
    const out = this.switch.ports().map((p) => {
      seen.add(p.port);
      const prev = this.#last.get(p.port);
      const c = p.counters;
      const dt = prev ? (now - prev.time) / 1000 : 0;
      const rate = (a: number, b: number, scale = 1) => (dt > 0 ? Math.max(0, ((a - b) * scale) / dt) : 0);
      const rates: PortRates = prev
        ? {
            rxBps: rate(c.rxBytes, prev.rxBytes, 8),
            txBps: rate(c.txBytes, prev.txBytes, 8),
            rxPps: rate(c.rxPackets, prev.rxPackets),
            txPps: rate(c.txPackets, prev.txPackets),
          }
        : { rxBps: 0, txBps: 0, rxPps: 0, txPps: 0 };
      this.#last.set(p.port, { time: now, rxBytes: c.rxBytes, txBytes: c.txBytes, rxPackets: c.rxPackets, txPackets: c.txPackets });
      return { ...p, rates };
    });
    for (const port of [...this.#last.keys()]) if (!seen.has(port)) this.#last.delete(port);
    return out;
  }

  /** The state a new observer starts from. */
  snapshot(): Record<string, unknown> {
    return { ports: this.switch.ports(), macs: this.switch.macs(), status: this.#statusReply() };
  }

  /** The switch's figures with the daemon's own: the body of `status`, and a new observer's first. */
  #statusReply(): SwitchStatusReply {
    return { version: PROTOCOL_VERSION, socket: this.server.path, ...this.switch.status(), memory: memoryFigures() };
  }

  #connectionClosed(conn: Connection): void {
    for (const [id, c] of [...this.#captures]) {
      if (c.conn !== conn) continue;
      this.#captures.delete(id);
      this.switch.datapath.removeCapture(id);
    }
    this.switch.detachOwnedBy(conn.id);
    if (this.#subs.delete(conn)) this.#updateMacWatch();
  }

  #updateMacWatch(): void {
    if (this.#closed) return;
    this.switch.datapath.watchMacs([...this.#subs.values()].some((s) => s.macs));
  }

  #broadcast(message: Record<string, unknown>, want: (s: Subscription) => boolean = () => true): void {
    for (const [conn, sub] of this.#subs) if (want(sub)) conn.send(message);
  }

  #tick(): void {
    if ([...this.#subs.values()].some((s) => s.counters)) {
      this.#broadcast({ event: 'counters', time: Date.now(), ports: this.portsWithRates(), macCount: this.switch.status().macs }, (s) => s.counters);
    }
  }
}

/** The process's memory for `status`: resident set and the JS heap within it. */
function memoryFigures(): SwitchStatusReply['memory'] {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}
