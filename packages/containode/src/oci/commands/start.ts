/** `start ID`: run the program of a created container. */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['start'];

export const help = 'start ID: run the program of a created container';

export const options: readonly args.OptionDef[] = [];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], 'start');
  const { startContainer } = await import('../../container/container-start.js');
  await startContainer(opts.global, id!);
  return 0;
}
