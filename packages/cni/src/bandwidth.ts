/**
 * The CNI `bandwidth` capability, applied by this plugin on the switch
 * port: the standard `bandwidth` plugin shapes the host end of a veth pair
 * with tc, and a containet port has no interface on the host.
 *
 * The fields and their units are the bandwidth plugin's (CONVENTIONS.md,
 * "bandwidth"; plugins/meta/bandwidth): rates in bits per second, bursts in
 * bits, ingress being the traffic into the container, which the switch
 * sends to the port (its `out` direction), egress the traffic the
 * container sends (`in`). As that plugin does, a rate needs a burst and a
 * burst a rate, and the direction's queue holds what its tbf would
 * (`limit`): the burst plus 25 ms at the rate.
 */
import type { LinkImpairment } from '@containet/common';
import { CniError, CNI_ERR } from './errors.js';
import type { SwitchConnection } from './switch-attach.js';

export interface Bandwidth {
  ingressRate: number;
  ingressBurst: number;
  egressRate: number;
  egressBurst: number;
}

export type PortShaping = { in?: LinkImpairment; out?: LinkImpairment };

const FIELDS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;
/** The bandwidth plugin's tbf latency (latencyInMillis). */
const LATENCY_S = 0.025;
/** tbf's limit is a 32-bit byte count. */
const MAX_BURST_BITS = 2 ** 32 * 8;

function badBandwidth(at: string, value: unknown, what: string): CniError {
  return new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `"${at}" must be ${what}`, `${at}: ${JSON.stringify(value)}`);
}

function entry(o: Record<string, unknown>, at: string): Bandwidth {
  const bw = { ingressRate: 0, ingressBurst: 0, egressRate: 0, egressBurst: 0 };
  for (const k of FIELDS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badBandwidth(`${at}${k}`, v, 'a whole number of bits (per second for a rate), 0 for none');
    bw[k] = v;
  }
  for (const dir of ['ingress', 'egress'] as const) {
    const rate = bw[`${dir}Rate`];
    const burst = bw[`${dir}Burst`];
    if (rate > 0 && burst === 0) throw badBandwidth(`${at}${dir}Burst`, burst, `set when ${dir}Rate is (bits the port may send at once)`);
    if (burst > 0 && rate === 0) throw badBandwidth(`${at}${dir}Rate`, rate, `set when ${dir}Burst is (bits per second)`);
    if (burst >= MAX_BURST_BITS) throw badBandwidth(`${at}${dir}Burst`, burst, 'less than 4 GiB');
  }
  return bw;
}

/**
 * The bandwidth to apply, or undefined for none: the plugin configuration's
 * own fields when it has any, else runtimeConfig.bandwidth (the capability
 * a runtime passes), as the bandwidth plugin chooses.
 */
export function parseBandwidth(conf: Record<string, unknown>, runtimeConfig: Record<string, unknown> | undefined): Bandwidth | undefined {
  let bw: Bandwidth | undefined;
  if (FIELDS.some((k) => conf[k] !== undefined && conf[k] !== null)) bw = entry(conf, '');
  else {
    const rc = runtimeConfig?.['bandwidth'];
    if (rc === undefined || rc === null) return undefined;
    if (typeof rc !== 'object' || Array.isArray(rc)) throw badBandwidth('runtimeConfig.bandwidth', rc, 'an object');
    bw = entry(rc as Record<string, unknown>, 'runtimeConfig.bandwidth.');
  }
  return bw.ingressRate || bw.egressRate ? bw : undefined;
}

function direction(rateBits: number, burstBits: number): LinkImpairment {
  return { rateBps: rateBits, queueLimitBytes: Math.floor(burstBits / 8) + Math.floor((rateBits / 8) * LATENCY_S) };
}

/** The switch's impairments for `bw`, per direction of the port. */
export function portShaping(bw: Bandwidth): PortShaping {
  return {
    ...(bw.egressRate ? { in: direction(bw.egressRate, bw.egressBurst) } : {}),
    ...(bw.ingressRate ? { out: direction(bw.ingressRate, bw.ingressBurst) } : {}),
  };
}

/**
 * Shape port `node` on `sw` (requests pipelined, one per direction, or one
 * for both when they are the same); rejects with the switch's error.
 */
export async function applyShaping(sw: SwitchConnection, node: string, shaping: PortShaping): Promise<void> {
  const { in: inbound, out } = shaping;
  const same = inbound && out && inbound.rateBps === out.rateBps && inbound.queueLimitBytes === out.queueLimitBytes;
  const requests = same
    ? [sw.send({ op: 'port-set', port: node, direction: 'both', impair: inbound })]
    : [
        ...(inbound ? [sw.send({ op: 'port-set', port: node, direction: 'in', impair: inbound })] : []),
        ...(out ? [sw.send({ op: 'port-set', port: node, direction: 'out', impair: out })] : []),
      ];
  await Promise.all(requests);
}
