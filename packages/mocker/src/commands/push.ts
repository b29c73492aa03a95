import { UsageError } from '@containet/common';
import { push } from '../push.js';
import { humanSize } from '../progress.js';
import { openStore, out, interruptible, type GlobalOptions } from './common.js';
import { push as texts } from './help.js';

export const help = texts.help;
export const examples = texts.examples;

export interface PushCommandOptions extends GlobalOptions {
  insecure?: string[];
  quiet?: boolean;
}

export async function handler(opts: PushCommandOptions, args: string[]): Promise<number> {
  const [source, target, ...extra] = args;
  if (source === undefined || target === undefined || extra.length) throw new UsageError('mocker push takes an image and the name to push it as', 'e.g. mocker push alpine 127.0.0.1:5000/mirror/alpine:latest');
  const store = await openStore(opts);
  const short = (d: string): string => d.slice(7, 19);
  const r = await interruptible((signal) =>
    push(source, target, {
      store,
      insecure: opts.insecure ?? [],
      signal,
      onBlob: opts.quiet ? undefined : (d, state, size) => out(`${short(d)}: ${state === 'exists' ? 'Layer already exists' : `Pushed ${humanSize(size)}`}`),
    }),
  );
  out(opts.quiet ? r.name : `${r.name}: digest: ${r.digest} size: ${r.size}`);
  return 0;
}
