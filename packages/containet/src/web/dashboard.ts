/**
 * The observation side of the switch: an HTTP server with the dashboard
 * page and a WebSocket (/ws) streaming a snapshot, then events and a
 * `counters` message every second. Read-only: the only thing a client can
 * ask is a detach, and only when an admin token was configured and given.
 * /labs is the live view of the labs deployed on the machine (lab-view.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ContainetError,
  DASHBOARD_MAC_AGES_MS,
  UsageError,
  decodeDashboardRequest,
  type DashboardRequest,
  type DashboardError,
  type DashboardMacs,
} from '@containet/common';
import type { Daemon } from '../daemon.js';
import { ThrottledLog } from '../throttled-log.js';
import { parsePortSet } from '../request-checks.js';
import { LabView, PAGE_CSP } from './lab-view.js';

export interface DashboardOptions {
  host: string;
  port: number;
  /** Required from clients when set (and always set when not on loopback). */
  token?: string | undefined;
  /** Lets a client detach ports. */
  adminToken?: string | undefined;
  log?: (line: string) => void;
  /** Clients at once; more are refused (HTTP 503). */
  maxClients?: number;
  /** Bytes a client may leave unsent (bufferedAmount) before it is dropped. */
  maxBuffered?: number;
}

/**
 * The dashboard's share of the daemon's memory is at most
 * DEFAULT_MAX_CLIENTS x DEFAULT_MAX_BUFFERED (32 MiB) of unsent messages.
 */
export const DEFAULT_MAX_CLIENTS = 128;
export const DEFAULT_MAX_BUFFERED = 256 * 1024;
/**
 * Every client is pinged this often and dropped if it has not answered the
 * previous ping (RFC 6455 5.5.2): one that does not read never answers,
 * while the kernel's socket buffers may take megabytes before
 * bufferedAmount grows.
 */
export const HEARTBEAT_MS = 5000;

/** ADDR:PORT of each client, for log lines. */
const clientNames = new WeakMap<WebSocket, string>();
/** How to send to each client (bounded: see #serve). */
const senders = new WeakMap<WebSocket, (json: string) => void>();

