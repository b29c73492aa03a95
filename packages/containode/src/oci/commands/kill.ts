/** `kill [--all] ID [SIG]`: a signal to the container's init (or every process of it). */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['kill'];

export const help = 'kill [--all] ID [SIG]: send SIG (number, TERM or SIGTERM; default SIGTERM)';

export const options: readonly args.OptionDef[] = [{ name: 'all', short: 'a', help: 'send the signal to every process of the container' }];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }, { name: 'signal', help: 'number, TERM or SIGTERM (default SIGTERM)', required: false, variadic: false }];

export const stopAtOperand = false;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id, sig] = args.operands({ options: opts.options, operands }, ['container-id'], 'kill', 1);
  const { parseSignal } = await import('../../container/signals.js');
  const signal = parseSignal(sig ?? 'SIGTERM');
  const { killContainerById } = await import('../../container/container-kill.js');
  await killContainerById(opts.global, id!, signal, args.flag(opts.options, 'all'));
  return 0;
}
