/**
 * Values of `containet port set` in tc's units (tc(8) "PARAMETERS"):
 * times us/usec, ms/msec, s/sec (a bare number is microseconds), rates
 * bit/kbit/mbit/gbit/tbit or bps/kbps/mbps/gbps/tbps in bytes per second
 * (a bare number is bits per second; kibit/mibit/gibit and kibps/mibps/
 * gibps in powers of 1024), sizes b/k/kb/m/mb/g/gb, percentages with or
 * without %. Each parser throws a UsageError naming the flag and value.
 */
import { UsageError } from '@containet/common';

const NUMBER = /^(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z%]*)$/i;

function split(flag: string, text: string, what: string): { n: number; unit: string } {
  const m = NUMBER.exec(text.trim());
  if (!m) throw new UsageError(`${flag} ${text}: not ${what}`, `e.g. ${examples[what] ?? ''}`.trim());
  return { n: Number(m[1]), unit: (m[2] ?? '').toLowerCase() };
}

const examples: Record<string, string> = {
  'a time': '20ms, 500us, 1.5s',
  'a rate': '100mbit, 1gbit, 12500kbps',
  'a size': '65536, 256kb, 16mb',
  'a percentage': '1%, 0.1%',
};

const TIME_US: Record<string, number> = { '': 1, us: 1, usec: 1, usecs: 1, ms: 1e3, msec: 1e3, msecs: 1e3, s: 1e6, sec: 1e6, secs: 1e6 };

/** A time in microseconds; negative refused. */
export function parseTime(flag: string, text: string): number {
  const { n, unit } = split(flag, text, 'a time');
  const f = TIME_US[unit];
  if (f === undefined) throw new UsageError(`${flag} ${text}: unknown time unit "${unit}"`, 'use us, ms or s, e.g. 20ms');
  if (n < 0) throw new UsageError(`${flag} ${text}: a time cannot be negative`);
  return Math.round(n * f * 1000) / 1000;
}

const RATE_BPS: Record<string, number> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};

/** A rate in bits per second; 0 and negative refused. */
export function parseRate(flag: string, text: string): number {
  const { n, unit } = split(flag, text, 'a rate');
  const f = RATE_BPS[unit];
  if (f === undefined) throw new UsageError(`${flag} ${text}: unknown rate unit "${unit}"`, 'use bit, kbit, mbit, gbit (or bps, kbps, mbps, gbps for bytes), e.g. 100mbit');
  if (n <= 0) throw new UsageError(`${flag} ${text}: a rate must be more than 0`, 'to remove a rate limit use --clear');
  return Math.round(n * f);
}

const SIZE_B: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size in bytes (whole, at least 1). */
export function parseSize(flag: string, text: string): number {
  const { n, unit } = split(flag, text, 'a size');
  const f = SIZE_B[unit];
  if (f === undefined) throw new UsageError(`${flag} ${text}: unknown size unit "${unit}"`, 'use bytes, kb, mb or gb, e.g. 256kb');
  const v = Math.round(n * f);
  if (v < 1) throw new UsageError(`${flag} ${text}: a size must be at least 1 byte`);
  return v;
}

/** A percentage 0..100. */
export function parsePercent(flag: string, text: string): number {
  const { n, unit } = split(flag, text, 'a percentage');
  if (unit !== '' && unit !== '%') throw new UsageError(`${flag} ${text}: unknown unit "${unit}" for a percentage`, 'e.g. 1% or 0.1%');
  if (n < 0 || n > 100) throw new UsageError(`${flag} ${text}: a percentage must be from 0% to 100%`);
  return n;
}

/** A VLAN id 1..4094. */
export function parseVlanId(flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} ${text}: not a VLAN id`, 'VLAN ids are whole numbers 1..4094');
  const v = Number(text);
  if (v < 1 || v > 4094) throw new UsageError(`${flag} ${text}: VLAN ${v} is outside 1..4094`, 'IEEE 802.1Q reserves 0 and 4095');
  return v;
}

/** A trunk's VLAN list ID,ID,... (ranges A-B too), each once. */
export function parseVlanList(flag: string, text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const range = /^(\d+)-(\d+)$/.exec(part.trim());
    const ids = range ? [parseVlanId(flag, range[1]!), parseVlanId(flag, range[2]!)] : [parseVlanId(flag, part)];
    const [from, to] = [ids[0]!, ids[ids.length - 1]!];
    if (to < from) throw new UsageError(`${flag} ${text}: range ${part} runs backwards`);
    for (let v = from; v <= to; v++) {
      if (out.includes(v)) throw new UsageError(`${flag} ${text}: VLAN ${v} is listed twice`, 'list each VLAN of a trunk once');
      out.push(v);
    }
  }
  return out;
}