const PAGE_URL = new URL('../../../web/index.html', import.meta.url);

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** HOST:PORT or [V6]:PORT -> parts; throws a UsageError. */
export function parseListen(text: string): { host: string; port: number } {
  const m = text.match(/^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535 || (isIP(host) === 0 && host !== 'localhost')) {
    throw new UsageError(`invalid --listen address: ${JSON.stringify(text)}`, 'use HOST:PORT, e.g. 127.0.0.1:7480 or [::1]:7480 (port 0 picks one)');
  }
  return { host, port };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Dashboard {
  readonly url: string;
  #http: Server;
  #wss: WebSocketServer;
  #heartbeat: NodeJS.Timeout;
  #macAges: NodeJS.Timeout;
  #closed = false;

  #labs: LabView;

  private constructor(daemon: Daemon, http: Server, wss: WebSocketServer, url: string, drops: ThrottledLog, labs: LabView) {
    this.#http = http;
    this.#labs = labs;
    this.#wss = wss;
    this.url = url;
    const answered = new WeakMap<WebSocket, boolean>();
    this.#heartbeat = setInterval(() => {
      for (const ws of wss.clients) {
        if (answered.get(ws) === false) {
          daemon.dashboard.dropped++;
          drops.line(`dashboard: dropped ${clientNames.get(ws) ?? 'a client'}: no answer to a ping in ${HEARTBEAT_MS} ms`);
          ws.terminate();
          continue;
        }
        if (!answered.has(ws)) ws.on('pong', () => answered.set(ws, true));
        answered.set(ws, false);
        ws.ping();
      }
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
    // The MAC ages as the datapath has them, one listing for all clients.
    this.#macAges = setInterval(() => {
      if (wss.clients.size === 0) return;
      const json = JSON.stringify({ event: 'macs', macs: daemon.newestMacs() } satisfies DashboardMacs);
      for (const ws of wss.clients) senders.get(ws)?.(json);
    }, DASHBOARD_MAC_AGES_MS);
    this.#macAges.unref();
  }

  static async start(daemon: Daemon, opts: DashboardOptions): Promise<Dashboard> {
    if (!isLoopback(opts.host) && !opts.token) {
      throw new UsageError(`--listen on ${opts.host} (not loopback) needs --token`, 'anyone who can reach that address could watch the switch; set a token clients must give');
    }
    const page = readFileSync(PAGE_URL, 'utf8');
    const log = opts.log ?? (() => {});
    const maxClients = opts.maxClients ?? DEFAULT_MAX_CLIENTS;
    const refusals = new ThrottledLog(log);
    const drops = new ThrottledLog(log);
    const authorised = (req: IncomingMessage) => {
      if (!opts.token) return true;
      const given = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
      return same(given, opts.token);
    };
    const labs = new LabView();
    const http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      const isLabs = path === '/labs' || path === '/labs.json' || path.startsWith('/labs/');
      if (req.method !== 'GET' || (path !== '/' && path !== '/index.html' && !isLabs)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (!authorised(req)) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('token required: open /?token=...\n');
        return;
      }
      if (isLabs && labs.handle(req, res, path, opts.token ? `?token=${encodeURIComponent(opts.token)}` : '')) return;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': PAGE_CSP,
      });
      res.end(page);
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    http.on('upgrade', (req, socket, head) => {
      // Once upgraded, node:http no longer handles this socket's errors; a
      // peer that resets it while we refuse it must not end the process.
      socket.on('error', () => {});
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      // A page from another origin must not read the switch (DNS rebinding, cross-site WebSocket).
      const origin = req.headers.origin;
      const originOk = origin === undefined || new URL(origin).host === req.headers.host;
      if (path !== '/ws' || !authorised(req) || !originOk) {
        socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      if (wss.clients.size >= maxClients) {
        daemon.dashboard.refused++;
        refusals.line(`dashboard: refused ${req.socket.remoteAddress}:${req.socket.remotePort}: ${maxClients} clients already`);
        socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\ntoo many dashboard clients\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        daemon.dashboard.clients = wss.clients.size;
        ws.once('close', () => (daemon.dashboard.clients = wss.clients.size));
        Dashboard.#serve(daemon, ws, req, opts, drops);
      });
    });
    // Plain HTTP connections are bounded too (a page load, the upgrades in
    // flight): beyond this many sockets node:http closes new ones at once,
    // and a client gets 10 s to send its request.
    http.maxConnections = maxClients * 4;
    http.headersTimeout = 10_000;
    http.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ContainetError('CN_LISTEN', `cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err })),
      );
      http.listen(opts.port, opts.host, () => resolve());
    });
    const addr = http.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const url = `http://${host}:${port}/`;
    log(`dashboard on ${url}${opts.token ? ' (token required)' : ''}`);
    return new Dashboard(daemon, http, wss, url, drops, labs);
  }

  static #serve(daemon: Daemon, ws: WebSocket, req: IncomingMessage, opts: DashboardOptions, drops: ThrottledLog): void {
    const maxBuffered = opts.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    const who = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    clientNames.set(ws, who);
    let unsubscribe = () => {};
    // A client that does not read is dropped, never buffered for.
    const sendJson = (json: string) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > maxBuffered) {
        daemon.dashboard.dropped++;
        drops.line(`dashboard: dropped ${who}: ${ws.bufferedAmount} bytes unsent (limit ${maxBuffered})`);
        unsubscribe();
        ws.terminate();
        return;
      }
      ws.send(json);
    };
    senders.set(ws, sendJson);
    const fail = (error: DashboardError) => sendJson(JSON.stringify(error));
    try {
      sendJson(daemon.snapshotJson(opts.adminToken !== undefined));
    } catch (err) {
      fail({ event: 'error', code: 'CN_INTERNAL', message: (err as Error).message });
    }
    if (ws.readyState !== ws.OPEN) return;
    unsubscribe = daemon.subscribe({ sendJson }, { macs: true, counters: true });
    ws.on('close', unsubscribe);
    ws.on('error', unsubscribe);
    ws.on('message', (data) => {
      let msg: DashboardRequest;
      try {
        const parsed: unknown = JSON.parse(String(data));
        if (!opts.adminToken || typeof (parsed as { adminToken?: unknown } | null)?.adminToken !== 'string' || !same((parsed as { adminToken: string }).adminToken, opts.adminToken)) {
          fail({ event: 'error', code: 'CN_READ_ONLY', message: 'this dashboard is read-only (no admin token set or given)' });
          return;
        }
        msg = decodeDashboardRequest(parsed);
      } catch (err) {
        fail({ event: 'error', code: (err as ContainetError).code ?? 'CN_BAD_REQUEST', message: err instanceof SyntaxError ? 'messages are JSON objects' : (err as Error).message });
        return;
      }
      try {
        const port = typeof msg.port === 'string' && /^\d+$/.test(msg.port) ? Number(msg.port) : msg.port;
        if (msg.op === 'port-set') {
          // The same checks as the control socket's port-set; the change reaches every page with the next counters.
          const { adminToken: _token, ...req } = msg;
          daemon.switch.setPort(port, parsePortSet(req));
        } else {
          daemon.switch.detach(port, 'detached from the dashboard');
        }
      } catch (err) {
        fail({ event: 'error', code: (err as ContainetError).code ?? 'CN_INTERNAL', message: (err as Error).message });
      }
    });
  }

  /** Close every client and stop listening. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#macAges);
    this.#labs.close();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
