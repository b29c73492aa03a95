/**
 * The daemon's request handlers: one decoded request (protocol.ts in
 * common) in, its reply body, a Listing or an error out. Only attach and
 * capture take a descriptor; any other that comes is closed here.
 */
import {
  ContainetError,
  PROTOCOL_VERSION,
  closeFd,
  type ControlRequest,
  type ReplyOf,
} from '@containet/common';
import { Listing, type Connection, type RequestHandler } from './control-server.js';
import type { Switch } from './switch.js';
import type { Captures } from './captures.js';
import type { HostPort } from './host-port.js';
import type { PermanentDetaches } from './permanent-detaches.js';
import { MAX_SUBSCRIBERS, type Subscriptions } from './subscriptions.js';
import { parseAttach, parsePortSet, portSelector, remoteToAdd, vxlanAddSettings } from './request-checks.js';
import { parseVtep, type VxlanSettings } from './vxlan.js';

export interface RequestContext {
  switch: Switch;
  captures: Captures;
  subscriptions: Subscriptions;
  hostPort: HostPort;
  /** Nodes detached with --permanent, whose attaches are refused. */
  detached: PermanentDetaches;
  /** Control connections subscribed (dashboard clients are bounded by the dashboard); the daemon removes closed ones. */
  subscribers: Set<Connection>;
  /** The body of `status`. */
  status(): ReplyOf<'status'>['status'];
  addVxlan(v: VxlanSettings): ReplyOf<'vxlan-add'>;
}

export function requestHandler(ctx: RequestContext): RequestHandler {
  const subscribers = ctx.subscribers;
  return (req: ControlRequest, fd: number, conn: Connection) => {
    if (req.op !== 'attach' && req.op !== 'capture' && fd >= 0) closeFd(fd);
    switch (req.op) {
      case 'hello':
        return { version: PROTOCOL_VERSION, pid: process.pid } satisfies ReplyOf<'hello'>;
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
        try {
          ctx.detached.check(meta.node, meta.pid, meta.ifname);
        } catch (err) {
          closeFd(fd);
          throw err;
        }
        const info = ctx.switch.attach({ ...meta, owner: persist ? undefined : conn.id }, fd);
        return { port: info.port, tap: info.tap, vnetHdr: info.vnetHdr } satisfies ReplyOf<'attach'>;
      }
      case 'detach': {
        const info = ctx.switch.detach(portSelector(req.port, false), req.permanent ? 'detached permanently on request' : 'detached on request');
        // Named as NODE:IFNAME, the user means that interface; otherwise the node.
        if (req.permanent) ctx.detached.add(info.node, info.pid, typeof req.port === 'string' && req.port.includes(':') ? info.ifname : undefined);
        return { port: info.port, node: info.node } satisfies ReplyOf<'detach'>;
      }
      case 'undetach':
        return { node: req.node, lifted: ctx.detached.lift(req.node) } satisfies ReplyOf<'undetach'>;
      case 'host-add':
        return ctx.hostPort.add(req.address, req.nat === true);
      case 'host-del':
        return ctx.hostPort.remove();
      case 'vxlan-add':
        return ctx.addVxlan(vxlanAddSettings(req));
      case 'vxlan-remote-add':
        ctx.switch.addVxlanRemote(remoteToAdd(req.remote));
        return { vxlan: ctx.switch.vxlanShow() } satisfies ReplyOf<'vxlan-remote-add'>;
      case 'vxlan-remote-del':
        ctx.switch.removeVxlanRemote(parseVtep(req.remote, 'remote VTEP').address);
        return { vxlan: ctx.switch.vxlanShow() } satisfies ReplyOf<'vxlan-remote-del'>;
      case 'vxlan-del':
        return ctx.switch.removeVxlan() satisfies ReplyOf<'vxlan-del'>;
      case 'vxlan-show':
        return { vxlan: ctx.switch.vxlanShow() } satisfies ReplyOf<'vxlan-show'>;
      case 'port-set': {
        const change = parsePortSet(req);
        return { port: ctx.switch.setPort(portSelector(req.port, false), change) } satisfies ReplyOf<'port-set'>;
      }
      case 'ports':
        return new Listing('ports', () => ctx.switch.ports());
      case 'macs':
        return new Listing('macs', () => ctx.switch.macs());
      case 'status':
        return { status: ctx.status() } satisfies ReplyOf<'status'>;
      case 'capture':
        return ctx.captures.start(req, fd, conn) satisfies ReplyOf<'capture'>;
      case 'subscribe': {
        if (!subscribers.has(conn) && subscribers.size >= MAX_SUBSCRIBERS) {
          throw new ContainetError('CN_TOO_MANY_SUBSCRIBERS', `containet already has ${MAX_SUBSCRIBERS} subscribed connections`, {
            hint: 'close a watcher, or watch through the dashboard (--listen)',
          });
        }
        const sub = { macs: req.macs === true, counters: req.counters === true };
        subscribers.add(conn);
        ctx.subscriptions.add(conn, sub);
        return { subscribed: sub } satisfies ReplyOf<'subscribe'>;
      }
      default:
        return unreachable(req);
    }
  };
}

function unreachable(req: never): never {
  throw new ContainetError('CN_PROTO_UNKNOWN_OP', `unknown request ${JSON.stringify((req as { op: unknown }).op)}`);
}
