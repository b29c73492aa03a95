/**
 * Test fixtures: a real registry (Debian's docker-registry) on loopback,
 * images built here and pushed through the registry HTTP API (monolithic
 * blob upload, manifest PUT), layers made with tar-stream, and a front
 * server that can demand bearer tokens, redirect, cut or corrupt blobs.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync, readdirSync, readFileSync, statSync, lstatSync, readlinkSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { killAndWait } from '@containet/common/testing';

export const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `mocker-${tag}-`));
}

export interface Registry {
  host: string; // 127.0.0.1:PORT
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Debian's docker-registry on 127.0.0.1; `htpasswd` turns on Basic auth. */
/**
 * docker-registry on 127.0.0.1. `storage`: serve another registry's data
 * directory (push to a plain one, pull from a TLS one); `tls`: serve HTTPS
 * with this PEM certificate and key, checked against `tls.ca` while waiting
 * for it to come up.
 */
export async function startRegistry(opts: { htpasswd?: { user: string; password: string }; storage?: string; tls?: { cert: string; key: string; ca: string } } = {}): Promise<Registry> {
  const dir = tempDir('registry');
  const port = await freePort();
  let auth = '';
  if (opts.htpasswd) {
    const line = execFileSync('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), line);
    auth = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const tls = opts.tls ? `  tls:\n    certificate: ${opts.tls.cert}\n    key: ${opts.tls.key}\n` : '';
  const data = opts.storage ?? join(dir, 'data');
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${data}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${tls}${auth}`);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = async (): Promise<void> => {
    await killAndWait(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const answers = async (): Promise<boolean> => {
    if (!opts.tls) {
      const res = await fetch(`${url}/v2/`);
      return res.status === 200 || res.status === 401;
    }
    const ca = readFileSync(opts.tls.ca);
    return new Promise<boolean>((resolve) => {
      // The certificate names the registry by DNS name, not by 127.0.0.1.
      const req = httpsRequest(`${url}/v2/`, { ca, servername: 'registry.test', checkServerIdentity: () => undefined }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
  };
  for (let i = 0; ; i++) {
    try {
      if (await answers()) break;
    } catch {}
    if (i > 100 || child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `127.0.0.1:${port}`, url, dir, stop };
}

/**
 * A test CA and a certificate it signed for `names` (DNS), made with
 * openssl in `dir`: ca.pem, server.pem, server.key.
 */
export function makeCertificates(dir: string, names: string[]): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=containet test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${names[0]}`);
  writeFileSync(f('ext.cnf'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`);
  openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

export type LayerEntry =
  | { name: string; type?: 'file'; data?: string | Buffer; mode?: number; uid?: number; gid?: number; mtime?: Date }
  | { name: string; type: 'directory'; mode?: number; uid?: number; gid?: number; mtime?: Date }
  | { name: string; type: 'symlink' | 'link'; linkname: string }
  | { name: string; type: 'character-device' | 'block-device' | 'fifo'; mode?: number; devmajor?: number; devminor?: number };

export async function makeTar(entries: LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    const base = { name: e.name, mtime: ('mtime' in e && e.mtime) || new Date('2024-01-02T03:04:05Z') };
    if (e.type === 'symlink' || e.type === 'link') p.entry({ ...base, type: e.type, linkname: e.linkname });
    else if (e.type === 'directory') p.entry({ ...base, type: 'directory', mode: e.mode ?? 0o755, uid: e.uid ?? 0, gid: e.gid ?? 0 });
    else if (e.type === 'character-device' || e.type === 'block-device' || e.type === 'fifo') p.entry({ ...base, type: e.type, mode: e.mode ?? 0o644, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 });
    else {
      const f = e as { data?: string | Buffer; mode?: number; uid?: number; gid?: number };
      p.entry({ ...base, type: 'file', mode: f.mode ?? 0o644, uid: f.uid ?? 0, gid: f.gid ?? 0 }, Buffer.from(f.data ?? ''));
    }
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function compress(tar: Buffer, how: Compression): Buffer {
  if (how === 'gzip') return gzipSync(tar);
  if (how === 'zstd') return execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
  return tar;
}

const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
};
const DOCKER = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  list: 'application/vnd.docker.distribution.manifest.list.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** Monolithic upload (distribution spec "Pushing a blob monolithically"). */
export async function pushBlob(base: string, repo: string, bytes: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get('location')!, base);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { ...headers, 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
  return digest;
}

export async function pushManifest(base: string, repo: string, ref: string, bytes: Buffer, mediaType: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { ...headers, 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
  return sha(bytes);
}

export interface ImageSpec {
  layers: Array<{ entries: LayerEntry[]; compression?: Compression }>;
  oci?: boolean;
  config?: Record<string, unknown>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface PushedImage {
  digest: string;
  manifest: Buffer;
  mediaType: string;
  layerDigests: string[];
  layerBlobs: Buffer[];
  size: number;
}

export async function pushImage(base: string, repo: string, tag: string | null, spec: ImageSpec, headers: Record<string, string> = {}): Promise<PushedImage> {
  const oci = spec.oci ?? true;
  const layers = [];
  const diffIds = [];
  const blobs: Buffer[] = [];
  for (const l of spec.layers) {
    const tar = await makeTar(l.entries);
    const how = l.compression ?? 'gzip';
    if (!oci && how !== 'gzip') throw new Error('docker media types: gzip layers only');
    const blob = compress(tar, how);
    blobs.push(blob);
    diffIds.push(sha(tar));
    layers.push({ mediaType: oci ? OCI.layer[how] : DOCKER.layer, digest: await pushBlob(base, repo, blob, headers), size: blob.length });
  }
  const platform = spec.platform ?? { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch };
  const config = Buffer.from(JSON.stringify({ ...platform, created: '2024-01-02T03:04:05Z', config: spec.config ?? { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDesc = { mediaType: oci ? OCI.config : DOCKER.config, digest: await pushBlob(base, repo, config, headers), size: config.length };
  const mediaType = oci ? OCI.manifest : DOCKER.manifest;
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: configDesc, layers }, null, 3));
  const digest = await pushManifest(base, repo, tag ?? sha(manifest), manifest, mediaType, headers);
  return { digest, manifest, mediaType, layerDigests: layers.map((l) => l.digest), layerBlobs: blobs, size: manifest.length };
}

/** An image of ready-made tar layers (gzipped here), e.g. made by GNU tar from a directory. */
export async function pushTarImage(base: string, repo: string, tag: string, tars: Buffer[], headers: Record<string, string> = {}): Promise<PushedImage> {
  const layers = [];
  const blobs: Buffer[] = [];
  for (const tar of tars) {
    const blob = gzipSync(tar);
    blobs.push(blob);
    layers.push({ mediaType: OCI.layer.gzip, digest: await pushBlob(base, repo, blob, headers), size: blob.length });
  }
  const platform = { os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch };
  const config = Buffer.from(JSON.stringify({ ...platform, created: '2024-01-02T03:04:05Z', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: tars.map(sha) } }));
  const configDesc = { mediaType: OCI.config, digest: await pushBlob(base, repo, config, headers), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: configDesc, layers }));
  const digest = await pushManifest(base, repo, tag, manifest, OCI.manifest, headers);
  return { digest, manifest, mediaType: OCI.manifest, layerDigests: layers.map((l) => l.digest), layerBlobs: blobs, size: manifest.length };
}

export async function pushIndex(base: string, repo: string, tag: string, entries: Array<{ image: PushedImage; platform: { os: string; architecture: string; variant?: string }; annotations?: Record<string, string> }>, oci = true): Promise<{ digest: string; bytes: Buffer }> {
  const mediaType = oci ? OCI.index : DOCKER.list;
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: entries.map((e) => ({ mediaType: e.image.mediaType, digest: e.image.digest, size: e.image.size, platform: e.platform, ...(e.annotations ? { annotations: e.annotations } : {}) })),
  }));
  return { digest: await pushManifest(base, repo, tag, bytes, mediaType), bytes };
}

/** The tree under `dir` as path → description, for before/after comparisons. */
export function snapshot(dir: string, withMeta = false): Record<string, string> {
  const out: Record<string, string> = {};
  if (withMeta) {
    const st = lstatSync(dir);
    out['.'] = `meta:${st.mode.toString(8)}:${st.uid}:${st.gid}:${st.mtimeMs}`;
  }
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (withMeta) out[`${r}@meta`] = `${st.uid}:${st.gid}:${st.mtimeMs}`;
      if (st.isSymbolicLink()) out[r] = `link:${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir:${(st.mode & 0o7777).toString(8)}`;
        walk(p, r);
      } else if (st.isFile()) out[r] = `file:${(st.mode & 0o7777).toString(8)}:${st.nlink}:${sha(readFileSync(p))}`;
      else out[r] = `other:${st.mode.toString(8)}:${st.rdev}`;
    }
  };
  walk(dir, '');
  return out;
}

export function fileSize(p: string): number {
  return statSync(p).size;
}

export interface FrontOptions {
  /** Demand `Authorization: Bearer` tokens issued by our /token for user:password. */
  bearer?: { user: string; password: string; expiresIn?: number };
  /** Answer this request instead of forwarding it (return true when handled). */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Host name to put in the token realm (default 127.0.0.1). */
  realmHost?: string;
}

export interface Front {
  url: string;
  port: number;
  /** Authorization headers seen, by path. */
  seen: Array<{ method: string; path: string; authorization: string | undefined; range: string | undefined }>;
  tokensIssued: number;
  close(): Promise<void>;
}

/** A node HTTP server in front of a registry (127.0.0.1), forwarding what it does not intercept. */
export async function startFront(upstream: string, opts: FrontOptions = {}): Promise<Front> {
  const tokens = new Set<string>();
  const front: Front = { url: '', port: 0, seen: [], tokensIssued: 0, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    front.seen.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization, range: req.headers.range });
    if (opts.bearer && path.startsWith('/token')) {
      const want = `Basic ${Buffer.from(`${opts.bearer.user}:${opts.bearer.password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      front.tokensIssued++;
      const q = new URL(path, 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: opts.bearer.expiresIn ?? 300, scope: q.getAll('scope').join(' ') }));
      return;
    }
    if (opts.bearer) {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
        const m = /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(path);
        const scope = m ? `,scope="repository:${m[1]}:pull"` : '';
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${opts.realmHost ?? '127.0.0.1'}:${front.port}/token",service="test-registry"${scope}`, 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
    }
    if (opts.intercept && (await opts.intercept(req, res))) return;
    forward(upstream, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  front.port = (server.address() as AddressInfo).port;
  front.url = `http://127.0.0.1:${front.port}`;
  front.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return front;
}

export function forward(upstream: string, req: IncomingMessage, res: ServerResponse, pathOverride?: string): void {
  const headers = { ...req.headers };
  delete headers.authorization;
  delete headers.host;
  const up = httpRequest(new URL(pathOverride ?? req.url ?? '/', upstream), { method: req.method, headers }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `argv` without blocking the event loop (servers in the test process
 * must answer it), killed after 60 s. `env` is added to the test's
 * environment (undefined removes a name); the machine's proxy variables
 * are left out, so a test names its proxies itself.
 */
export async function runCommand(argv: string[], env: Record<string, string | undefined> = {}, input = ''): Promise<CommandResult> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/_proxy$/i.test(k)) childEnv[k] = v;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn(argv[0]!, argv.slice(1), { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** The digests of the blobs in a store (or OCI layout). */
export function storedBlobs(store: string): string[] {
  const dir = join(store, 'blobs/sha256');
  return existsSync(dir) ? readdirSync(dir).map((n) => `sha256:${n}`) : [];
}
