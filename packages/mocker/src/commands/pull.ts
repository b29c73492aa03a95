import { UsageError } from '@containet/common';
import { pull } from '../pull.js';
import { parsePlatform } from '../platform.js';
import { progressFor } from '../progress.js';
import { storeFrom, out, interruptible, type GlobalOptions } from './common.js';
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
  const image = await interruptible((signal) =>
    pull(name, {
      store: storeFrom(opts),
      platform: opts.platform === undefined ? undefined : parsePlatform(opts.platform),
      insecure: opts.insecure ?? [],
      progress: progressFor(process.stdout, opts.quiet ?? false),
      signal,
    }),
  );
  if (opts.quiet) out(image.name);
  return 0;
}
