/**
 * A published port: a userspace proxy in the host's network namespace that
 * relays connections (TCP) or datagrams (UDP) to the container's address,
 * as Docker's userland proxy does. It serves clients on loopback as well as
 * from other namespaces, with no NAT rules to leave behind.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { ContainetError } from '@containet/common';
import type { PublishSpec } from './spec.js';

export interface PortProxy {
  readonly spec: PublishSpec;
  close(): Promise<void>;
}

/** How long a UDP client's flow is kept without traffic (as conntrack's default). */
const UDP_IDLE_MS = 30_000;

export async function startPortProxy(spec: PublishSpec, targetIp: string): Promise<PortProxy> {
  return spec.proto === 'tcp' ? startTcp(spec, targetIp) : startUdp(spec, targetIp);
}

function listenError(spec: PublishSpec, err: NodeJS.ErrnoException): ContainetError {
  return new ContainetError('CN_PUBLISH_BIND', `cannot publish ${spec.hostIp}:${spec.hostPort}/${spec.proto}: ${err.code ?? err.message}`, {
    hint: err.code === 'EADDRINUSE' ? 'another program uses that port; pick another host port' : undefined,
    cause: err,
  });
}

/**
 * The proxy once `listen` has bound its port (a bind error becomes
 * CN_PUBLISH_BIND); its close() ends what it relays (`endAll`) and then the
 * listener, once however often it is called.
 */
async function listening(
  spec: PublishSpec,
  listener: { once(event: 'error', fn: (err: NodeJS.ErrnoException) => void): unknown },
  listen: (ready: () => void) => void,
  endAll: () => void,
  closeListener: (closed: () => void) => void,
): Promise<PortProxy> {
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) => reject(listenError(spec, err)));
    listen(resolve);
  });
  let closing: Promise<void> | undefined;
  return {
    spec,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        endAll();
        closeListener(resolve);
      })),
  };
}

async function startTcp(spec: PublishSpec, targetIp: string): Promise<PortProxy> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(spec.containerPort, targetIp);
    open.add(client).add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return listening(
    spec,
    server,
    (ready) => server.listen(spec.hostPort, spec.hostIp, ready),
    () => {
      for (const sock of open) sock.destroy();
    },
    (closed) => server.close(() => closed()),
  );
}

async function startUdp(spec: PublishSpec, targetIp: string): Promise<PortProxy> {
  const front: UdpSocket = createSocket('udp4');
  const flows = new Map<string, { sock: UdpSocket; timer: NodeJS.Timeout }>();
  const endFlow = (key: string) => {
    const f = flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    f.sock.close();
    flows.delete(key);
  };
  front.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let flow = flows.get(key);
    if (!flow) {
      const sock = createSocket('udp4');
      sock.on('message', (reply) => {
        front.send(reply, from.port, from.address);
        const f = flows.get(key);
        if (f) f.timer.refresh();
      });
      sock.on('error', () => endFlow(key));
      flow = { sock, timer: setTimeout(() => endFlow(key), UDP_IDLE_MS) };
      flows.set(key, flow);
    }
    flow.timer.refresh();
    flow.sock.send(msg, spec.containerPort, targetIp);
  });
  return listening(
    spec,
    front,
    (ready) => front.bind(spec.hostPort, spec.hostIp, ready),
    () => {
      for (const key of [...flows.keys()]) endFlow(key);
    },
    (closed) => front.close(() => closed()),
  );
}
