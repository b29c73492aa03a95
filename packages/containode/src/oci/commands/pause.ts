/** `pause ID` and `resume ID`: freeze or thaw every process of the container (runc's). */
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['pause', 'resume'];

export const help = 'pause ID ; resume ID: freeze or thaw all its processes (needs a cgroup)';

export const options: readonly args.OptionDef[] = [];

export const operands: readonly CliOperand[] = [{ name: 'container-id', help: 'the container\'s identity (unique in --root)', required: true, variadic: false, kind: 'container' }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [id] = args.operands({ options: opts.options, operands }, ['container-id'], opts.command);
  const { pauseContainer } = await import('../../container/container-pause.js');
  await pauseContainer(opts.global, id!, opts.command === 'pause');
  return 0;
}
