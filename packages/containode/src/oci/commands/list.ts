/** `list [--format table|json] [--quiet]` (also `ls`). */
import { UsageError } from '@containet/common';
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['list', 'ls'];

export const aliases = ['ls'];

export const help = 'list [--format table|json] [--quiet]: the containers in --root';

export const options: readonly args.OptionDef[] = [
  { name: 'format', short: 'f', value: true, valueName: 'FORMAT', choices: ['table', 'json'], help: 'table (default) or json' },
  { name: 'quiet', short: 'q', help: 'print only the identities' },
];

export const operands: readonly CliOperand[] = [];

export const stopAtOperand = false;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  args.operands({ options: opts.options, operands }, [], 'list');
  const fmt = args.str(opts.options, 'format') ?? 'table';
  if (fmt !== 'table' && fmt !== 'json') throw new UsageError(`list: invalid --format ${fmt}`, 'use table or json');
  const { listContainers, writeOut } = await import('../lifecycle.js');
  writeOut(listContainers(opts.global, fmt, args.flag(opts.options, 'quiet')));
  return 0;
}
