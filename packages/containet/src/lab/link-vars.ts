/**
 * Link `vars`: our extension of containerlab's links (its `vars` is free
 * user data, so a file with them stays valid for containerlab). Impairments
 * are netem's model in tc-netem(8)'s units and become a `port-set` of the
 * link's port on its switch; `vlan` makes a bridge port an access port.
 */
import type { LinkImpairment } from '@containet/common';
import type { SourceValue } from './yaml-source.js';

export interface LinkVars {
  impair?: LinkImpairment | undefined;
  /** Access VLAN of the node's port on a bridge, 1..4094. */
  vlan?: number | undefined;
}

const VAR_NAMES = ['delay', 'jitter', 'loss', 'rate', 'vlan'];
const HINT = 'link vars: delay (20ms), jitter (5ms), loss (1%), rate (100mbit), vlan (10)';

/** tc(8) times: a number with s, ms or us (usec, msec); bare numbers are microseconds, as tc reads them. */
export function parseTime(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|ms|msec|msecs|us|usec|usecs)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] ?? 'us';
  const scale = unit.startsWith('s') ? 1e6 : unit.startsWith('m') ? 1e3 : 1;
  return Math.round(Number(m[1]) * scale);
}

/** tc(8) rates: bit, kbit, mbit, gbit (and Kibit..) in bits per second; bps, kbps, mbps, gbps in bytes per second. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?)(bit|bps)?$/i.exec(text.trim());
  if (!m) return undefined;
  const prefix = m[2]!.toLowerCase();
  const si = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4 }[prefix];
  if (si === undefined) return undefined;
  const perByte = m[3]?.toLowerCase() === 'bps' ? 8 : 1;
  return Math.round(Number(m[1]) * si * perByte);
}

export function parseLinkVars(v: SourceValue): LinkVars {
  const out: LinkVars = {};
  const impair: LinkImpairment = {};
  for (const [key, value] of v.entries('a map of link vars')) {
    if (!VAR_NAMES.includes(key)) throw value.error('unknown link var', HINT);
    const text = value.string().trim();
    if (key === 'delay' || key === 'jitter') {
      const us = parseTime(text);
      if (us === undefined || us > 60e6) throw value.error(`bad ${key} ${JSON.stringify(text)}`, `a time up to 60s, e.g. ${key === 'delay' ? '20ms' : '5ms'}`);
      if (key === 'delay') impair.delayUs = us;
      else impair.jitterUs = us;
    } else if (key === 'loss') {
      const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
      const pct = m ? Number(m[1]) : NaN;
      if (!(pct >= 0 && pct <= 100)) throw value.error(`bad loss ${JSON.stringify(text)}`, 'a percentage from 0 to 100, e.g. 1%');
      impair.lossPercent = pct;
    } else if (key === 'rate') {
      const bps = parseRate(text);
      if (bps === undefined || bps < 8000) throw value.error(`bad rate ${JSON.stringify(text)}`, 'bits per second with tc units, at least 8kbit, e.g. 100mbit');
      impair.rateBps = bps;
    } else {
      const id = Number(text);
      if (!Number.isInteger(id) || id < 1 || id > 4094) throw value.error(`bad vlan ${JSON.stringify(text)}`, 'a VLAN id from 1 to 4094 (IEEE 802.1Q)');
      out.vlan = id;
    }
  }
  if (impair.jitterUs !== undefined && impair.delayUs === undefined) throw v.error('jitter without delay', 'jitter varies a delay: give delay too (tc-netem(8))');
  if (Object.keys(impair).length) out.impair = impair;
  return out;
}
