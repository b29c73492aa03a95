/**
 * Capability sets for --privileged, --cap-add and --cap-drop. Names as in
 * capabilities(7) and linux/capability.h; the spawner takes `CAP_X` names.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '@containet/common';

/** capabilities(7), by number (linux/capability.h, up to Linux 5.9). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((n) => `CAP_${n}`);

/**
 * The set Docker grants a container by default (moby
 * oci/caps/defaults.go): enough to run a typical init and daemons as root,
 * without SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE and the like.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP',
  'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
].map((n) => `CAP_${n}`);

/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function lastCapability(): number {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    if (Number.isInteger(n) && n >= 0) return n;
  } catch {
    // older kernels: assume the table
  }
  return CAPABILITY_NAMES.length - 1;
}

/** "net_admin", "CAP_NET_ADMIN", "Net_Admin" → "CAP_NET_ADMIN"; "all" → "ALL". */
export function normalizeCapability(name: string, option: string, lastCap = lastCapability()): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  const index = CAPABILITY_NAMES.indexOf(full);
  if (index < 0) throw new UsageError(`invalid ${option} ${name}: no such capability`, 'use a name from capabilities(7), e.g. NET_ADMIN or CAP_SYS_TIME, or ALL');
  if (index > lastCap) throw new UsageError(`invalid ${option} ${name}: this kernel does not know ${full}`);
  return full;
}

export interface CapabilityChoice {
  /** Leave the container's capabilities as root has them (no cap lines). */
  keepAll: boolean;
  /** The bounding/effective/permitted set when !keepAll, in number order. */
  caps: string[];
}

/**
 * Docker's rules: start from the default set (every capability with
 * --privileged), drop --cap-drop (ALL = everything), then add --cap-add
 * (ALL = everything). Naming one capability in both is a mistake.
 */
export function chooseCapabilities(opts: { privileged?: boolean; add?: string[]; drop?: string[] }, lastCap = lastCapability()): CapabilityChoice {
  const split = (list: string[] | undefined, option: string) =>
    (list ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '').map((v) => normalizeCapability(v, option, lastCap));
  const add = split(opts.add, '--cap-add');
  const drop = split(opts.drop, '--cap-drop');
  for (const c of add) {
    if (c !== 'ALL' && drop.includes(c)) throw new UsageError(`${c} is in both --cap-add and --cap-drop`, 'name each capability once');
  }
  const known = CAPABILITY_NAMES.slice(0, lastCap + 1);
  if (opts.privileged && drop.length === 0) return { keepAll: true, caps: [...known] };
  let set = new Set<string>(opts.privileged ? known : DEFAULT_CAPABILITIES);
  if (drop.includes('ALL')) set.clear();
  for (const c of drop) set.delete(c);
  if (add.includes('ALL')) set = new Set(known);
  for (const c of add) if (c !== 'ALL') set.add(c);
  return { keepAll: false, caps: known.filter((c) => set.has(c)) };
}
