/**
 * STATUS (SPEC.md, section 2, 1.1.0): ready for ADD when the switch answers
 * (code 50 otherwise) and a 1.1.0 IPAM plugin says it is ready too (one
 * that speaks only 1.0.0 has no STATUS to ask).
 */
import type { NetConf } from '../config.js';
import type { CniEnvironment } from '../environment.js';
import { CniError, CNI_ERR } from '../errors.js';
import { ipamOther, ipamSpeaks110 } from '../delegate.js';
import { switchStatus } from '../switch-requests.js';
import { requireSocket } from './add.js';

export async function status(env: CniEnvironment, conf: NetConf): Promise<void> {
  const socket = requireSocket(conf);
  try {
    await switchStatus(socket);
  } catch (err) {
    throw new CniError(CNI_ERR.NOT_AVAILABLE, `the containet switch at ${socket} does not answer`, (err as Error).message);
  }
  if (conf.ipamType && ipamSpeaks110(conf.ipamType, env.path)) ipamOther(conf.ipamType, 'STATUS', conf.raw, env.path);
}
