/**
 * The record a containet host gateway (`containet --host ADDR --nat`) keeps
 * in the state directory, and the recovery that undoes what a crashed
 * daemon left: its tagged NAT/forwarding rules and the ip_forward it
 * turned on. containet writes the record and recovers at its next start;
 * `containode cleanup` recovers for daemons that never come back. Both
 * meet here, so neither program imports the other.
 *
 * Every rule carries the comment `containet:TAG` (iptables) or lives in
 * the table `containet_TAG` (nft), so recovery removes exactly ours.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainetError } from './errors.js';
import { stateDir } from './settings.js';

export type FirewallTool = 'iptables' | 'nft';

export interface GatewayRecord {
  tag: string;
  ifname: string;
  cidr: string;
  nat: boolean;
  tool?: FirewallTool;
  /** ip_forward was 0 before the gateway turned it on: recovery puts 0 back. */
  ipForwardWasOff: boolean;
}

/** Short stable tag for a control socket path: names rules, record and default interface. */
export function gatewayTag(socketPath: string): string {
  return createHash('sha256').update(socketPath).digest('hex').slice(0, 8);
}

export function gatewayRecordPath(tag: string): string {
  return join(stateDir(), `gateway-${tag}.json`);
}

export async function writeGatewayRecord(rec: GatewayRecord): Promise<void> {
  await mkdir(stateDir(), { recursive: true });
  await writeFile(gatewayRecordPath(rec.tag), JSON.stringify(rec, null, 2));
}

export async function removeGatewayRecord(tag: string): Promise<void> {
  await rm(gatewayRecordPath(tag), { force: true });
}

/** The record of `tag`, or undefined when there is none or it can't be parsed (its daemon died writing it). */
export async function readGatewayRecord(tag: string): Promise<GatewayRecord | undefined> {
  try {
    return JSON.parse(await readFile(gatewayRecordPath(tag), 'utf8')) as GatewayRecord;
  } catch {
    return undefined;
  }
}

/** Tags of every gateway record in the state directory. */
export async function listGatewayTags(): Promise<string[]> {
  try {
    return (await readdir(stateDir())).filter((n) => /^gateway-[0-9a-f]+\.json$/.test(n)).map((n) => n.slice('gateway-'.length, -'.json'.length));
  } catch {
    return [];
  }
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e && typeof e.code === 'string') return reject(e);
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function firewallTool(): Promise<FirewallTool | undefined> {
  for (const tool of ['iptables', 'nft'] as const) {
    try {
      await run(tool, ['--version']);
      return tool;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** Split an `iptables -S` line into arguments, honouring double quotes. */
export function splitIptablesRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/**
 * Remove every rule tagged `containet:TAG` (or the nft table
 * containet_TAG). Idempotent. Return: how many rules (or tables) went.
 */
export async function removeTaggedNat(tag: string, tool?: FirewallTool): Promise<number> {
  const t = tool ?? (await firewallTool());
  if (t === undefined) return 0; // no firewall tool: no rule can have been made
  if (t === 'nft') return (await run('nft', ['delete', 'table', 'ip', `containet_${tag}`])).code === 0 ? 1 : 0;
  const iptables = async (args: string[]) => {
    const r = await run('iptables', ['-w', '5', ...args]);
    if (r.code !== 0) throw new ContainetError('CN_NAT_RULE', `iptables ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  let removed = 0;
  for (const [table, chain] of [['nat', 'POSTROUTING'], ['filter', 'FORWARD']] as const) {
    for (const line of (await iptables(['-t', table, '-S', chain])).split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`containet:${tag}`)) continue;
      // `iptables -S` prints rules in the syntax -D accepts, quoted comments included.
      await iptables(['-t', table, ...splitIptablesRule(line.replace(/^-A /, '-D '))]);
      removed++;
    }
  }
  return removed;
}

/** net.ipv4.ip_forward of this network namespace back to 0 (ip-sysctl.rst). */
export async function disableIpForward(): Promise<void> {
  await writeFile('/proc/sys/net/ipv4/ip_forward', '0\n');
}

/**
 * Undo what the gateway of `tag` left: its rules, the ip_forward it turned
 * on, its record. Return: false when there was no readable record (an
 * unreadable one is left for the caller to remove).
 */
export async function recoverGateway(tag: string): Promise<boolean> {
  const rec = await readGatewayRecord(tag);
  if (!rec) return false;
  if (rec.nat) await removeTaggedNat(tag, rec.tool).catch(() => 0);
  if (rec.ipForwardWasOff) await disableIpForward().catch(() => {});
  await removeGatewayRecord(tag);
  return true;
}
