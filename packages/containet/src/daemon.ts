/**
 * The running switch daemon: the datapath, the control server in front of
 * it, and what connects the two (requests.ts: the handlers; captures.ts,
 * subscriptions.ts, host-port.ts: what the handlers keep).
 */
import {
  ContainetError,
  DASHBOARD_MACS,
  FdPoller,
  PROTOCOL_VERSION,
  type DashboardSnapshot,
  type MacEntry,
  type MemoryFigures,
  type ReplyOf,
  type SwitchStatusReply,
} from '@containet/common';
import { ControlServer, type Connection, type ControlLimits } from './control-server.js';
import { Switch } from './switch.js';
import { Captures } from './captures.js';
import { HostPort } from './host-port.js';
import { Subscriptions, type EventSink, type Subscription } from './subscriptions.js';
import { requestHandler } from './requests.js';
import { PermanentDetaches } from './permanent-detaches.js';
import type { VxlanSettings } from './vxlan.js';
import { reattachCniPods, type CniReattach } from './cni-reattach.js';

export { parseAttach } from './request-checks.js';
export type { EventSink, Subscription } from './subscriptions.js';
export type { PortRates } from '@containet/common';

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
  /** Let ports share an IPv4 address or MAC (refused by default). */
  allowDuplicateAddresses?: boolean | undefined;
  /** Control connection limits (tests lower them). */
  limits?: Partial<ControlLimits> | undefined;
}

const SNAPSHOT_REUSE_MS = 500;

export class Daemon {
  readonly switch: Switch;
  readonly server: ControlServer;
  readonly poller: FdPoller;
  readonly subscriptions: Subscriptions;
  readonly captures: Captures;
  readonly hostPort: HostPort;
  /** Dashboard clients now, and refused and dropped since start, for status (the dashboard counts them). */
  readonly dashboard = { clients: 0, refused: 0, dropped: 0 };
  #closed = false;
  #snapshots = new Map<boolean, { time: number; json: string }>();
  /** The background re-attach of the CNI plugin's pods, while it runs. */
  cniReattach: CniReattach | undefined;

  private constructor(sw: Switch, server: ControlServer, poller: FdPoller, parts: { subscriptions: Subscriptions; captures: Captures; hostPort: HostPort }) {
    this.switch = sw;
    this.server = server;
    this.poller = poller;
    this.subscriptions = parts.subscriptions;
    this.captures = parts.captures;
    this.hostPort = parts.hostPort;
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const log = opts.log ?? (() => {});
    const poller = new FdPoller();
    let sw: Switch | undefined;
    try {
      sw = new Switch({ macTableSize: opts.macTableSize, macAgeSeconds: opts.macAge, poller, log, allowDuplicateAddresses: opts.allowDuplicateAddresses });
      const subscriptions = new Subscriptions(sw, log);
      const captures = new Captures(sw);
      const hostPort = new HostPort(sw, opts.socket, log);
      const detached = new PermanentDetaches(opts.socket);
      let daemon: Daemon | undefined;
      const subscribers = new Set<Connection>();
      const server = await ControlServer.listen(opts.socket, {
        poller,
        group: opts.group,
        log,
        limits: opts.limits,
        handler: (req, fd, conn) => {
          if (!daemon) throw new ContainetError('CN_CLOSED', 'the switch is starting');
          return handle(req, fd, conn);
        },
        holds: (conn) => sw!.owns(conn.id) || subscriptions.has(conn) || captures.holds(conn),
        onClose: (conn) => {
          captures.endFor(conn);
          sw!.detachOwnedBy(conn.id);
          subscribers.delete(conn);
          subscriptions.remove(conn);
        },
      });
      daemon = new Daemon(sw, server, poller, { subscriptions, captures, hostPort });
      const d = daemon;
      const handle = requestHandler({
        switch: sw,
        captures,
        subscriptions,
        hostPort,
        detached,
        subscribers,
        status: () => d.statusBody(),
        addVxlan: (v) => d.addVxlan(v),
      });
      try {
        if (opts.host) await hostPort.add(opts.host, opts.nat === true);
        if (opts.vxlan) daemon.addVxlan(opts.vxlan);
      } catch (err) {
        await daemon.close();
        throw err;
      }
      log(`listening on ${opts.socket} (MAC table ${opts.macTableSize} entries, aging ${opts.macAge} s)`);
      daemon.cniReattach = reattachCniPods(opts.socket, log);
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
    this.cniReattach?.stop();
    this.subscriptions.close();
    await this.server.close();
    // Rules and ip_forward first: the subnet stops being routed before its port goes.
    await this.hostPort.close();
    this.switch.close();
    this.poller.close();
  }

  /** Add the VXLAN uplink and its remotes. */
  addVxlan(v: VxlanSettings): ReplyOf<'vxlan-add'> {
    const port = this.switch.addVxlan(v.vni, v.local, v.mtu);
    try {
      for (const r of v.remotes) this.switch.addVxlanRemote(r);
    } catch (err) {
      this.switch.detach(port, 'VXLAN setup failed');
      throw err;
    }
    return { vxlan: this.switch.vxlanShow() };
  }

  /** Receive events (see SubscribeRequest in protocol.ts) until the returned function is called. */
  subscribe(sink: EventSink, sub: Subscription): () => void {
    return this.subscriptions.add(sink, sub);
  }

  /**
   * The state a new dashboard client starts from, as JSON: the newest MAC
   * entries only (status has the count). Clients that connect within
   * SNAPSHOT_REUSE_MS of each other share one (a burst of clients costs one).
   */
  snapshotJson(admin: boolean): string {
    const now = Date.now();
    const cached = this.#snapshots.get(admin);
    if (cached && now - cached.time < SNAPSHOT_REUSE_MS) return cached.json;
    const json = JSON.stringify(this.snapshot(admin));
    this.#snapshots.set(admin, { time: now, json });
    return json;
  }

  snapshot(admin: boolean): DashboardSnapshot {
    return {
      event: 'snapshot',
      admin,
      ports: this.switch.ports(),
      macs: this.newestMacs(),
      status: this.#statusReply(),
    };
  }

  /** The newest DASHBOARD_MACS entries of the MAC table, with the datapath's ages. */
  newestMacs(): MacEntry[] {
    const macs = this.switch.macs();
    return macs.length > DASHBOARD_MACS ? macs.slice(macs.length - DASHBOARD_MACS) : macs;
  }

  /** The body of `status`. */
  statusBody(): ReplyOf<'status'>['status'] {
    return {
      ...this.#statusReply(),
      captures: this.captures.list(),
      vxlan: this.switch.vxlanShow(),
      clients: {
        connections: this.server.connectionCount,
        dashboard: this.dashboard.clients,
        refused: this.server.refused + this.dashboard.refused,
        dropped: this.server.dropped + this.dashboard.dropped,
      },
    };
  }

  /** The switch's figures with the daemon's own. */
  #statusReply(): SwitchStatusReply {
    return { version: PROTOCOL_VERSION, socket: this.server.path, ...this.switch.status(), memory: memoryFigures() };
  }
}

/** The process's memory for `status`: resident set and the JS heap within it. */
function memoryFigures(): MemoryFigures {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}
