/**
 * GC (SPEC.md, section 2, 1.1.0): every attachment of this network that is
 * not in `cni.dev/valid-attachments` is torn down as DEL would (port, tap
 * if its namespace is still there, IPAM lease, record), and ports of this
 * plugin on the switch that no record of any network claims are detached.
 * Errors are gathered and reported after doing all that can be done.
 */
import type { NetConf } from '../config.js';
import type { CniEnvironment } from '../environment.js';
import { CniError, CNI_ERR } from '../errors.js';
import { ipamOther, ipamSpeaks110 } from '../delegate.js';
import { PORT_PREFIX } from '../port-identity.js';
import { listCniRecords } from '@containet/common';
import { detachPort, listPorts } from '../switch-requests.js';
import { teardown, teardownOfRecord } from './del.js';

export interface GcOutcome {
  removed: string[];
  detached: string[];
}

export async function gc(env: CniEnvironment, conf: NetConf): Promise<GcOutcome> {
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
  const errors: string[] = [];
  const removed: string[] = [];
  for (const rec of listCniRecords(conf.name)) {
    if (valid.has(`${rec.containerId}\0${rec.ifname}`)) continue;
    const errs = await teardown(teardownOfRecord(rec, env.path));
    if (errs.length) errors.push(...errs);
    else removed.push(`${rec.containerId}/${rec.ifname}`);
  }
  const detached: string[] = [];
  if (conf.socket) {
    const claimed = new Set(listCniRecords().map((r) => r.node));
    try {
      for (const p of await listPorts(conf.socket)) {
        if (!p.node.startsWith(PORT_PREFIX) || claimed.has(p.node)) continue;
        if (await detachPort(conf.socket, p.node)) detached.push(p.node);
      }
    } catch (err) {
      errors.push(`listing ports of ${conf.socket}: ${(err as Error).message}`);
    }
  }
  if (conf.ipamType && ipamSpeaks110(conf.ipamType, env.path)) {
    try {
      ipamOther(conf.ipamType, 'GC', conf.raw, env.path);
    } catch (err) {
      errors.push(`${conf.ipamType} GC: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new CniError(CNI_ERR.TRY_AGAIN_LATER, 'GC could not remove everything', errors.join('; '));
  return { removed, detached };
}
