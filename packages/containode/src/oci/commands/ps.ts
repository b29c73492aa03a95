/** `ps [--format table|json] ID [PS_OPTIONS]`: the container's processes. */
import { writeSync } from 'node:fs';
import { UsageError } from '@containet/common';
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['ps'];

export const help = 'ps [--format table|json] ID [PS_OPTIONS]: the container\'s processes (ps -ef lines, or pids)';

export const options: readonly args.OptionDef[] = [{ name: 'format', short: 'f', value: true, valueName: 'FORMAT', choices: ['table', 'json'], help: 'table (ps -ef lines, default) or json (the PIDs)' }];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }, { name: 'ps-options', help: 'options for ps(1) with --format table', required: false, variadic: true }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id, ...psArgs] = args.operands({ options: opts.options, operands }, ['container-id'], 'ps', Infinity);
  const fmt = args.str(opts.options, 'format') ?? 'table';
  if (fmt !== 'table' && fmt !== 'json') throw new UsageError(`ps: invalid --format ${fmt}`, 'use table or json');
  const { psContainer } = await import('../ps.js');
  writeSync(1, psContainer(opts.global, id!, fmt, psArgs));
  return 0;
}
