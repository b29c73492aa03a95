/**
 * Shared fixtures of the containet e2e tests: a daemon started as a child
 * process, attachments made by the attach-tap fixture inside namespaces,
 * addresses on their taps. Everything is registered on a Cleanup stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ControlClient, type PortInfo, type ReplyOf, type RequestBody } from '@containet/common';
import { killAndWait, makeNetns, sh, uniqueName, waitFor, type Cleanup } from '@containet/common/testing';

export const BIN = fileURLToPath(new URL('../../bin/containet.js', import.meta.url));
export const ATTACH = fileURLToPath(new URL('./fixtures/attach-tap.js', import.meta.url));

export interface RunningDaemon {
  child: ChildProcess;
  socket: string;
  /** Everything the daemon wrote to stderr so far. */
  log: () => string;
}

/**
 * Start `containet -s SOCK ARGS...` (inside network namespace `ns` when given:
 * `ip netns exec` execs it, so the child's pid is the daemon's) and wait
 * until it is fully up (it logs "listening on" after its uplinks and host
 * port exist) and answers.
 */
export async function startDaemon(cleanup: Cleanup, args: string[] = [], socket = join(tmpdir(), `${uniqueName('cnsw')}.sock`), ns?: string): Promise<RunningDaemon> {
  // CONTAINET_DAEMON_NODE_ARGS: flags for the daemon's node, e.g. --cpu-prof to see where its time goes.
  const argv = [...(process.env['CONTAINET_DAEMON_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), BIN, '-s', socket, ...args];
  const child = ns
    ? spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanup.add(`containet daemon ${child.pid}${ns ? ` in ${ns}` : ''}`, () => killAndWait(child));
  let log = '';
  child.stderr!.on('data', (d) => (log += String(d)));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`containet exited ${child.exitCode}: ${log}`);
    if (!existsSync(socket) || !log.includes('listening on')) return false;
    const c = await ControlClient.connect(socket);
    c.close();
    return true;
  }, 'containet to listen', 8000);
  if (args.includes('--listen')) await waitFor(() => log.includes('dashboard on '), 'the dashboard to listen', 5000);
  return { child, socket, log: () => log };
}

export interface Attachment {
  child: ChildProcess;
  port: number;
  tap: string;
}

/** Attach a new tap in `ns` through the fixture; it holds the connection. */
export async function attach(cleanup: Cleanup, socket: string, ns: string, node: string, ifname: string, flags: string[] = []): Promise<Attachment> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ATTACH, socket, node, ifname, ...flags], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add(`attach-tap ${child.pid}`, () => killAndWait(child));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (c) => reject(new Error(`attach-tap exited ${c}: ${out}`)));
  });
  const reply = JSON.parse(line) as { port?: number; tap?: string; error?: string; message?: string };
  if (reply.port === undefined) throw Object.assign(new Error(reply.message ?? 'attach failed'), { code: reply.error });
  return { child, port: reply.port, tap: reply.tap! };
}

/** A namespace with IPv6 off (no stray multicast), a tap attached, `addr` on it. */
export async function node(cleanup: Cleanup, socket: string, addr: string, flags: string[] = []): Promise<{ ns: string; att: Attachment; ip: string }> {
  const ns = await makeNetns(cleanup, 'cnsw');
  await sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  const att = await attach(cleanup, socket, ns, uniqueName('n'), 'eth0', flags);
  await sh('ip', '-n', ns, 'addr', 'add', addr, 'dev', 'eth0');
  await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  return { ns, att, ip: addr.split('/')[0]! };
}

/** One management request to the daemon. */
export async function request<B extends RequestBody>(socket: string, body: B, fd = -1): Promise<ReplyOf<B['op']>> {
  const c = await ControlClient.connect(socket);
  try {
    return await c.request(body, fd);
  } finally {
    c.close();
  }
}

export async function ports(socket: string): Promise<PortInfo[]> {
  return (await request(socket, { op: 'ports' })).ports;
}

export async function portInfo(socket: string, port: number): Promise<PortInfo | undefined> {
  return (await ports(socket)).find((p) => p.port === port);
}

export { killAndWait };
