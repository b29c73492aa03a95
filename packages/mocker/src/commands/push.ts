import { UsageError } from '@containet/common';
import { push } from '../push.js';
import { humanSize } from '../progress.js';
import { openStore, out, type GlobalOptions } from './common.js';
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
  const ac = new AbortController();
  const stop = (): void => ac.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const short = (d: string): string => d.slice(7, 19);
    const r = await push(source, target, {
      store: await openStore(opts),
      insecure: opts.insecure ?? [],
      signal: ac.signal,
      onBlob: opts.quiet ? undefined : (d, state, size) => out(`${short(d)}: ${state === 'exists' ? 'Layer already exists' : `Pushed ${humanSize(size)}`}`),
    });
    out(opts.quiet ? r.name : `${r.name}: digest: ${r.digest} size: ${r.size}`);
    return 0;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
