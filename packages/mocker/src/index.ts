/**
 * @containet/mocker: pull images from Docker Hub and OCI registries into an
 * OCI image layout, and unpack them safely. containode uses `resolveImage`
 * and `ensureUnpacked` to run containers straight from a stored image.
 */
import { ImageStore } from './store/image-store.js';
import { ensureUnpackedImage, type UnpackOptions } from './unpack/rootfs.js';
import type { RunConfig } from './manifest.js';
import type { Platform } from './platform.js';

export { ImageStore, type StoredImage } from './store/image-store.js';
export { pull, type PullOptions, type PulledImage } from './pull.js';
export { push, type PushOptions, type PushedImage } from './push.js';
export { saveImage, type ArchiveFormat } from './archive/save.js';
export { loadArchive, type LoadOptions, type LoadedImage } from './archive/load.js';
export { parseReference, formatReference, familiarName, type ImageReference } from './reference.js';
export { parsePlatform, hostPlatform, formatPlatform, type Platform } from './platform.js';
export { applyLayer, type ApplyOptions, type ApplyStats } from './unpack/apply.js';
export { unpackImage, rootfsPath, type UnpackOptions } from './unpack/rootfs.js';
export { RegistryError, EXIT } from './errors.js';
export { RegistryClient, type ClientOptions } from './registry/client.js';
export { proxyFromEnvironment, type ProxyChoice } from './registry/proxy.js';
export { MEDIA, type RunConfig, type ImageConfig, type ImageManifest, type ImageIndex, type Descriptor } from './manifest.js';
export { LineProgress, TtyProgress, QuietProgress, type PullProgress } from './progress.js';

export interface StoreOption {
  /** A store, or its directory; default imageStoreDir() from @containet/common. */
  store?: ImageStore | string;
}

function storeOf(opts: StoreOption): ImageStore {
  return opts.store instanceof ImageStore ? opts.store : new ImageStore(opts.store);
}

export interface ResolvedImage {
  /** Full reference it is stored under: `docker.io/library/alpine:latest`. */
  name: string;
  /** Image (platform manifest) digest; the key of its unpacked root filesystem. */
  digest: string;
  platform: Platform | undefined;
  /** Run defaults from the image config; absent fields are left out. */
  config: Pick<RunConfig, 'Entrypoint' | 'Cmd' | 'Env' | 'WorkingDir' | 'User'>;
}

/**
 * An image in the store by name (`alpine`, `host:5000/app:1`) or digest
 * (prefix). Throws ContainetError MOCKER_IMAGE_UNKNOWN (exit 3) when absent.
 */
export function resolveImage(name: string, opts: StoreOption = {}): ResolvedImage {
  const store = storeOf(opts);
  const image = store.find(name);
  const config = store.config(store.manifest(image));
  const c = config.config ?? {};
  const run: ResolvedImage['config'] = {};
  if (c.Entrypoint) run.Entrypoint = c.Entrypoint;
  if (c.Cmd) run.Cmd = c.Cmd;
  if (c.Env) run.Env = c.Env;
  if (c.WorkingDir) run.WorkingDir = c.WorkingDir;
  if (c.User) run.User = c.User;
  return {
    name: image.name,
    digest: image.descriptor.digest,
    platform: config.os && config.architecture ? { os: config.os, architecture: config.architecture, variant: config.variant } : undefined,
    config: run,
  };
}

/**
 * The path of the image's unpacked root filesystem (STORE/rootfs/HEX),
 * unpacking it first if needed: once, under a lock, renamed into place
 * when complete, so concurrent containers share one copy and never see a
 * partial tree. Treat it as read-only (an overlay lower layer).
 */
export async function ensureUnpacked(name: string, opts: StoreOption & UnpackOptions = {}): Promise<string> {
  const store = await storeOf(opts).migrate();
  return ensureUnpackedImage(store, store.find(name), opts);
}
