/**
 * `containode cleanup [--dry-run] [SOCKET...]`: remove what a crash of the
 * whole machine's processes (containode, its spawner, containet) could leave
 * behind. Each kind of leftover is recognised as dead by a test
 * that a live owner always passes:
 *  - a container record: its init (or, while creating, its owner) is gone
 *    or its pid was reused (start time differs; records.ts);
 *  - a cgroup containet/ID: no live record ID and no task in it;
 *  - a host mount under a dead record's top or root directory;
 *  - a socket file: connect(2) is refused (ECONNREFUSED: nobody listens);
 *  - a containet host-gateway record: its tap device is gone. The tap is not
 *    persistent (TUNSETPERSIST is never set), so it exists exactly as long as
 *    its daemon holds the fd; then recoverGateway (@containet/common) removes
 *    its NAT rules and restores ip_forward.
 */
import { isDetached } from '../container/detach.js';
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { DEFAULT_SOCKET, listGatewayTags, readGatewayRecord, recoverGateway, removeGatewayRecord, UsageError } from '@containet/common';
import { detectCgroupLayout, removeStaleCgroups } from '../cgroup/index.js';
import { containodeStore } from '../container/containode-store.js';
import { recordAlive, type ContainerRecord } from '../container/state.js';

export const help = 'Remove leftovers of crashed containers and switches: dead container records, their empty cgroups and host mounts, stale containet sockets (SOCKET arguments, default /tmp/containet.sock) and host-gateway NAT rules of dead switches.';

export interface CleanupOptions {
  dryRun?: boolean;
  /** Leave cgroups younger than this: one being set up has no task yet (default 60 s). */
  minAgeMs?: number;
}

export interface CleanupReport {
  records: string[];
  cgroups: string[];
  mounts: string[];
  sockets: string[];
  gateways: string[];
}

/** Mount points (field 5 of mountinfo, octal escapes undone), innermost last. */
function hostMountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter(Boolean);
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

function umountDetached(path: string): Promise<void> {
  // umount(8) -l = umount2(MNT_DETACH): gone from the namespace at once,
  // released when no longer busy (umount(2)).
  return new Promise((res, rej) => execFile('umount', ['-l', path], { timeout: 10_000 }, (err, _o, stderr) => (err ? rej(new Error(String(stderr).trim() || err.message)) : res())));
}

/** Whether anybody accepts connections on a unix socket path. */
function listening(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', (err: NodeJS.ErrnoException) => res(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

function linkExists(ifname: string): boolean {
  return existsSync(`/sys/class/net/${ifname}`);
}

export async function cleanup(sockets: string[], opts: CleanupOptions = {}): Promise<CleanupReport> {
  const dry = opts.dryRun === true;
  const minAgeMs = opts.minAgeMs ?? 60_000;
  const report: CleanupReport = { records: [], cgroups: [], mounts: [], sockets: [], gateways: [] };

  const store = containodeStore();
  const all = store.list({ keepStale: true });
  const live = new Map(all.filter((r) => recordAlive(r)).map((r) => [r.id, r]));
  // containode-oci keeps the records of stopped containers until `delete`
  // (runtime-spec lifecycle): those are its state, not leftovers.
  // A detached container's record stays after its end too, for `logs` and `rm`.
  const dead: ContainerRecord[] = all.filter((r) => !live.has(r.id) && r.runtime === 'containode' && !isDetached(r));

  // Mounts first: a top directory's mounts are what a record points at.
  const liveDirs = [...live.values()].flatMap((r) => [r.top, r.root]).filter((d): d is string => !!d);
  const deadDirs = dead.flatMap((r) => [r.top, r.root]).filter((d): d is string => !!d && !liveDirs.some((l) => under(l, d) || under(d, l)));
  const mounts = hostMountPoints().filter((m) => deadDirs.some((d) => under(m, d)));
  for (const m of mounts.reverse()) {
    if (!dry) await umountDetached(m);
    report.mounts.push(m);
  }

  for (const r of dead) {
    if (!dry) store.remove(r.id);
    report.records.push(r.id);
  }

  // Only empty ones: a cgroup with tasks may belong to a containode that
  // keeps its records elsewhere (CONTAINET_STATE); its tasks are not ours to kill.
  report.cgroups.push(...(await removeStaleCgroups((id) => live.has(id), detectCgroupLayout(), { onlyEmpty: true, minAgeMs, dryRun: dry })));

  for (const path of (sockets.length ? sockets : [DEFAULT_SOCKET]).map((p) => resolve(p))) {
    let isSocket = false;
    try {
      isSocket = lstatSync(path).isSocket();
    } catch {
      continue;
    }
    if (!isSocket || (await listening(path))) continue;
    if (!dry) unlinkSync(path);
    report.sockets.push(path);
  }

  for (const tag of await listGatewayTags()) {
    const ifname = (await readGatewayRecord(tag))?.ifname;
    if (ifname && linkExists(ifname)) continue;
    if (!dry) {
      await recoverGateway(tag);
      // recoverGateway() leaves a record it can't parse; it is of no use to anyone.
      await removeGatewayRecord(tag);
    }
    report.gateways.push(`${tag}${ifname ? ` (${ifname})` : ''}`);
  }
  return report;
}

export function format(report: CleanupReport, dry: boolean): string {
  const verb = dry ? 'would remove' : 'removed';
  const lines: string[] = [];
  const add = (what: string, items: string[]) => {
    for (const i of items) lines.push(`${verb} ${what} ${i}`);
  };
  add('record', report.records);
  add('cgroup', report.cgroups);
  add('mount', report.mounts);
  add('socket', report.sockets);
  add('gateway', report.gateways);
  if (!lines.length) lines.push('nothing to clean up');
  return lines.join('\n') + '\n';
}

export const commandNames = ['cleanup'];

export interface CleanupCommandOptions extends CleanupOptions {
  json?: boolean;
  /** --min-age as given (seconds). */
  minAge?: string;
}

/** `containode cleanup [--dry-run] [--json] [--min-age S] [SOCKET...]`. */
export async function handler(opts: CleanupCommandOptions, sockets: string[]): Promise<string> {
  let minAgeMs = opts.minAgeMs;
  if (opts.minAge !== undefined) {
    const seconds = Number(opts.minAge);
    if (!/^\d+(\.\d+)?$/.test(opts.minAge) || !Number.isFinite(seconds)) throw new UsageError(`invalid --min-age ${opts.minAge}`, 'seconds, 0 or more');
    minAgeMs = seconds * 1000;
  }
  const report = await cleanup(sockets, { dryRun: opts.dryRun, minAgeMs });
  return opts.json ? JSON.stringify(report, null, 2) + '\n' : format(report, opts.dryRun === true);
}
