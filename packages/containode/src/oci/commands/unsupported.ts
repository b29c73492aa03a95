/** runc commands this runtime does not have: one clear line, not "unknown command". */
import { ContainetError } from '@containet/common';
import type { OptionDef } from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['events', 'update', 'checkpoint', 'restore'];

export const help = 'events, update, checkpoint, restore: not supported';

export const options: readonly OptionDef[] = [];

export const unparsed = true;

export function handler(opts: OciCommandOptions): Promise<number> {
  return Promise.reject(
    new ContainetError('CN_OCI_UNSUPPORTED', `${opts.command} is not supported by containode-oci`, { hint: 'supported: create start state kill delete run list ps pause resume exec spec features' }),
  );
}
