/** `containet [serve] -s PATH`: run the switch in the foreground. */
import { readFileSync } from 'node:fs';
import { DEFAULT_SOCKET, UsageError, parseIpv4Cidr } from '@containet/common';
import { Daemon } from '../daemon.js';
import { Dashboard, parseListen } from '../web/dashboard.js';
import { checkRemote, parseMtu, parseVni, parseVtep, type VxlanSettings } from '../vxlan.js';

export const commandNames = ['serve'];

export const help =
  'Run the switch in the foreground: listen on the control socket, attach taps passed by containers, forward frames. Logs go to stderr; SIGINT/SIGTERM shut it down and remove the socket.';

export interface ServeOptions {
  socket?: string;
  /** Seconds, as given on the command line. */
  macAge?: string | number;
  macTableSize?: string | number;
  group?: string;
  /** HOST:PORT for the dashboard (HTTP + WebSocket). */
  listen?: string;
  token?: string;
  adminToken?: string;
  /** ADDR/PREFIX for the host's own port (the containers' gateway). */
  host?: string;
  nat?: boolean;
  /** VXLAN uplink: VNI, local ADDR[:PORT], remote ADDR[:PORT]s, underlay MTU. */
  vxlan?: string;
  vxlanLocal?: string;
  vxlanRemote?: string[];
  vxlanMtu?: string | number;
  allowDuplicateAddresses?: boolean;
}

export interface ServeSettings {
  socket: string;
  macAge: number;
  macTableSize: number;
  group?: { gid: number; name: string } | undefined;
  listen?: { host: string; port: number } | undefined;
  token?: string | undefined;
  adminToken?: string | undefined;
  host?: string | undefined;
  nat?: boolean | undefined;
  vxlan?: VxlanSettings | undefined;
  allowDuplicateAddresses?: boolean | undefined;
}

function token(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 8 || /\s/.test(value)) throw new UsageError(`${name} must be at least 8 characters without spaces`);
  return value;
}

function integer(value: string | number | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`invalid ${name}: ${JSON.stringify(text)}`, `give a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** A group by name or number, from /etc/group. */
export function resolveGroup(group: string, groupFile = '/etc/group'): { gid: number; name: string } {
  const lines = readFileSync(groupFile, 'utf8').split('\n');
  for (const line of lines) {
    const [name, , gid] = line.split(':');
    if (name && gid !== undefined && (name === group || gid === group)) return { gid: Number(gid), name };
  }
  if (/^\d+$/.test(group)) return { gid: Number(group), name: group };
  throw new UsageError(`unknown group: ${group}`, `it is not in ${groupFile}; give a group name or number`);
}

function natSetting(opts: ServeOptions): boolean {
  if (opts.nat && opts.host === undefined) {
    throw new UsageError('--nat needs --host ADDR/PREFIX', 'the host port is the gateway whose subnet is masqueraded, e.g. --host 10.0.0.1/24 --nat');
  }
  return opts.nat === true;
}

function vxlanSettings(opts: ServeOptions): VxlanSettings | undefined {
  if (opts.vxlan === undefined) {
    if (opts.vxlanLocal !== undefined || opts.vxlanRemote?.length || opts.vxlanMtu !== undefined) {
      throw new UsageError('--vxlan-local, --vxlan-remote and --vxlan-mtu need --vxlan VNI', 'e.g. --vxlan 42 --vxlan-local 192.0.2.1 --vxlan-remote 192.0.2.2');
    }
    return undefined;
  }
  if (opts.vxlanLocal === undefined) {
    throw new UsageError('--vxlan needs --vxlan-local ADDR[:PORT]', 'the address of this host the remote VTEPs send to, e.g. --vxlan-local 192.0.2.1');
  }
  return {
    vni: parseVni(opts.vxlan),
    local: parseVtep(opts.vxlanLocal, '--vxlan-local'),
    remotes: (opts.vxlanRemote ?? []).map((r) => checkRemote(parseVtep(r, '--vxlan-remote'), r)),
    mtu: parseMtu(opts.vxlanMtu),
  };
}

/** Options -> settings, with every value checked. */
export function serveSettings(opts: ServeOptions): ServeSettings {
  const socket = opts.socket ?? DEFAULT_SOCKET;
  if (socket === '' || Buffer.byteLength(socket) > 107) {
    throw new UsageError(`invalid socket path: ${JSON.stringify(socket)}`, 'a unix socket path is 1..107 bytes (unix(7) sun_path)');
  }
  return {
    socket,
    macAge: integer(opts.macAge, 300, '--mac-age', 0, 1_000_000),
    macTableSize: integer(opts.macTableSize, 8192, '--mac-table-size', 1, 1_048_576),
    group: opts.group === undefined ? undefined : resolveGroup(opts.group),
    listen: opts.listen === undefined ? undefined : parseListen(opts.listen),
    token: token(opts.token, '--token'),
    adminToken: token(opts.adminToken, '--admin-token'),
    host: opts.host === undefined ? undefined : parseIpv4Cidr(opts.host).cidr,
    nat: natSetting(opts),
    vxlan: vxlanSettings(opts),
    allowDuplicateAddresses: opts.allowDuplicateAddresses === true,
  };
}

/** Run until SIGINT/SIGTERM (or `stop` resolves); returns the exit status. */
export async function handler(opts: ServeOptions, _args: string[] = [], stop?: Promise<unknown>): Promise<number> {
  const settings = serveSettings(opts);
  // A daemon outlives whoever started it: when its stderr is a pipe nobody
  // reads any more, every write fails with EPIPE. Unheard, that error became
  // an uncaught exception whose log line failed again, for ever: 100% of a
  // core, and SIGTERM's shutdown line never got past it. The log stops
  // instead; the switch goes on.
  let stderrGone = false;
  const onStderrError = (): void => {
    stderrGone = true;
  };
  process.stderr.on('error', onStderrError);
  const log = (line: string) => {
    if (!stderrGone) process.stderr.write(`containet: ${line}\n`);
  };
  // Listen for signals before anything exists, so that one arriving during
  // start-up still ends in a clean shutdown (socket removed).
  let onSignal: ((why: string) => void) | undefined;
  const signalled = new Promise<string>((resolve) => (onSignal = resolve));
  const sigint = () => onSignal?.('SIGINT');
  const sigterm = () => onSignal?.('SIGTERM');
  process.once('SIGINT', sigint);
  process.once('SIGTERM', sigterm);
  stop?.then(() => onSignal?.('stop'));
  // The last line of defence for the switch: forwarding runs in C and goes
  // on whatever happens here, so an error no handler caught (a bug reached
  // by one client) is logged and the daemon stays up for everyone else.
  const onUncaught = (err: unknown) => log(`internal error (the switch carries on): ${(err as Error)?.stack ?? String(err)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    const daemon = await Daemon.start({ ...settings, log });
    let dashboard: Dashboard | undefined;
    if (settings.listen) {
      try {
        dashboard = await Dashboard.start(daemon, { ...settings.listen, token: settings.token, adminToken: settings.adminToken, log });
      } catch (err) {
        await daemon.close();
        throw err;
      }
    }
    const why = await signalled;
    log(`${why}: shutting down`);
    await dashboard?.close();
    await daemon.close();
    return 0;
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    process.stderr.off('error', onStderrError);
  }
}
