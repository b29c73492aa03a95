/**
 * `containet port set PORT|NODE[:IF] ...`: change a live port's 802.1Q
 * membership and the impairments of its directions. Every value is checked
 * here first (exit 2, the port untouched), then by the daemon again.
 */
import { UsageError, type LinkImpairment, type PortSetRequest, type PortVlan } from '@containet/common';
import { parsePercent, parseRate, parseSize, parseTime, parseVlanId, parseVlanList } from '../link-units.js';
import { formatImpairments, formatVlan } from '../port-settings.js';
import { withClient, type ClientOptions } from './common.js';

export const commandNames = ['port'];

export const help =
  'Change a live port, named by id, NODE (its only port) or NODE:IFNAME. ' +
  'VLANs: --vlan ID makes it an access port (untagged, in VLAN ID); --trunk ID,ID.. [--native ID] a trunk carrying those VLANs tagged (and the native one untagged). ' +
  'Impairments (netem\'s, inside the switch) of --direction in (what the container sends), out (what it receives) or both (the default): ' +
  '--delay 20ms --jitter 2ms [--distribution normal] --loss 1% | --loss-burst p,r[,1-h[,1-k]] --rate 100mbit [--limit BYTES] --duplicate 1% --reorder 1% --corrupt 0.1% --seed N; ' +
  'each call replaces the direction\'s impairments; --clear removes them. Units as tc: us/ms/s, bit/kbit/mbit/gbit or bps/kbps/mbps/gbps, percentages.';

export interface PortSetOptions extends ClientOptions {
  vlan?: string;
  trunk?: string;
  native?: string;
  direction?: string;
  delay?: string;
  jitter?: string;
  distribution?: string;
  loss?: string;
  lossBurst?: string;
  rate?: string;
  limit?: string;
  duplicate?: string;
  reorder?: string;
  corrupt?: string;
  seed?: string;
  clear?: boolean;
}

const DISTRIBUTIONS = ['uniform', 'normal', 'pareto', 'paretonormal'] as const;

/** The membership the flags give, or undefined. */
export function vlanOf(opts: PortSetOptions): PortVlan | undefined {
  if (opts.vlan !== undefined && opts.trunk !== undefined) throw new UsageError('give --vlan (access port) or --trunk, not both');
  if (opts.native !== undefined && opts.trunk === undefined) throw new UsageError('--native goes with --trunk');
  if (opts.vlan !== undefined) return { mode: 'access', vlan: parseVlanId('--vlan', opts.vlan) };
  if (opts.trunk === undefined) return undefined;
  const allowed = parseVlanList('--trunk', opts.trunk);
  const native = opts.native === undefined ? undefined : parseVlanId('--native', opts.native);
  return { mode: 'trunk', allowed, ...(native === undefined ? {} : { native }) };
}

/** The impairments the flags give, or undefined when none is given. */
export function impairmentOf(opts: PortSetOptions): LinkImpairment | undefined {
  const imp: LinkImpairment = {};
  if (opts.delay !== undefined) imp.delayUs = parseTime('--delay', opts.delay);
  if (opts.jitter !== undefined) imp.jitterUs = parseTime('--jitter', opts.jitter);
  if (opts.distribution !== undefined) {
    const d = opts.distribution as (typeof DISTRIBUTIONS)[number];
    if (!DISTRIBUTIONS.includes(d)) throw new UsageError(`--distribution ${opts.distribution}: unknown distribution`, `use one of ${DISTRIBUTIONS.join(', ')}`);
    if (opts.jitter === undefined) throw new UsageError('--distribution goes with --jitter');
    imp.distribution = d;
  }
  if (opts.loss !== undefined && opts.lossBurst !== undefined) throw new UsageError('give --loss (random) or --loss-burst (Gilbert-Elliott), not both');
  if (opts.loss !== undefined) imp.lossPercent = parsePercent('--loss', opts.loss);
  if (opts.lossBurst !== undefined) {
    const parts = opts.lossBurst.split(',');
    if (parts.length < 2 || parts.length > 4) throw new UsageError(`--loss-burst ${opts.lossBurst}: give p,r[,1-h[,1-k]]`, 'e.g. --loss-burst 1%,30% (tc-netem(8) loss gemodel)');
    const [p, r, bad, good] = parts.map((x) => parsePercent('--loss-burst', x));
    imp.lossGilbert = { p: p!, r: r!, ...(bad === undefined ? {} : { badLoss: bad }), ...(good === undefined ? {} : { goodLoss: good }) };
  }
  if (opts.rate !== undefined) imp.rateBps = parseRate('--rate', opts.rate);
  if (opts.limit !== undefined) imp.queueLimitBytes = parseSize('--limit', opts.limit);
  if (opts.duplicate !== undefined) imp.duplicatePercent = parsePercent('--duplicate', opts.duplicate);
  if (opts.reorder !== undefined) {
    imp.reorderPercent = parsePercent('--reorder', opts.reorder);
    if (imp.reorderPercent > 0 && !imp.delayUs) throw new UsageError('--reorder needs --delay', 'reordered frames overtake delayed ones (tc-netem(8))');
  }
  if (opts.corrupt !== undefined) imp.corruptPercent = parsePercent('--corrupt', opts.corrupt);
  if (opts.seed !== undefined) {
    if (!/^\d+$/.test(opts.seed) || !Number.isSafeInteger(Number(opts.seed)) || Number(opts.seed) < 1) {
      throw new UsageError(`--seed ${opts.seed}: not a whole number from 1 to 2^53-1`);
    }
    imp.seed = Number(opts.seed);
  }
  return Object.keys(imp).length ? imp : undefined;
}

/** The port-set request the flags make (without op and id). */
export function portSetRequest(port: string, opts: PortSetOptions): Omit<PortSetRequest, 'op' | 'id'> {
  const vlan = vlanOf(opts);
  const impair = impairmentOf(opts);
  if (opts.clear && impair) throw new UsageError('give impairments or --clear, not both');
  let direction: 'in' | 'out' | 'both' | undefined;
  if (opts.direction !== undefined) {
    if (!['in', 'out', 'both'].includes(opts.direction)) throw new UsageError(`--direction ${opts.direction}: use in, out or both`);
    if (!impair && !opts.clear) throw new UsageError('--direction goes with impairments or --clear');
    direction = opts.direction as 'in' | 'out' | 'both';
  }
  if (!vlan && !impair && !opts.clear) throw new UsageError('port set needs something to set', 'give --vlan, --trunk, impairments (--delay, --loss, --rate, ...) or --clear');
  return {
    port: /^\d+$/.test(port) ? Number(port) : port,
    ...(vlan ? { vlan } : {}),
    ...(direction ? { direction } : {}),
    ...(impair ? { impair } : {}),
    ...(opts.clear ? { clear: true } : {}),
  };
}

export async function handler(opts: PortSetOptions, args: string[]): Promise<string> {
  const [action, which, extra] = args;
  if (action !== 'set') throw new UsageError(`port ${action ?? ''}: unknown action`.replace(/ +:/, ':'), 'use: containet port set PORT ...');
  if (which === undefined || which === '' || extra !== undefined) throw new UsageError('port set takes one PORT (id, NODE or NODE:IFNAME)', 'see containet port --help');
  const body = portSetRequest(which, opts);
  const { port } = await withClient(opts, (c) => c.request({ op: 'port-set', ...body }));
  if (opts.json) return JSON.stringify(port, null, 2) + '\n';
  return `port ${port.port} (${port.node}:${port.ifname}): VLAN ${formatVlan(port.vlan)}; impairments ${formatImpairments(port.impair)}\n`;
}
