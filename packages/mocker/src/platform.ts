/**
 * Platforms as in the OCI image index (`os`, `architecture`, `variant`),
 * with the spellings other tools use normalised the way containerd's
 * `platforms.Normalize` does.
 */
import { arch as nodeArch } from 'node:os';
import { UsageError } from '@containet/common';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64', x64: 'amd64', 'x86-64': 'amd64',
  aarch64: 'arm64', armhf: 'arm', armel: 'arm',
  i386: '386', i686: '386', ia32: '386',
  ppc64el: 'ppc64le',
};

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  let variant = p.variant?.toLowerCase() || undefined;
  if (p.architecture.toLowerCase() === 'armhf' && variant === undefined) variant = 'v7';
  if (p.architecture.toLowerCase() === 'armel' && variant === undefined) variant = 'v6';
  // arm64's only variant is v8, which indexes usually leave out.
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm' && variant !== undefined && /^\d$/.test(variant)) variant = `v${variant}`;
  return { os, architecture, variant };
}

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) {
    throw new UsageError(`invalid platform ${JSON.stringify(text)}`, 'write os/arch[/variant], e.g. linux/amd64 or linux/arm/v7');
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] });
}

export function hostPlatform(): Platform {
  const variant = nodeArch() === 'arm' ? `v${(process.config.variables as { arm_version?: string }).arm_version ?? '7'}` : undefined;
  return normalizePlatform({ os: process.platform, architecture: nodeArch(), variant });
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * Whether an index entry's platform serves `want`. No variant asked means
 * any variant (the best is picked by the caller's order), as docker does.
 */
export function platformMatches(entry: Platform, want: Platform): boolean {
  const e = normalizePlatform(entry);
  if (e.os !== want.os || e.architecture !== want.architecture) return false;
  return want.variant === undefined || e.variant === want.variant;
}
