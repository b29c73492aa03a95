/**
 * `completion bash|zsh|man`: a completion script or the man page, made by
 * @containet/common/cli-docs from the option tables the commands parse
 * with (runc has no such command, so nothing of runc's clashes).
 */
import { writeSync } from 'node:fs';
import type { CliOperand } from '@containet/common/cli-docs';
import * as args from '../args.js';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['completion'];

export const help = 'completion bash|zsh|man: print a shell completion script (bash or zsh) or the man page (roff), made from these command definitions';

export const options: readonly args.OptionDef[] = [];

export const operands: readonly CliOperand[] = [{ name: 'format', help: 'bash or zsh (a completion script), man (the man page)', required: true, variadic: false, choices: ['bash', 'zsh', 'man'] }];

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  const [format] = args.operands({ options: opts.options, operands }, ['format'], 'completion');
  const [{ cliDocument }, { describeContainodeOci }] = await Promise.all([import('@containet/common/cli-docs'), import('../manual.js')]);
  const text = cliDocument(await describeContainodeOci(), format);
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) off += writeSync(1, buf, off);
  return 0;
}
