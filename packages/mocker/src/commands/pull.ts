import { UsageError } from '@containet/common';
import { pull } from '../pull.js';
import { parsePlatform } from '../platform.js';
import { progressFor } from '../progress.js';
import { storeFrom, out, type GlobalOptions } from './common.js';
import { pull as texts } from './help.js';

export const help = texts.help;
export const examples = texts.examples;


export interface PullCommandOptions extends GlobalOptions {
  platform?: string;
  insecure?: string[];
  quiet?: boolean;
}

export async function handler(opts: PullCommandOptions, args: string[]): Promise<number> {
  const [name, ...extra] = args;
  if (name === undefined || extra.length) throw new UsageError('mocker pull takes one image name', 'e.g. mocker pull alpine:3.20');
  const ac = new AbortController();
  const stop = (): void => ac.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const image = await pull(name, {
      store: storeFrom(opts),
      platform: opts.platform === undefined ? undefined : parsePlatform(opts.platform),
      insecure: opts.insecure ?? [],
      progress: progressFor(process.stdout, opts.quiet ?? false),
      signal: ac.signal,
    });
    if (opts.quiet) out(image.name);
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
