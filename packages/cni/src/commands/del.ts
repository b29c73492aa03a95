/**
 * DEL (SPEC.md, section 2): best effort and idempotent. The port leaves the
 * switch, the tap leaves the namespace, the IPAM plugin releases the lease,
 * the record goes; a namespace, switch, port or record already gone is
 * success. An IPAM failure is reported (the lease may still be held), after
 * everything else was done.
 */
import type { NetConf } from '../config.js';
import type { CniEnvironment } from '../environment.js';
import { CniError, CNI_ERR } from '../errors.js';
import { ipamOtherAsync } from '../delegate.js';
import { deleteTap } from '../netns-helper.js';
import { portIdentity } from '../port-identity.js';
import { readCniRecord, removeCniRecord, type CniAttachmentRecord } from '@containet/common';
import { SwitchConnection } from '../switch-attach.js';

export interface Teardown {
  network: string;
  containerId: string;
  ifname: string;
  netns: string | undefined;
  socket: string | undefined;
  ipamType: string | undefined;
  ipamConf: Record<string, unknown> | undefined;
  path: string[];
}

/** Undo one attachment; returns the errors that remain (empty: all done). */
export async function teardown(t: Teardown): Promise<string[]> {
  const errors: string[] = [];
  // The detach goes out first and its answer is collected last, so the
  // daemon's round trip overlaps the namespace helper and the IPAM plugin.
  // A switch that is gone or restarting had the port go with it; a port
  // already gone is what DEL wants; and deleting the tap removes it too.
  let detached: Promise<unknown> | undefined;
  let sw: SwitchConnection | undefined;
  if (t.socket) {
    try {
      sw = await SwitchConnection.connect(t.socket);
      detached = sw.send({ op: 'detach', port: portIdentity(t.containerId, t.ifname) }).catch(() => {});
    } catch {}
  }
  // The IPAM plugin's DEL runs while the helper deletes the tap: neither
  // needs the other, and both wait on the kernel (a link deletion waits for
  // an RCU grace period).
  let released: Promise<void> | undefined;
  if (t.ipamType && t.ipamConf) {
    const type = t.ipamType;
    released = ipamOtherAsync(type, 'DEL', t.ipamConf, t.path, { containerId: t.containerId, ifname: t.ifname, netns: t.netns }).catch((err: unknown) => {
      errors.push(`releasing the address with ${type}: ${(err as Error).message}`);
    });
  }
  if (t.netns) {
    try {
      deleteTap(t.netns, t.ifname);
    } catch (err) {
      errors.push(`deleting ${t.ifname} in ${t.netns}: ${(err as Error).message}`);
    }
  }
  await released;
  await detached;
  sw?.close();
  if (!errors.length) removeCniRecord(t.network, t.containerId, t.ifname);
  return errors;
}

export function teardownOfRecord(rec: CniAttachmentRecord, path: string[]): Teardown {
  const ipam = rec.config['ipam'] as { type?: unknown } | undefined;
  return {
    network: rec.network,
    containerId: rec.containerId,
    ifname: rec.ifname,
    netns: rec.netns,
    socket: rec.socket,
    ipamType: typeof ipam?.type === 'string' ? ipam.type : undefined,
    ipamConf: rec.config,
    path,
  };
}

export async function del(env: CniEnvironment, conf: NetConf): Promise<void> {
  const rec = readCniRecord(conf.name, env.containerId, env.ifname);
  const ipamConf = { ...conf.raw };
  delete ipamConf['prevResult'];
  const errors = await teardown({
    network: conf.name,
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns || rec?.netns,
    socket: conf.socket ?? rec?.socket,
    ipamType: conf.ipamType,
    ipamConf,
    path: env.path,
  });
  if (errors.length) throw new CniError(CNI_ERR.TRY_AGAIN_LATER, `DEL of ${env.containerId} ${env.ifname} left something behind`, errors.join('; '));
}
