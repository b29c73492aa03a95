/** `state ID`: the OCI state (runtime.md "State") as JSON. */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['state'];

export const help = 'state ID: print the OCI state as JSON';

export const options: readonly args.OptionDef[] = [];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], 'state');
  const { stateOf, writeOut } = await import('../lifecycle.js');
  writeOut(stateOf(opts.global, id!));
  return 0;
}
