import { UsageError } from '@containet/common';
import { openStore, out, type GlobalOptions } from './common.js';
import { rm as texts } from './help.js';

export const help = texts.help;


export async function handler(opts: GlobalOptions, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('mocker rm needs an image name');
  const store = await openStore(opts);
  // Resolve every name before removing any, so a typo removes nothing.
  const names = args.map((a) => store.find(a).name);
  const { untagged, deleted } = await store.remove(names);
  for (const n of untagged) out(`Untagged: ${n}`);
  for (const d of deleted) out(`Deleted: ${d}`);
  return 0;
}
