/** `run [--detach] [--keep] --bundle DIR ID`: create + start; in the foreground, wait and delete. */
import * as args from '../args.js';
import { createOptions, options as createFlags } from './create.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['run'];

export const help = 'run [--detach] [--keep] --bundle DIR ID: create + start; in the foreground, wait and delete';

export const options: readonly args.OptionDef[] = [
  ...createFlags,
  { name: 'detach', short: 'd', help: 'start the container and return (else wait for it and delete it)' },
  { name: 'keep', help: 'in the foreground, do not delete the container when it ends' },
  { name: 'no-subreaper', help: 'accepted for runc\'s callers and ignored' },
];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const { runContainer } = await import('../run.js');
  return runContainer(opts.global, { ...createOptions(opts, operands, 'run'), detach: args.flag(opts.options, 'detach'), keep: args.flag(opts.options, 'keep') });
}
