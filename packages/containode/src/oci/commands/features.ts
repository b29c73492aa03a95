/** `features`: what this runtime implements (runtime-spec features.md), as JSON. */
import { writeSync } from 'node:fs';
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['features'];

export const help = 'features: print what this runtime implements (JSON)';

export const options: readonly args.OptionDef[] = [];

export const operands: readonly CliOperand[] = [];

export const stopAtOperand = false;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  args.operands({ options: opts.options, operands }, [], 'features');
  const { features } = await import('../features.js');
  writeSync(1, `${JSON.stringify(features(), null, 2)}\n`);
  return 0;
}
