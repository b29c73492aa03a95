/** `state ID`: the OCI state (runtime.md "State") as JSON. */
import * as args from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['state'];

export const help = 'state ID: print the OCI state as JSON';

export const options: readonly args.OptionDef[] = [];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], 'state');
  const { stateOf, writeOut } = await import('../lifecycle.js');
  writeOut(stateOf(opts.global, id!));
  return 0;
}
