/**
 * The lab's management subnet: the one the file gives, else the first /24
 * from containerlab's 172.20.20.0/24 upward that no route of the host and no
 * other lab uses, so that two labs side by side (and a containerlab one)
 * never collide.
 */
import { execFileSync } from 'node:child_process';

export function ipv4ToInt(text: string): number {
  return text.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export interface Subnet {
  network: number;
  prefix: number;
}

export function parseSubnet(cidr: string): Subnet {
  const [addr = '', len = '32'] = cidr.split('/');
  const prefix = Number(len);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipv4ToInt(addr) & mask) >>> 0, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${intToIpv4(s.network)}/${s.prefix}`;
}

export function subnetSize(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const aEnd = a.network + subnetSize(a);
  const bEnd = b.network + subnetSize(b);
  return a.network < bEnd && b.network < aEnd;
}

export function contains(s: Subnet, address: string): boolean {
  const n = ipv4ToInt(address);
  return n >= s.network && n < s.network + subnetSize(s);
}

/** The host's IPv4 routes (except default ones), as subnets: `ip -4 route show table all`. */
export function hostRoutes(): Subnet[] {
  let out = '';
  try {
    out = execFileSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return [];
  }
  const subnets: Subnet[] = [];
  for (const line of out.split('\n')) {
    const words = line.trim().split(/\s+/);
    // `local`/`broadcast` lines name the host's own addresses; their subnets have their own lines.
    const dst = ['local', 'broadcast', 'unicast', 'multicast'].includes(words[0] ?? '') ? words[1] : words[0];
    if (!dst || dst === 'default' || !/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst)) continue;
    const s = parseSubnet(dst);
    if (s.prefix >= 8) subnets.push(s);
  }
  return subnets;
}

/** The first free /24 from 172.20.20.0/24 on (up to 172.31.255.0/24, RFC 1918's 172.16/12). */
export function chooseSubnet(taken: Subnet[]): Subnet | undefined {
  const start = ipv4ToInt('172.20.20.0');
  const end = ipv4ToInt('172.31.255.0');
  for (let n = start; n <= end; n += 256) {
    const s = { network: n, prefix: 24 };
    if (!taken.some((t) => overlaps(s, t))) return s;
  }
  return undefined;
}
