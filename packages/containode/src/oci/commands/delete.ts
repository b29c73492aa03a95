/** `delete [--force] ID`: remove a stopped container (--force kills it first). */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['delete'];

export const help = 'delete [--force] ID: remove a stopped container (--force kills it first)';

export const options: readonly args.OptionDef[] = [{ name: 'force', short: 'f', help: 'kill a running container (SIGKILL) first' }];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

export const stopAtOperand = false;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], 'delete');
  const { deleteContainer } = await import('../../container/container-delete.js');
  await deleteContainer(opts.global, id!, args.flag(opts.options, 'force'));
  return 0;
}
