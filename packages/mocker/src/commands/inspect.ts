import { UsageError } from '@containet/common';
import { INDEX_ANNOTATION, PULLED_ANNOTATION } from '../store/image-store.js';
import { openStore, out, type GlobalOptions } from './common.js';
import { inspect as texts } from './help.js';

export const help = texts.help;


export async function handler(opts: GlobalOptions, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('mocker inspect needs an image name');
  const store = await openStore(opts);
  const docs = args.map((a) => {
    const img = store.find(a);
    const m = store.manifest(img);
    const c = store.config(m);
    return {
      Name: img.name,
      Digest: img.descriptor.digest,
      IndexDigest: img.descriptor.annotations?.[INDEX_ANNOTATION] ?? null,
      MediaType: img.descriptor.mediaType,
      Platform: [c.os, c.architecture, c.variant].filter(Boolean).join('/'),
      Created: c.created ?? null,
      Pulled: img.descriptor.annotations?.[PULLED_ANNOTATION] ?? null,
      Size: m.config.size + m.layers.reduce((a, l) => a + l.size, 0),
      Layers: m.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      Config: {
        Entrypoint: c.config?.Entrypoint ?? null,
        Cmd: c.config?.Cmd ?? null,
        Env: c.config?.Env ?? [],
        WorkingDir: c.config?.WorkingDir ?? '',
        User: c.config?.User ?? '',
        ...(c.config?.ExposedPorts ? { ExposedPorts: c.config.ExposedPorts } : {}),
        ...(c.config?.Labels ? { Labels: c.config.Labels } : {}),
        ...(c.config?.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
      },
    };
  });
  out(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2));
  return 0;
}
