/** `run [--detach] [--keep] --bundle DIR ID`: create + start; in the foreground, wait and delete. */
import * as args from '../args.js';
import { createOptions, options as createFlags } from './create.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['run'];

export const help = 'run [--detach] [--keep] --bundle DIR ID: create + start; in the foreground, wait and delete';

export const options: readonly args.OptionDef[] = [...createFlags, { name: 'detach', short: 'd' }, { name: 'keep' }, { name: 'no-subreaper' }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const { runContainer } = await import('../run.js');
  return runContainer(opts.global, { ...createOptions(opts, operands, 'run'), detach: args.flag(opts.options, 'detach'), keep: args.flag(opts.options, 'keep') });
}
