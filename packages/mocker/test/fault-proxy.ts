/**
 * A fault-injecting HTTP proxy for tests: a node server on 127.0.0.1 in
 * front of a real registry that forwards every request and, for requests
 * matching a fault, answers a status instead (500, 429 with Retry-After),
 * cuts the body after some bytes (once or every time), flips a byte of it,
 * ignores Range, or sends it slowly. It records each request's method, path,
 * Range header, answer status and the body bytes it sent.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Forward the answer's head and `after` bytes of its body, then close the connection. */
  | { kind: 'cut'; after: number }
  /** Flip one byte in the middle of the body. */
  | { kind: 'corrupt' }
  /** Forward without the request's Range header: the whole blob, 200. */
  | { kind: 'ignore-range' }
  /** `bytes` of body every `everyMs`. */
  | { kind: 'slow'; bytes: number; everyMs: number };

export interface FaultRule {
  /** Which requests: a substring or pattern of the path. */
  path: string | RegExp;
  fault: Fault;
  /** How many matching requests get the fault; default every one. */
  times?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
  /** Body bytes sent to the client. */
  sent: number;
  fault: Fault['kind'] | undefined;
}

export interface FaultProxy {
  host: string;
  url: string;
  seen: SeenRequest[];
  /** Replace the rules (an empty list forwards everything untouched). */
  rules(rules: FaultRule[]): void;
  /** Requests seen for a path (substring). */
  requestsFor(path: string): SeenRequest[];
  close(): Promise<void>;
}

const matches = (p: string | RegExp, path: string): boolean => (typeof p === 'string' ? path.includes(p) : p.test(path));

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  let rules: Array<FaultRule & { left: number }> = [];
  const seen: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const rule = rules.find((r) => r.left > 0 && matches(r.path, path));
    if (rule) rule.left--;
    const fault = rule?.fault;
    const record: SeenRequest = { method: req.method ?? 'GET', path, range: req.headers.range, status: 0, sent: 0, fault: fault?.kind };
    seen.push(record);
    if (fault?.kind === 'status') {
      record.status = fault.status;
      const body = JSON.stringify({ errors: [{ code: 'INJECTED', message: `injected ${fault.status}` }] });
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...fault.headers }).end(body);
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    if (fault?.kind === 'ignore-range') delete headers.range;
    const up = httpRequest(new URL(path, upstream), { method: req.method, headers }, (ur) => {
      record.status = ur.statusCode ?? 502;
      res.writeHead(record.status, ur.headers);
      if (!fault || fault.kind === 'ignore-range') {
        ur.on('data', (d: Buffer) => (record.sent += d.length));
        ur.pipe(res);
        return;
      }
      const length = Number(ur.headers['content-length'] ?? 0);
      if (fault.kind === 'cut') {
        ur.on('data', (d: Buffer) => {
          const n = Math.min(d.length, fault.after - record.sent);
          if (n > 0) {
            res.write(d.subarray(0, n));
            record.sent += n;
          }
          if (record.sent >= fault.after) {
            ur.destroy();
            // The head and `after` bytes reach the client, then the connection ends.
            res.socket?.end(() => res.socket?.destroy());
          }
        });
        return;
      }
      if (fault.kind === 'corrupt') {
        const mid = length >> 1;
        ur.on('data', (d: Buffer) => {
          const at = mid - record.sent;
          if (at >= 0 && at < d.length) {
            d = Buffer.from(d);
            d[at] = d[at]! ^ 0xff;
          }
          record.sent += d.length;
          res.write(d);
        });
        ur.on('end', () => res.end());
        return;
      }
      // slow: hold the body and let it out a piece at a time.
      const pieces: Buffer[] = [];
      let ended = false;
      ur.on('data', (d: Buffer) => void pieces.push(d));
      ur.on('end', () => (ended = true));
      const tick = (): void => {
        let budget = fault.bytes;
        while (budget > 0 && pieces.length) {
          const head = pieces[0]!;
          const n = Math.min(budget, head.length);
          res.write(head.subarray(0, n));
          record.sent += n;
          budget -= n;
          if (n === head.length) pieces.shift();
          else pieces[0] = head.subarray(n);
        }
        if (ended && pieces.length === 0) {
          res.end();
          return;
        }
        if (res.destroyed) return;
        const t = setTimeout(() => {
          timers.delete(t);
          tick();
        }, fault.everyMs);
        timers.add(t);
      };
      tick();
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    seen,
    rules: (next) => {
      rules = next.map((r) => ({ ...r, left: r.times ?? Infinity }));
    },
    requestsFor: (path) => seen.filter((s) => s.path.includes(path)),
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
