/**
 * A port's settings beyond its tap: 802.1Q membership and link impairments
 * as the protocol carries them (PortVlan, LinkImpairment in common),
 * checked once for every client (the CLI checks the same values first to
 * name the flag), turned into the datapath's units, and shown in one line
 * for `containet ports` and the dashboard.
 */
import { ContainetError, type LinkImpairment, type PortVlan } from '@containet/common';
import type { DatapathImpairment } from './datapath.js';

export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;
/** Largest impairment queue (the datapath's CN_IMP_LIMIT_MAX) and its default (CN_IMP_LIMIT_DEFAULT). */
export const QUEUE_LIMIT_MAX = 256 << 20;
export const QUEUE_LIMIT_DEFAULT = 16 << 20;
/** An hour: a larger delay or jitter is surely a mistake (the datapath refuses it too). */
const DELAY_MAX_US = 3600e6;
/** 1 Tbit/s: far above what a software switch moves. */
const RATE_MAX_BPS = 1e12;

/** The membership of a port nobody configured. */
export const DEFAULT_VLAN: PortVlan = { mode: 'access', vlan: 1 };

function bad(message: string, hint?: string): ContainetError {
  return new ContainetError('CN_BAD_REQUEST', message, hint ? { hint } : {});
}

function checkVlanId(v: number, what: string): number {
  if (!Number.isInteger(v) || v < VLAN_MIN || v > VLAN_MAX) throw bad(`${what} ${v} is outside 1..4094`, 'VLAN ids are 1..4094 (IEEE 802.1Q reserves 0 and 4095)');
  return v;
}

/** A membership with checked ids (1..4094, no repeats), trunk lists sorted; throws CN_BAD_REQUEST. */
export function checkVlan(v: PortVlan): PortVlan {
  if (v.mode === 'access') return { mode: 'access', vlan: checkVlanId(v.vlan, 'VLAN') };
  const seen = new Set<number>();
  for (const id of v.allowed) {
    checkVlanId(id, 'trunk VLAN');
    if (seen.has(id)) throw bad(`trunk VLAN ${id} is listed twice`, 'list each VLAN of a trunk once');
    seen.add(id);
  }
  if (seen.size === 0 && v.native === undefined) throw bad('a trunk needs at least one VLAN', 'e.g. --trunk 10,20');
  const native = v.native === undefined ? undefined : checkVlanId(v.native, 'native VLAN');
  return { mode: 'trunk', allowed: [...seen].sort((a, b) => a - b), ...(native === undefined ? {} : { native }) };
}

function percent(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < 0 || v > 100) throw bad(`${what} ${v}% is outside 0..100%`);
  return v;
}

function nonNegative(v: number | undefined, what: string, max: number, unit: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < 0) throw bad(`${what} ${v}${unit} is negative`);
  if (v > max) throw bad(`${what} ${v}${unit} is larger than ${max}${unit}`);
  return v;
}

/**
 * An impairment with every value in range, fields that say nothing
 * (0% loss, no delay) left out; throws CN_BAD_REQUEST naming the value.
 * Returns undefined when nothing is left: no impairment.
 */
export function checkImpairment(imp: LinkImpairment): LinkImpairment | undefined {
  const out: LinkImpairment = {};
  const delayUs = nonNegative(imp.delayUs, 'delay', DELAY_MAX_US, 'us');
  const jitterUs = nonNegative(imp.jitterUs, 'jitter', DELAY_MAX_US, 'us');
  if (delayUs) out.delayUs = delayUs;
  if (jitterUs) out.jitterUs = jitterUs;
  if (imp.distribution !== undefined && imp.distribution !== 'uniform') {
    if (!jitterUs) throw bad(`distribution ${imp.distribution} needs a jitter`, 'add e.g. --jitter 2ms');
    out.distribution = imp.distribution;
  }
  const loss = percent(imp.lossPercent, 'loss');
  if (imp.lossGilbert) {
    if (loss) throw bad('give random loss or Gilbert-Elliott loss (--loss-burst), not both');
    const g = imp.lossGilbert;
    out.lossGilbert = {
      p: percent(g.p, 'loss-burst p')!,
      r: percent(g.r, 'loss-burst r')!,
      badLoss: percent(g.badLoss ?? 100, 'loss-burst 1-h')!,
      goodLoss: percent(g.goodLoss ?? 0, 'loss-burst 1-k')!,
    };
  } else if (loss) {
    out.lossPercent = loss;
  }
  if (imp.rateBps !== undefined) {
    if (!Number.isFinite(imp.rateBps) || imp.rateBps <= 0) throw bad(`rate ${imp.rateBps} bit/s must be more than 0`, 'to remove a rate limit, clear the impairments (--clear)');
    if (imp.rateBps < 8 || imp.rateBps > RATE_MAX_BPS) throw bad(`rate ${imp.rateBps} bit/s is outside 8 bit/s..1 Tbit/s`);
    out.rateBps = Math.round(imp.rateBps);
  }
  if (imp.queueLimitBytes !== undefined) {
    const l = imp.queueLimitBytes;
    if (!Number.isInteger(l) || l < 1 || l > QUEUE_LIMIT_MAX) throw bad(`queue limit ${l} bytes is outside 1..${QUEUE_LIMIT_MAX}`);
    out.queueLimitBytes = l;
  }
  const dup = percent(imp.duplicatePercent, 'duplicate');
  const reorder = percent(imp.reorderPercent, 'reorder');
  const corrupt = percent(imp.corruptPercent, 'corrupt');
  if (dup) out.duplicatePercent = dup;
  if (reorder) {
    if (!delayUs) throw bad(`reorder ${reorder}% needs a delay`, 'reordered frames overtake delayed ones (tc-netem(8)); add e.g. --delay 10ms');
    out.reorderPercent = reorder;
  }
  if (corrupt) out.corruptPercent = corrupt;
  if (imp.seed !== undefined) {
    if (!Number.isSafeInteger(imp.seed) || imp.seed < 1) throw bad(`seed ${imp.seed} must be a whole number from 1 to 2^53-1`);
    out.seed = imp.seed;
  }
  const effective = Object.keys(out).filter((k) => k !== 'seed' && k !== 'queueLimitBytes');
  return effective.length ? out : undefined;
}

