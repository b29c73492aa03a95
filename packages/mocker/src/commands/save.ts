import { resolve } from 'node:path';
import { UsageError } from '@containet/common';
import { saveImage, ARCHIVE_FORMATS, type ArchiveFormat } from '../archive/save.js';
import { openStore, out, type GlobalOptions } from './common.js';
import { save as texts } from './help.js';

export const help = texts.help;
export const examples = texts.examples;

export interface SaveOptions extends GlobalOptions {
  output?: string;
  format?: string;
  quiet?: boolean;
}

export async function handler(opts: SaveOptions, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('mocker save takes one image name', 'e.g. mocker save alpine -o alpine.tar');
  if (!opts.output) throw new UsageError('mocker save needs -o FILE', 'e.g. mocker save alpine -o alpine.tar');
  const format = (opts.format ?? 'oci-archive') as ArchiveFormat;
  if (!ARCHIVE_FORMATS.includes(format)) throw new UsageError(`unknown archive format ${JSON.stringify(opts.format)}`, `use one of: ${ARCHIVE_FORMATS.join(', ')}`);
  const store = await openStore(opts);
  const image = store.find(args[0]!);
  const file = resolve(opts.output);
  await saveImage(store, image, file, format);
  if (!opts.quiet) out(`Saved ${image.name} (${image.descriptor.digest}) to ${file} as ${format}`);
  return 0;
}
