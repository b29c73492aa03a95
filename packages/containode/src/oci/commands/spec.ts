/** `spec [--bundle DIR]`: write a default config.json, as `runc spec`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import * as args from '../args.js';
import type { CliOperand } from '@containet/common/cli-docs';
import type { OciCommandOptions } from './types.js';

export const commandNames = ['spec'];

export const help = 'spec [--bundle DIR]: write a default config.json';

export const options: readonly args.OptionDef[] = [
  { name: 'bundle', short: 'b', value: true, valueName: 'DIR', help: 'where to write config.json (default: the current directory)' },
  { name: 'rootless', help: 'not supported (an error): write the user namespace mappings into config.json' },
];

export const operands: readonly CliOperand[] = [];

export const stopAtOperand = false;

export async function handler(opts: OciCommandOptions, operands: string[]): Promise<number> {
  args.operands({ options: opts.options, operands }, [], 'spec');
  if (args.flag(opts.options, 'rootless')) {
    throw new ContainetError('CN_OCI_UNSUPPORTED', 'spec --rootless is not supported', { hint: 'write the user namespace mappings into config.json yourself' });
  }
  const { defaultConfig } = await import('../default-spec.js');
  const path = join(args.str(opts.options, 'bundle') ?? '.', 'config.json');
  try {
    writeFileSync(path, `${JSON.stringify(defaultConfig(), null, '\t')}\n`, { flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ContainetError('CN_OCI_EXISTS', `${path} exists; remove it first`);
    throw new ContainetError('CN_OCI_BUNDLE', `cannot write ${path}: ${code ?? (err as Error).message}`);
  }
  return 0;
}
