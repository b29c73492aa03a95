/**
 * Fixtures of the CNI plugin's e2e tests: the plugin run exactly as a
 * runtime runs it (environment and stdin, SPEC.md section 2), a containet
 * switch started on a unique socket, a private state and host-local data
 * directory per test. Everything is registered on a Cleanup stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient, type PortInfo } from '@containet/common';
import { killAndWait, run, uniqueName, waitFor, type Cleanup } from '@containet/common/testing';

export const PLUGIN = fileURLToPath(new URL('../../bin/containet-cni.cjs', import.meta.url));
/** containet's launcher, found from the package's public entry point. */
export const CONTAINET = join(dirname(createRequire(import.meta.url).resolve('@containet/containet')), '../../bin/containet.js');
/** Debian's containernetworking-plugins. */
export const DEBIAN_CNI = '/usr/lib/cni';

export interface Switch {
  child: ChildProcess;
  socket: string;
  log: () => string;
}

/** `containet -s SOCK ARGS` (inside namespace `ns` when given, with `env` added to the environment), up and answering. */
export async function startSwitch(cleanup: Cleanup, args: string[] = [], socket = join(tmpdir(), `${uniqueName('cncni')}.sock`), ns?: string, env: Record<string, string> = {}): Promise<Switch> {
  const argv = [CONTAINET, '-s', socket, ...args];
  const [file, fileArgs] = ns ? ['ip', ['netns', 'exec', ns, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(file, fileArgs, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  cleanup.add(`containet ${child.pid}`, () => killAndWait(child));
  let log = '';
  child.stderr!.on('data', (d) => (log += String(d)));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`containet exited ${child.exitCode}: ${log}`);
    if (!existsSync(socket) || !log.includes('listening on')) return false;
    const c = await ControlClient.connect(socket);
    c.close();
    return true;
  }, 'containet to listen', 8000);
  return { child, socket, log: () => log };
}

export async function ports(socket: string): Promise<PortInfo[]> {
  const c = await ControlClient.connect(socket);
  try {
    return (await c.request({ op: 'ports' })).ports;
  } finally {
    c.close();
  }
}

/** A private record directory and host-local data directory, removed after. */
export function privateDirs(cleanup: Cleanup): { state: string; ipamData: string } {
  const base = mkdtempSync(join(tmpdir(), 'cni-test-'));
  cleanup.add(`rm -r ${base}`, () => rmSync(base, { recursive: true, force: true }));
  return { state: join(base, 'state'), ipamData: join(base, 'host-local') };
}

/** Leases host-local holds in `dataDir` for `network` (its files named by address). */
export function leases(dataDir: string, network: string): string[] {
  try {
    return readdirSync(join(dataDir, network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f) || f.includes(':'));
  } catch {
    return [];
  }
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
}

export interface PluginRun {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON, when it is. */
  json: Record<string, unknown> | undefined;
}

export interface PluginEnv {
  command: string;
  att?: Partial<Attachment>;
  state: string;
  path?: string;
  args?: string;
  /** Run inside this named namespace (`ip netns exec`), as a runtime on another host. */
  ns?: string;
  extraEnv?: Record<string, string>;
}

/** Run `plugin` (default containet-cni) as a runtime does: CNI_* variables, config on stdin. */
export async function runPlugin(e: PluginEnv, config: unknown, plugin = PLUGIN): Promise<PluginRun> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    CNI_COMMAND: e.command,
    CNI_PATH: e.path ?? DEBIAN_CNI,
    CONTAINET_CNI_STATE: e.state,
    ...(e.att?.containerId ? { CNI_CONTAINERID: e.att.containerId } : {}),
    ...(e.att?.netns ? { CNI_NETNS: e.att.netns } : {}),
    ...(e.att?.ifname ? { CNI_IFNAME: e.att.ifname } : {}),
    ...(e.args ? { CNI_ARGS: e.args } : {}),
    ...e.extraEnv,
  };
  const input = typeof config === 'string' ? config : JSON.stringify(config);
  const r = e.ns ? await run('ip', ['netns', 'exec', e.ns, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), plugin], { input, timeoutMs: 30_000 }) : await run(plugin, [], { input, env, timeoutMs: 30_000 });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {}
  return { status: r.code ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** A 64-hex-digit container id, as engines make them. */
export function containerId(): string {
  let s = '';
  while (s.length < 64) s += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, 64);
}

/** The network config of a test: containet with host-local in a private data dir. */
export function netConf(name: string, socket: string | undefined, ipamData: string, subnet: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name,
    type: 'containet',
    ...(socket ? { socket } : {}),
    ipam: { type: 'host-local', subnet, dataDir: ipamData, routes: [{ dst: '0.0.0.0/0' }] },
    ...extra,
  };
}
