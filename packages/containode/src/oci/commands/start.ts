/** `start ID`: run the program of a created container. */
import * as args from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['start'];

export const help = 'start ID: run the program of a created container';

export const options: readonly args.OptionDef[] = [];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], 'start');
  const { startContainer } = await import('../../container/container-start.js');
  await startContainer(opts.global, id!);
  return 0;
}
