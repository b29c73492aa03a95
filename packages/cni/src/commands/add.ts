/**
 * ADD (SPEC.md, section 2): a tap named CNI_IFNAME in CNI_NETNS, handed to
 * the switch as a persistent port, addresses from the IPAM plugin, routes;
 * the result lists the interface, its addresses and routes. Whatever ADD
 * made before a failure is undone (tap, port, IPAM lease), so a failed ADD
 * leaves nothing behind.
 */
import { statSync } from 'node:fs';
import { CniError, CNI_ERR, fromSwitchError } from '../errors.js';
import type { NetConf } from '../config.js';
import type { CniEnvironment } from '../environment.js';
import { applyShaping, portShaping } from '../bandwidth.js';
import { ipamAdd, ipamOther } from '../delegate.js';
import { createTap, deleteTap, NetnsError } from '../netns-helper.js';
import { attachmentMac, portIdentity } from '../port-identity.js';
import { writeCniRecord } from '@containet/common';
import type { CniIpConfig, CniResult, CniRoute } from '../result.js';
import { SwitchConnection } from '../switch-attach.js';
import { detachPort } from '../switch-requests.js';

export const DEFAULT_MTU = 1500;

/** The switch socket, or code 7 naming the missing field. */
export function requireSocket(conf: NetConf): string {
  if (!conf.socket) {
    throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'the network configuration has no "socket"', 'set "socket" to the control socket of a containet switch, e.g. "socket": "/run/containet.sock"');
  }
  return conf.socket;
}

/** Routes as the bridge plugin applies them: a route without gw takes its family's gateway. */
export function routesToApply(ipam: CniResult): Array<[string, string]> {
  const gw4 = ipam.ips?.find((ip) => ip.gateway && !ip.gateway.includes(':'))?.gateway;
  const gw6 = ipam.ips?.find((ip) => ip.gateway?.includes(':'))?.gateway;
  return (ipam.routes ?? []).map((r) => [r.dst, r.gw ?? (r.dst.includes(':') ? gw6 : gw4) ?? '']);
}

function netnsError(err: unknown, env: CniEnvironment): CniError {
  if (!(err instanceof NetnsError)) return err as CniError;
  if (err.errno === 'EEXIST') return new CniError(CNI_ERR.INTERFACE, `interface ${env.ifname} already exists in ${env.netns}`, err.message);
  return new CniError(CNI_ERR.INTERFACE, `setting up ${env.ifname} in ${env.netns} failed`, err.message);
}

export async function add(env: CniEnvironment, conf: NetConf): Promise<CniResult> {
  const socket = requireSocket(conf);
  try {
    statSync(env.netns);
  } catch (err) {
    throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, `network namespace ${env.netns} does not exist`, (err as Error).message);
  }
  const mtu = conf.mtu ?? DEFAULT_MTU;
  const mac = conf.mac ?? env.args.get('MAC') ?? attachmentMac(env.containerId, env.ifname);
  const node = portIdentity(env.containerId, env.ifname);

  // The switch first: a path where nothing listens fails before anything
  // is made. The hello's answer is awaited after the IPAM plugin ran (its
  // round trip overlaps), and its failure undoes the lease like any other.
  let sw: SwitchConnection;
  try {
    sw = await SwitchConnection.connect(socket);
  } catch (err) {
    throw fromSwitchError(err, socket);
  }
  const undo: Array<() => void> = [];
  try {
    const { raw } = conf;
    const ipamConf = { ...raw };
    delete ipamConf['prevResult'];
    let ipam: CniResult | null = null;
    if (conf.ipamType) {
      ipam = ipamAdd(conf.ipamType, ipamConf, env.path);
      const type = conf.ipamType;
      undo.push(() => ipamOther(type, 'DEL', ipamConf, env.path));
    }
    try {
      await sw.hello;
    } catch (err) {
      throw fromSwitchError(err, socket);
    }
    const ips: CniIpConfig[] = (ipam?.ips ?? []).map((ip) => ({ address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), interface: 0 }));
    const { frame, reply } = sw.attachFrame({
      op: 'attach',
      node,
      ifname: env.ifname,
      mac,
      addresses: ips.map((ip) => ip.address).slice(0, 64),
      persist: true,
    });
    let tapMac: string;
    try {
      tapMac = createTap({
        netns: env.netns,
        ifname: env.ifname,
        mac,
        mtu,
        addresses: ips.map((ip) => ip.address),
        routes: ipam ? routesToApply(ipam) : [],
        send: { fd: sw.fd, frame },
      });
    } catch (err) {
      throw netnsError(err, env);
    }
    undo.push(() => void deleteTap(env.netns, env.ifname));
    try {
      await reply;
    } catch (err) {
      throw fromSwitchError(err, socket);
    }
    undo.push(() => void detachPort(socket, node).catch(() => {}));
    const shaping = conf.bandwidth ? portShaping(conf.bandwidth) : undefined;
    if (shaping) {
      try {
        await applyShaping(sw, node, shaping);
      } catch (err) {
        const e = fromSwitchError(err, socket);
        throw new CniError(e.code, `the containet switch at ${socket} cannot shape the port (bandwidth)`, e.details, err);
      }
    }
    writeCniRecord({
      version: 1,
      network: conf.name,
      containerId: env.containerId,
      ifname: env.ifname,
      netns: env.netns,
      socket,
      node,
      mac: tapMac,
      mtu,
      ipam,
      config: ipamConf,
      ...(shaping ? { impair: shaping } : {}),
      createdAt: new Date().toISOString(),
    });
    return buildResult(conf, env, tapMac, mtu, ips, ipam?.routes ?? [], ipam);
  } catch (err) {
    // Newest first; each step is tried even when another fails.
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {}
    }
    throw err;
  } finally {
    sw.close();
  }
}

/** Our result, appended to a previous plugin's when there is one (SPEC.md: prevResult on ADD). */
function buildResult(conf: NetConf, env: CniEnvironment, mac: string, mtu: number, ips: CniIpConfig[], routes: CniRoute[], ipam: CniResult | null): CniResult {
  const prev = conf.prevResult;
  const base = prev?.interfaces?.length ?? 0;
  const result: CniResult = {
    cniVersion: conf.cniVersion,
    interfaces: [...(prev?.interfaces ?? []), { name: env.ifname, mac, mtu, sandbox: env.netns }],
    ips: [...(prev?.ips ?? []), ...ips.map((ip) => ({ ...ip, interface: base }))],
    routes: [...(prev?.routes ?? []), ...routes],
  };
  const dns = ipam?.dns && Object.keys(ipam.dns).length ? ipam.dns : conf.dns ?? prev?.dns;
  if (dns && Object.keys(dns).length) result.dns = dns;
  return result;
}
