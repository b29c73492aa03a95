import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '@containet/common';
import { loadArchive } from '../archive/load.js';
import { parsePlatform } from '../platform.js';
import { openStore, out, type GlobalOptions } from './common.js';
import { load as texts } from './help.js';

export const help = texts.help;
export const examples = texts.examples;

export interface LoadCommandOptions extends GlobalOptions {
  input?: string;
  name?: string;
  platform?: string;
  quiet?: boolean;
}

export async function handler(opts: LoadCommandOptions, args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError('mocker load takes no arguments', 'mocker load -i FILE');
  if (!opts.input) throw new UsageError('mocker load needs -i FILE', 'e.g. mocker load -i alpine.tar');
  const file = resolve(opts.input);
  if (!existsSync(file)) throw new UsageError(`${file} does not exist`);
  const store = await openStore(opts);
  const loaded = await loadArchive(store, file, { name: opts.name, platform: opts.platform === undefined ? undefined : parsePlatform(opts.platform) });
  for (const l of loaded) out(opts.quiet ? l.name : `Loaded image: ${l.name} (${l.digest})`);
  return 0;
}
