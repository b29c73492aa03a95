/**
 * Manifest formats: OCI image-spec (manifest.md, image-index.md, config.md)
 * and Docker's image manifest v2 schema 2 and manifest list, which carry the
 * same fields under other media types. Schema 1 is retired and refused.
 */
import { createHash } from 'node:crypto';
import { ContainetError } from '@containet/common';
import { EXIT } from './errors.js';
import { formatPlatform, normalizePlatform, platformMatches, type Platform } from './platform.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What we ask a registry for; without the OCI types some answer 404. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

const LAYER_TYPES = new Set<string>([MEDIA.ociLayer, MEDIA.ociLayerGzip, MEDIA.ociLayerZstd, MEDIA.dockerLayerGzip, 'application/vnd.docker.image.rootfs.diff.tar']);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The runtime defaults containode takes from an image (config.md "config"). */
export interface RunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: RunConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: unknown[];
}

export function isIndexType(t: string | undefined): boolean {
  return t === MEDIA.ociIndex || t === MEDIA.dockerList;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function invalid(what: string, why: string): ContainetError {
  return new ContainetError('MOCKER_BAD_MANIFEST', `invalid manifest for ${what}: ${why}`, { exitCode: EXIT.verify });
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function checkDescriptor(d: unknown, what: string, where: string): Descriptor {
  const x = d as Descriptor;
  if (x === null || typeof x !== 'object') throw invalid(what, `${where} is not a descriptor`);
  if (typeof x.digest !== 'string' || !DIGEST.test(x.digest)) {
    if (typeof x.digest === 'string' && /^[a-z0-9]+:/.test(x.digest)) {
      throw new ContainetError('MOCKER_UNSUPPORTED', `${what}: ${where} uses digest algorithm ${x.digest.split(':')[0]}; only sha256 is supported`, { exitCode: EXIT.verify });
    }
    throw invalid(what, `${where} has no valid digest`);
  }
  if (!Number.isSafeInteger(x.size) || x.size < 0) throw invalid(what, `${where} has no valid size`);
  if (typeof x.mediaType !== 'string') throw invalid(what, `${where} has no mediaType`);
  return x;
}

export type ParsedManifest = { kind: 'index'; mediaType: string; index: ImageIndex } | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/**
 * Parse manifest bytes as received. The media type is the response's
 * Content-Type, or the document's own `mediaType` when the registry sent a
 * generic one.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ParsedManifest {
  let doc: { schemaVersion?: number; mediaType?: string; manifests?: unknown[]; config?: unknown; layers?: unknown[]; fsLayers?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw invalid(what, 'not JSON');
  }
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === MEDIA.dockerSchema1 || ct === MEDIA.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw new ContainetError('MOCKER_UNSUPPORTED', `unsupported manifest: ${what} is in Docker's retired schema 1 format`, {
      exitCode: EXIT.verify,
      hint: 'push the image again with a current docker or skopeo (schema 2 or OCI)',
    });
  }
  if (doc === null || typeof doc !== 'object' || doc.schemaVersion !== 2) throw invalid(what, 'schemaVersion is not 2');
  const known = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest] as string[];
  const mediaType = known.includes(ct) ? ct : (doc.mediaType ?? (Array.isArray(doc.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest));
  if (doc.mediaType !== undefined && doc.mediaType !== mediaType) throw invalid(what, `served as ${ct} but says it is ${doc.mediaType}`);
  if (!known.includes(mediaType)) throw new ContainetError('MOCKER_UNSUPPORTED', `unsupported manifest type ${mediaType} for ${what}`, { exitCode: EXIT.verify });
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid(what, 'an index without manifests');
    doc.manifests.forEach((m, i) => checkDescriptor(m, what, `manifests[${i}]`));
    return { kind: 'index', mediaType, index: doc as ImageIndex };
  }
  const config = checkDescriptor(doc.config, what, 'config');
  if (!Array.isArray(doc.layers)) throw invalid(what, 'no layers');
  doc.layers.forEach((l, i) => {
    const d = checkDescriptor(l, what, `layers[${i}]`);
    if (d.mediaType === MEDIA.dockerForeignLayer || d.mediaType.includes('nondistributable')) {
      throw new ContainetError('MOCKER_UNSUPPORTED', `${what} has a foreign (non-distributable) layer, which mocker does not fetch`, { exitCode: EXIT.verify });
    }
    if (!LAYER_TYPES.has(d.mediaType)) throw new ContainetError('MOCKER_UNSUPPORTED', `${what}: layer ${i + 1} has unsupported media type ${d.mediaType}`, { exitCode: EXIT.verify });
  });
  if (config.mediaType !== MEDIA.ociConfig && config.mediaType !== MEDIA.dockerConfig) {
    throw new ContainetError('MOCKER_UNSUPPORTED', `${what} is not a container image (config type ${config.mediaType})`, { exitCode: EXIT.verify });
  }
  return { kind: 'manifest', mediaType, manifest: doc as ImageManifest };
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

/** The index entry for `want`, as docker picks it; attestations are skipped. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter((d) => !isAttestation(d) && (d.mediaType === MEDIA.ociManifest || d.mediaType === MEDIA.dockerManifest));
  const hits = candidates.filter((d) => d.platform && platformMatches(d.platform, want));
  // With no variant asked for, prefer the newest one listed (arm/v8 over v7...).
  hits.sort((a, b) => (normalizePlatform(b.platform!).variant ?? '').localeCompare(normalizePlatform(a.platform!).variant ?? ''));
  const hit = hits[0];
  if (hit) return hit;
  const have = candidates.filter((d) => d.platform).map((d) => formatPlatform(normalizePlatform(d.platform!)));
  throw new ContainetError('MOCKER_NO_PLATFORM', `no image for ${formatPlatform(want)} in ${what}`, {
    exitCode: EXIT.notFound,
    hint: have.length ? `it has ${[...new Set(have)].join(', ')}; choose one with --platform` : 'the index lists no platforms',
  });
}
