/**
 * Masquerading and forwarding rules for the switch's subnet, through
 * iptables (either backend) or, where the host has only nft, an nftables
 * table of our own. Every rule carries the comment `containet:TAG` (or lives
 * in table containet_TAG), so removal and crash recovery find exactly ours.
 */
import { execFile } from 'node:child_process';
import { ContainetError } from '@containet/common';

export type FirewallTool = 'iptables' | 'nft';

function exec(file: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e && typeof e.code === 'string') return reject(e);
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function has(program: string): Promise<boolean> {
  try {
    await exec(program, ['--version']);
    return true;
  } catch {
    return false;
  }
}

export async function detectFirewallTool(): Promise<FirewallTool> {
  if (await has('iptables')) return 'iptables';
  if (await has('nft')) return 'nft';
  throw new ContainetError('CN_NAT_NO_TOOL', 'neither iptables nor nft is installed; --nat needs one of them', {
    hint: 'apt-get install -y iptables (or nftables)',
  });
}

export interface NatRuleSet {
  tag: string;
  subnet: string; // a.b.c.d/prefix, network address
  hostIf: string;
}

async function iptables(args: string[]): Promise<string> {
  const r = await exec('iptables', ['-w', '5', ...args]);
  if (r.code !== 0) {
    throw new ContainetError('CN_NAT_RULE', `iptables ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Whether the filter FORWARD chain drops by default (Docker sets this). */
export async function forwardPolicyDrops(): Promise<boolean> {
  const out = await iptables(['-S', 'FORWARD']);
  return /^-P FORWARD DROP$/m.test(out);
}

const comment = (tag: string) => ['-m', 'comment', '--comment', `containet:${tag}`];

/**
 * Install masquerading for traffic from the subnet leaving by any other
 * interface, plus FORWARD accepts for the switch's interface when the chain
 * policy is DROP. Removes our stale rules of the same tag first.
 * Return: the tool used.
 */
export async function installNat(rules: NatRuleSet, tool?: FirewallTool): Promise<FirewallTool> {
  const t = tool ?? (await detectFirewallTool());
  await removeNat(rules.tag, t);
  if (t === 'iptables') {
    await iptables(['-t', 'nat', '-A', 'POSTROUTING', '-s', rules.subnet, '!', '-o', rules.hostIf, '-j', 'MASQUERADE', ...comment(rules.tag)]);
    // Rules in FORWARD are needed either way when the policy drops; with an
    // ACCEPT policy they are harmless and keep working if Docker starts later.
    await iptables(['-I', 'FORWARD', '1', '-i', rules.hostIf, '-j', 'ACCEPT', ...comment(rules.tag)]);
    await iptables(['-I', 'FORWARD', '1', '-o', rules.hostIf, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT', ...comment(rules.tag)]);
  } else {
    const table = `containet_${rules.tag}`;
    const script = [
      `table ip ${table} {`,
      `  chain postrouting { type nat hook postrouting priority srcnat; policy accept;`,
      `    ip saddr ${rules.subnet} oifname != "${rules.hostIf}" masquerade }`,
      `  chain forward { type filter hook forward priority filter - 1; policy accept;`,
      `    iifname "${rules.hostIf}" accept`,
      `    oifname "${rules.hostIf}" ct state related,established accept }`,
      `}`,
    ].join('\n');
    const r = await exec('nft', ['-f', '-'], script);
    if (r.code !== 0) throw new ContainetError('CN_NAT_RULE', `nft failed: ${r.stderr.trim()}`);
  }
  return t;
}

/** Remove every rule tagged `containet:TAG` (or our nft table). Idempotent. */
export async function removeNat(tag: string, tool?: FirewallTool): Promise<number> {
  const t = tool ?? (await detectFirewallTool());
  if (t === 'nft') {
    const r = await exec('nft', ['delete', 'table', 'ip', `containet_${tag}`]);
    return r.code === 0 ? 1 : 0;
  }
  let removed = 0;
  for (const [table, chain] of [['nat', 'POSTROUTING'], ['filter', 'FORWARD']] as const) {
    const listing = await iptables(['-t', table, '-S', chain]);
    for (const line of listing.split('\n')) {
      if (!line.startsWith(`-A ${chain} `) || !line.includes(`containet:${tag}`)) continue;
      // `iptables -S` prints rules in the syntax -D accepts, quoted comments included.
      const args = splitRule(line.replace(/^-A /, '-D '));
      await iptables(['-t', table, ...args]);
      removed++;
    }
  }
  return removed;
}

/** Split an `iptables -S` line into arguments, honouring double quotes. */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}
