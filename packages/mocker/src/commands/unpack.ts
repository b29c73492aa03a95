import { UsageError } from '@containet/common';
import { unpackImage, ensureUnpackedImage } from '../unpack/rootfs.js';
import { openStore, out, type GlobalOptions } from './common.js';
import { unpack as texts } from './help.js';

export const help = texts.help;
export const rootfsHelp = texts.rootfsHelp;


const warn = (m: string): void => void process.stderr.write(`mocker: warning: ${m}\n`);

export async function handler(opts: GlobalOptions & { quiet?: boolean }, args: string[]): Promise<number> {
  if (args.length !== 2) throw new UsageError('mocker unpack takes an image name and a directory', 'e.g. mocker unpack alpine /tmp/alpine-root');
  const store = await openStore(opts);
  const image = store.find(args[0]!);
  const s = await unpackImage(store, image, args[1]!, { warn });
  if (!opts.quiet) out(`${image.name}: ${s.entries} entries, ${s.bytes} bytes of file data in ${args[1]}`);
  return 0;
}

export async function rootfsHandler(opts: GlobalOptions, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('mocker rootfs takes one image name');
  const store = await openStore(opts);
  out(await ensureUnpackedImage(store, store.find(args[0]!), { warn }));
  return 0;
}