/** Percent to parts per 10^9 (the datapath's probabilities). */
const ppb = (p: number | undefined) => (p === undefined ? undefined : Math.round(p * 1e7));

/** A checked impairment in the datapath's units. */
export function datapathImpairment(imp: LinkImpairment): DatapathImpairment {
  const g = imp.lossGilbert;
  const out: DatapathImpairment = {};
  if (imp.delayUs !== undefined) out.delayNs = imp.delayUs * 1000;
  if (imp.jitterUs !== undefined) out.jitterNs = imp.jitterUs * 1000;
  if (imp.distribution !== undefined) out.distribution = imp.distribution;
  if (imp.lossPercent !== undefined) out.lossPpb = ppb(imp.lossPercent)!;
  if (g) out.gilbert = { pPpb: ppb(g.p)!, rPpb: ppb(g.r)!, badPpb: ppb(g.badLoss ?? 100)!, goodPpb: ppb(g.goodLoss ?? 0)! };
  if (imp.rateBps !== undefined) out.rateBps = imp.rateBps;
  if (imp.queueLimitBytes !== undefined) out.limitBytes = imp.queueLimitBytes;
  if (imp.duplicatePercent !== undefined) out.duplicatePpb = ppb(imp.duplicatePercent)!;
  if (imp.reorderPercent !== undefined) out.reorderPpb = ppb(imp.reorderPercent)!;
  if (imp.corruptPercent !== undefined) out.corruptPpb = ppb(imp.corruptPercent)!;
  if (imp.seed !== undefined) out.seed = imp.seed;
  return out;
}

/** `access 10`, `trunk 10,20 native 1`. */
export function formatVlan(v: PortVlan | undefined): string {
  const m = v ?? DEFAULT_VLAN;
  if (m.mode === 'access') return `${m.vlan}`;
  return `trunk ${m.allowed.join(',') || '-'}${m.native === undefined ? '' : ` native ${m.native}`}`;
}

/** Microseconds as tc prints them: 20ms, 1.5s, 250us. */
export function formatTime(us: number): string {
  if (us >= 1e6 && us % 1e4 === 0) return `${us / 1e6}s`;
  if (us >= 1000 && us % 10 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

/** Bits per second as tc prints them: 100Mbit, 1.5Gbit, 800Kbit. */
export function formatRate(bps: number): string {
  for (const [unit, f] of [['Gbit', 1e9], ['Mbit', 1e6], ['Kbit', 1e3]] as const) if (bps >= f) return `${Number((bps / f).toFixed(3))}${unit}`;
  return `${bps}bit`;
}

/** One direction's impairments in tc-netem's words: `delay 20ms 2ms normal loss 1% rate 100Mbit`. */
export function formatImpairment(imp: LinkImpairment): string {
  const parts: string[] = [];
  if (imp.delayUs || imp.jitterUs) {
    parts.push(`delay ${formatTime(imp.delayUs ?? 0)}` + (imp.jitterUs ? ` ${formatTime(imp.jitterUs)}${imp.distribution && imp.distribution !== 'uniform' ? ` ${imp.distribution}` : ''}` : ''));
  }
  if (imp.lossPercent) parts.push(`loss ${imp.lossPercent}%`);
  if (imp.lossGilbert) {
    const g = imp.lossGilbert;
    parts.push(`loss-burst ${g.p}%,${g.r}%,${g.badLoss ?? 100}%,${g.goodLoss ?? 0}%`);
  }
  if (imp.rateBps) parts.push(`rate ${formatRate(imp.rateBps)}`);
  if (imp.queueLimitBytes) parts.push(`limit ${imp.queueLimitBytes}`);
  if (imp.duplicatePercent) parts.push(`duplicate ${imp.duplicatePercent}%`);
  if (imp.reorderPercent) parts.push(`reorder ${imp.reorderPercent}%`);
  if (imp.corruptPercent) parts.push(`corrupt ${imp.corruptPercent}%`);
  if (imp.seed) parts.push(`seed ${imp.seed}`);
  return parts.join(' ');
}

/** Both directions in one cell: `in: ...; out: ...`, `both: ...` when equal, `-` for none. */
export function formatImpairments(impair: { in?: LinkImpairment; out?: LinkImpairment } | undefined): string {
  const i = impair?.in ? formatImpairment(impair.in) : '';
  const o = impair?.out ? formatImpairment(impair.out) : '';
  if (!i && !o) return '-';
  if (i === o) return `both: ${i}`;
  return [i && `in: ${i}`, o && `out: ${o}`].filter(Boolean).join('; ');
}
