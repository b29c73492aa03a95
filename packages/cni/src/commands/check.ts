/**
 * CHECK (SPEC.md, section 2): the attachment is as ADD left it. The port is
 * on the switch (by its node identity) with the shaping ADD gave it, the
 * interface exists in the namespace, up, with the MAC, MTU and addresses
 * of prevResult, and the IPAM plugin agrees (its own CHECK).
 */
import type { NetConf } from '../config.js';
import type { CniEnvironment } from '../environment.js';
import { CniError, CNI_ERR, fromSwitchError } from '../errors.js';
import { ipamOther } from '../delegate.js';
import { checkTap, NetnsError } from '../netns-helper.js';
import { portIdentity } from '../port-identity.js';
import { readCniRecord } from '@containet/common';
import { listPorts } from '../switch-requests.js';
import { requireSocket } from './add.js';

export async function check(env: CniEnvironment, conf: NetConf): Promise<void> {
  const socket = requireSocket(conf);
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'CHECK needs "prevResult" (the result of ADD)', 'the runtime must pass the cached ADD result');
  const index = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && (i.sandbox ?? '') === env.netns);
  if (index < 0) throw new CniError(CNI_ERR.CHECK_FAILED, `prevResult lists no interface ${env.ifname} in ${env.netns}`, JSON.stringify(prev.interfaces ?? []));
  const iface = prev.interfaces![index]!;
  const record = readCniRecord(conf.name, env.containerId, env.ifname);
  if (!record) throw new CniError(CNI_ERR.CHECK_FAILED, `no record of ${env.containerId} ${env.ifname} on network ${conf.name}`, 'ADD was not run by this plugin on this host, or DEL already ran');

  const node = portIdentity(env.containerId, env.ifname);
  let ports;
  try {
    ports = await listPorts(socket);
  } catch (err) {
    throw fromSwitchError(err, socket);
  }
  const port = ports.find((p) => p.node === node);
  if (!port) {
    throw new CniError(CNI_ERR.CHECK_FAILED, `the port of ${env.ifname} (node ${node}) is not on the switch at ${socket}`, 'run `containet-cni reattach` after a switch restart, or DEL and ADD again');
  }
  for (const dir of ['in', 'out'] as const) {
    const want = record.impair?.[dir]?.rateBps;
    const have = port.impair?.[dir]?.rateBps;
    if (want !== undefined && want !== have) {
      throw new CniError(CNI_ERR.CHECK_FAILED, `the port of ${env.ifname} is not shaped as ADD left it (bandwidth)`, `direction ${dir}: rate ${have ?? 'none'} bit/s, ADD set ${want}`);
    }
  }
  const addresses = (prev.ips ?? []).filter((ip) => (ip.interface ?? index) === index).map((ip) => ip.address);
  let problems: string[];
  try {
    problems = checkTap(env.netns, env.ifname, { mac: iface.mac, mtu: iface.mtu, addresses });
  } catch (err) {
    if (err instanceof NetnsError) throw new CniError(CNI_ERR.CHECK_FAILED, `cannot inspect ${env.ifname} in ${env.netns}`, err.message);
    throw err;
  }
  if (problems.length) throw new CniError(CNI_ERR.CHECK_FAILED, `${env.ifname} in ${env.netns} is not as ADD made it`, problems.join('; '));
  if (conf.ipamType) ipamOther(conf.ipamType, 'CHECK', conf.raw, env.path);
}
