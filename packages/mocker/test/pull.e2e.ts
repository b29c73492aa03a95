/**
 * Pulls from a real registry (Debian's docker-registry) on 127.0.0.1, with
 * images built and pushed by the test, behind node servers that demand
 * tokens, redirect, cut, corrupt or rate-limit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, statSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cleanup, whyMissing, testIf } from '@containet/common/testing';
import { pull, ImageStore, resolveImage, ensureUnpacked, hostPlatform } from '@containet/mocker';
import { startRegistry, startFront, pushImage, pushIndex, tempDir, snapshot, sha, forward, runCommand, type CommandResult, type Registry, type LayerEntry } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const noRegistry = whyMissing('docker-registry', 'htpasswd', 'zstd');
const here = hostPlatform();
const other = here.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64' };
const fast = { attempts: 3, backoffMs: 20 };

/** mocker's CLI through node, with its own store. */
function mocker(store: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<CommandResult> {
  return runCommand([process.execPath, MOCKER, '--store', store, ...args], env, input);
}

/** Every blob in the store hashes to its name, nothing is in ingest/. */
function assertStoreSound(store: string): void {
  for (const name of readdirSync(join(store, 'blobs/sha256'))) assert.is(sha(readFileSync(join(store, 'blobs/sha256', name))), `sha256:${name}`);
  assert.equal(readdirSync(join(store, 'ingest')), [], 'no half-written download is left');
}

const BASE: LayerEntry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/hello', data: '#!/bin/sh\necho hello\n', mode: 0o755 },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/os-release', data: 'ID=test\n' },
  { name: 'etc/remove-me', data: 'x' },
  { name: 'var/cache/', type: 'directory' },
  { name: 'var/cache/old', data: 'old' },
];
const TOP: LayerEntry[] = [
  { name: 'etc/.wh.remove-me' },
  { name: 'var/cache/.wh..wh..opq' },
  { name: 'var/cache/new', data: 'new' },
  { name: 'app/', type: 'directory' },
  { name: 'app/data.bin', data: Buffer.alloc(200_000, 1) },
];

async function withRegistry(fn: (reg: Registry, c: Cleanup, store: string) => Promise<void>, opts: Parameters<typeof startRegistry>[0] = {}): Promise<void> {
  const c = new Cleanup();
  try {
    const reg = await startRegistry(opts);
    c.add('registry', () => reg.stop());
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    await fn(reg, c, store);
  } finally {
    await c.run();
  }
}

testIf(test, noRegistry, 'a two-platform OCI index: this machine\'s image by default, --platform for the other; layers in order; skopeo and umoci read the store', async () => {
  await withRegistry(async (reg, c, store) => {
    const mine = await pushImage(reg.url, 'team/app', null, { layers: [{ entries: BASE }, { entries: TOP, compression: 'zstd' }, { entries: [{ name: 'plain', data: 'p' }], compression: 'none' }], config: { Entrypoint: ['/bin/hello'], Cmd: ['--x'], Env: ['A=1'], WorkingDir: '/app', User: '1000:1000' } });
    const theirs = await pushImage(reg.url, 'team/app', null, { layers: [{ entries: [{ name: 'other-arch', data: 'o' }] }], platform: other });
    const att = await pushImage(reg.url, 'team/app', null, { layers: [{ entries: [{ name: 'sbom', data: '{}' }] }], platform: { os: 'unknown', architecture: 'unknown' } });
    const index = await pushIndex(reg.url, 'team/app', 'v1', [
      { image: att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      { image: theirs, platform: other },
      { image: mine, platform: { ...here, architecture: here.architecture === 'amd64' ? 'x86_64' : here.architecture } },
    ]);
    const r = await mocker(store, ['pull', `${reg.host}/team/app:v1`]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, `Digest: ${index.digest}`);
    assert.match(r.stdout, /Pull complete/);
    const s = new ImageStore(store);
    const img = s.find(`${reg.host}/team/app:v1`);
    assert.is(img.descriptor.digest, mine.digest);
    for (const d of mine.layerDigests) assert.ok(s.hasBlob(d));
    assertStoreSound(store);

    // The store is an OCI layout that skopeo and umoci read.
    if (!whyMissing('skopeo')) {
      const sk = spawnSync('skopeo', ['inspect', `oci:${store}:${reg.host}/team/app:v1`], { encoding: 'utf8' });
      assert.is(sk.status, 0, sk.stderr);
      assert.is(JSON.parse(sk.stdout).Digest, mine.digest);
    }
    if (!whyMissing('umoci')) {
      const um = spawnSync('umoci', ['ls', '--layout', store], { encoding: 'utf8' });
      assert.is(um.status, 0, um.stderr);
      assert.equal(um.stdout.trim().split('\n'), [`${reg.host}/team/app:v1`]);
    }

    // The API containode uses.
    const resolved = resolveImage(`${reg.host}/team/app:v1`, { store });
    assert.equal(resolved.config, { Entrypoint: ['/bin/hello'], Cmd: ['--x'], Env: ['A=1'], WorkingDir: '/app', User: '1000:1000' });
    assert.is(resolved.digest, mine.digest);
    const paths = await Promise.all([1, 2, 3].map(() => ensureUnpacked(`${reg.host}/team/app:v1`, { store })));
    assert.ok(paths.every((p) => p === paths[0]), 'concurrent callers share one root filesystem');
    assert.equal(readdirSync(join(store, 'rootfs')), [mine.digest.slice(7)], 'one copy, no temporary left');
    const root = paths[0]!;
    assert.is(readFileSync(join(root, 'bin/hello'), 'utf8'), '#!/bin/sh\necho hello\n');
    assert.is(statSync(join(root, 'bin/hello')).mode & 0o777, 0o755);
    assert.not.ok(existsSync(join(root, 'etc/remove-me')));
    assert.equal(readdirSync(join(root, 'var/cache')), ['new']);
    assert.is(readFileSync(join(root, 'plain'), 'utf8'), 'p');
    assert.not.ok(existsSync(join(root, 'other-arch')));

    // mocker unpack into a directory of our choosing gives the same tree.
    const out = join(tempDir('out'), 'root');
    c.add('out', () => rmSync(join(out, '..'), { recursive: true, force: true }));
    const u = await mocker(store, ['unpack', `${reg.host}/team/app:v1`, out]);
    assert.is(u.status, 0, u.stderr);
    assert.equal(snapshot(out), snapshot(root));
    const again = await mocker(store, ['unpack', `${reg.host}/team/app:v1`, out]);
    assert.is(again.status, 2);
    assert.match(again.stderr, /is not empty/);

    // --platform picks the other entry; same name, so it replaces the first.
    const p2 = await pull(`${reg.host}/team/app:v1`, { store: s, platform: other });
    assert.is(p2.digest, theirs.digest);
    assert.is(p2.indexDigest, index.digest);
    assert.not.ok(s.hasBlob(mine.layerDigests[1]!), 'blobs only the replaced image used are collected');

    // Pull by digest (the index's), and a digest nobody has.
    const byDigest = await mocker(store, ['pull', '-q', `${reg.host}/team/app@${index.digest}`]);
    assert.is(byDigest.status, 0, byDigest.stderr);
    assert.is(byDigest.stdout.trim(), `${reg.host}/team/app@${index.digest}`);
    const nosuch = await mocker(store, ['pull', `${reg.host}/team/app@sha256:${'0'.repeat(64)}`]);
    assert.is(nosuch.status, 3);
    // A platform not in the index.
    const none = await mocker(store, ['pull', '--platform', 'linux/s390x', `${reg.host}/team/app:v1`]);
    assert.is(none.status, 3);
    assert.match(none.stderr, /no image for linux\/s390x in .*hint: it has /s);
    assert.not.match(none.stderr, /unknown/, 'attestation entries are not offered');
  });
});

testIf(test, noRegistry, 'Docker media types (manifest list, schema 2); shared layers are stored once; images, inspect; rm collects unreferenced blobs', async () => {
  await withRegistry(async (reg, _c, store) => {
    const a = await pushImage(reg.url, 'lib/a', 'latest', { oci: false, layers: [{ entries: BASE }, { entries: [{ name: 'a', data: 'a' }] }], config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] } });
    await pushIndex(reg.url, 'lib/a', 'multi', [{ image: a, platform: here }], false);
    const b = await pushImage(reg.url, 'lib/b', '2', { oci: false, layers: [{ entries: BASE }, { entries: [{ name: 'b', data: 'b' }] }] });
    assert.is(a.layerDigests[0], b.layerDigests[0], 'the base layer is the same blob');
    for (const ref of ['lib/a:multi', 'lib/b:2']) assert.is((await mocker(store, ['pull', `${reg.host}/${ref}`])).status, 0);
    const s = new ImageStore(store);
    const blobs = readdirSync(join(store, 'blobs/sha256'));
    assert.is(blobs.filter((n) => `sha256:${n}` === a.layerDigests[0]).length, 1);
    assert.is(blobs.length, 3 + 3 + 1, 'a: manifest, config, 2 layers; b: manifest, config, 1 new layer');
    assert.is(s.find(`${reg.host}/lib/a:multi`).descriptor.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');

    const images = await mocker(store, ['images']);
    assert.match(images.stdout, /^REPOSITORY\s+TAG\s+DIGEST\s+SIZE\s+CREATED$/m);
    assert.match(images.stdout, new RegExp(`^${reg.host}/lib/a\\s+multi\\s+${a.digest.slice(7, 19)}\\s`, 'm'));
    const inspect = JSON.parse((await mocker(store, ['inspect', `${reg.host}/lib/a:multi`])).stdout);
    assert.equal(inspect.Config.Cmd, ['/bin/sh']);
    assert.equal(inspect.Config.Env, ['PATH=/bin']);
    assert.is(inspect.Digest, a.digest);

    await ensureUnpacked(`${reg.host}/lib/a:multi`, { store });
    const rm = await mocker(store, ['rm', `${reg.host}/lib/a:multi`]);
    assert.is(rm.status, 0, rm.stderr);
    assert.match(rm.stdout, `Untagged: ${reg.host}/lib/a:multi`);
    assert.ok(s.hasBlob(a.layerDigests[0]!), 'the shared layer stays');
    assert.not.ok(s.hasBlob(a.layerDigests[1]!), 'a\'s own layer goes');
    assert.not.ok(s.hasBlob(a.digest));
    assert.equal(readdirSync(join(store, 'rootfs')), [], 'its unpacked root filesystem goes');
    const typo = await mocker(store, ['rm', `${reg.host}/lib/b:2`, 'nosuch']);
    assert.is(typo.status, 3);
    assert.is(typo.stderr.trim().split('\n')[0], 'mocker: no such image: docker.io/library/nosuch:latest');
    assert.ok(s.hasBlob(b.digest), 'a typo removes nothing');
    assert.is((await mocker(store, ['rm', b.digest.slice(7, 19)])).status, 0);
    assert.equal(readdirSync(join(store, 'blobs/sha256')), []);
  });
});

testIf(test, noRegistry, 'Bearer token auth: 401 challenge, token endpoint with the docker config\'s credentials, login/logout', async () => {
  await withRegistry(async (reg, c, store) => {
    await pushImage(reg.url, 'private/app', 'v1', { layers: [{ entries: BASE }] });
    const front = await startFront(reg.url, { bearer: { user: 'alice', password: 's3cret', expiresIn: 300 } });
    c.add('front', () => front.close());
    const host = `127.0.0.1:${front.port}`;
    const config = tempDir('docker-config');
    c.add('config', () => rmSync(config, { recursive: true, force: true }));
    const env = { DOCKER_CONFIG: config };

    const anon = await mocker(store, ['pull', `${host}/private/app:v1`], env);
    assert.is(anon.status, 4);
    assert.match(anon.stderr, /^mocker: unauthorized: /);
    assert.match(anon.stderr, new RegExp(`hint: .*mocker login ${host}`));

    const wrong = await mocker(store, ['login', '-u', 'alice', '--password-stdin', host], env, 'nope\n');
    assert.is(wrong.status, 4);
    assert.not.ok(existsSync(join(config, 'config.json')));
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credsStore: '', other: { kept: true } }));
    const ok = await mocker(store, ['login', '-u', 'alice', '--password-stdin', host], env, 's3cret\n');
    assert.is(ok.status, 0, ok.stderr);
    const saved = JSON.parse(readFileSync(join(config, 'config.json'), 'utf8'));
    assert.is(saved.auths[host].auth, Buffer.from('alice:s3cret').toString('base64'));
    assert.equal(saved.other, { kept: true });
    assert.is(statSync(join(config, 'config.json')).mode & 0o777, 0o600);

    const before = front.tokensIssued;
    const r = await mocker(store, ['pull', `${host}/private/app:v1`], env);
    assert.is(r.status, 0, r.stderr);
    assert.is(front.tokensIssued - before, 1, 'one token serves every request of the pull');
    assert.ok(front.seen.some((s) => s.path.startsWith('/token') && s.path.includes('scope=repository%3Aprivate%2Fapp%3Apull')));

    const out = await mocker(store, ['logout', host], env);
    assert.match(out.stdout, `Removing login credentials for ${host}`);
    assert.equal(JSON.parse(readFileSync(join(config, 'config.json'), 'utf8')).auths, {});
    assert.is((await mocker(store, ['pull', `${host}/private/app:v1`], env)).status, 4);
  });
});

testIf(test, noRegistry, 'Basic auth (registry htpasswd): refused without credentials, pulls with ~/.docker/config.json auths', async () => {
  await withRegistry(async (reg, c, store) => {
    const auth = { authorization: `Basic ${Buffer.from('bob:pa55').toString('base64')}` };
    const img = await pushImage(reg.url, 'basic/app', 'v1', { layers: [{ entries: BASE }] }, auth);
    const config = tempDir('docker-config');
    c.add('config', () => rmSync(config, { recursive: true, force: true }));
    const anon = await mocker(store, ['pull', `${reg.host}/basic/app:v1`], { DOCKER_CONFIG: config });
    assert.is(anon.status, 4);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from('bob:pa55').toString('base64') } } }));
    const r = await mocker(store, ['pull', `${reg.host}/basic/app:v1`], { DOCKER_CONFIG: config });
    assert.is(r.status, 0, r.stderr);
    assert.is(new ImageStore(store).find(`${reg.host}/basic/app:v1`).descriptor.digest, img.digest);
  }, { htpasswd: { user: 'bob', password: 'pa55' } });
});

testIf(test, noRegistry, 'a redirect to another host (a CDN) never carries Authorization', async () => {
  await withRegistry(async (reg, c, store) => {
    const img = await pushImage(reg.url, 'cdn/app', 'v1', { layers: [{ entries: BASE }, { entries: TOP }] });
    const cdnSeen: Array<string | undefined> = [];
    // Two "CDN" hosts: `localhost` and 127.0.0.2 are other hosts than 127.0.0.1.
    const cdns = await Promise.all(['127.0.0.1', '127.0.0.2'].map(async (addr) => {
      const srv = createServer((req, res) => {
        cdnSeen.push(req.headers.authorization);
        forward(reg.url, req, res, new URL(req.url ?? '/', 'http://x').searchParams.get('p') ?? '/');
      });
      await new Promise<void>((r) => srv.listen(0, addr, r));
      c.add('cdn', () => new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }));
      return `${addr === '127.0.0.1' ? 'localhost' : addr}:${(srv.address() as AddressInfo).port}`;
    }));
    let n = 0;
    const front = await startFront(reg.url, {
      bearer: { user: 'u', password: 'p' },
      intercept: (req, res) => {
        if (!/\/blobs\/sha256:/.test(req.url ?? '')) return false;
        const cdn = cdns[n++ % 2]!;
        res.writeHead(307, { location: `http://${cdn}/blob?p=${encodeURIComponent(req.url!)}&X-Amz-Signature=abc` }).end();
        return true;
      },
    });
    c.add('front', () => front.close());
    const config = tempDir('docker-config');
    c.add('config', () => rmSync(config, { recursive: true, force: true }));
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [`127.0.0.1:${front.port}`]: { auth: Buffer.from('u:p').toString('base64') } } }));
    const r = await mocker(store, ['pull', `127.0.0.1:${front.port}/cdn/app:v1`], { DOCKER_CONFIG: config });
    assert.is(r.status, 0, r.stderr);
    assert.is(cdnSeen.length, 3, 'config and two layers came from the CDNs');
    assert.equal(cdnSeen, [undefined, undefined, undefined], 'no Authorization reached another host');
    assert.ok(front.seen.filter((s) => s.path.includes('/blobs/')).every((s) => s.authorization?.startsWith('Bearer ')), 'the registry itself got the token');
    assert.ok(new ImageStore(store).hasBlob(img.layerDigests[1]!));
  });
});

testIf(test, noRegistry, 'a blob cut mid-way is resumed with a Range request; 503s are retried', async () => {
  await withRegistry(async (reg, c, store) => {
    const img = await pushImage(reg.url, 'cut/app', 'v1', { layers: [{ entries: [{ name: 'big', data: randomBytes(3_000_000) }] }] });
    const target = img.layerDigests[0]!;
    const size = img.layerBlobs[0]!.length;
    let cuts = 0;
    let unavailable = 2;
    const front = await startFront(reg.url, {
      intercept: (req: IncomingMessage, res: ServerResponse) => {
        if (req.url?.includes('/manifests/') && unavailable > 0) {
          unavailable--;
          res.writeHead(503).end('busy');
          return true;
        }
        if (!req.url?.endsWith(target) || req.headers.range || cuts > 0) return false;
        cuts++;
        res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
        res.write(img.layerBlobs[0]!.subarray(0, size >> 1), () => res.destroy());
        return true;
      },
    });
    c.add('front', () => front.close());
    const pulled = await pull(`127.0.0.1:${front.port}/cut/app:v1`, { store: new ImageStore(store), client: fast });
    assert.is(pulled.digest, img.digest);
    const ranges = front.seen.filter((s) => s.range).map((s) => s.range);
    assert.equal(ranges.length, 1);
    assert.match(ranges[0]!, /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(ranges[0]!)![0]) > 0);
    assert.is(unavailable, 0);
    assertStoreSound(store);
  });
});

testIf(test, noRegistry, 'refused, store unchanged: a blob with the wrong digest, a schema 1 manifest, a manifest not matching its digest; 429 in plain words', async () => {
  await withRegistry(async (reg, c, store) => {
    const good = await pushImage(reg.url, 'ok/app', 'v1', { layers: [{ entries: BASE }] });
    const bad = await pushImage(reg.url, 'bad/app', 'v1', { layers: [{ entries: BASE }, { entries: TOP }] });
    const front = await startFront(reg.url, {
      intercept: (req, res) => {
        const url = req.url ?? '';
        if (url.endsWith(bad.layerDigests[1]!)) {
          const bytes = Buffer.from(bad.layerBlobs[1]!);
          const mid = bytes.length >> 1;
          bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
          res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
          return true;
        }
        if (url.endsWith('/manifests/schema1')) {
          res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end(JSON.stringify({ schemaVersion: 1, name: 'old/app', tag: 'schema1', fsLayers: [], history: [] }));
          return true;
        }
        if (url.endsWith('/manifests/limited')) {
          res.writeHead(429, { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600', 'retry-after': '3600', 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'pull rate limit' }] }));
          return true;
        }
        if (url.includes(`/manifests/${good.digest}`)) {
          res.writeHead(200, { 'content-type': good.mediaType }).end(Buffer.concat([good.manifest, Buffer.from(' ')]));
          return true;
        }
        return false;
      },
    });
    c.add('front', () => front.close());
    const host = `127.0.0.1:${front.port}`;
    assert.is((await mocker(store, ['pull', `${host}/ok/app:v1`])).status, 0);
    const before = snapshot(store);

    const r = await mocker(store, ['pull', `${host}/bad/app:v1`]);
    assert.is(r.status, 5);
    assert.match(r.stderr, new RegExp(`^mocker: blob of ${host}/bad/app:v1 has digest sha256:[0-9a-f]{64}, not ${bad.layerDigests[1]}`));
    assert.not.ok(new ImageStore(store).hasBlob(bad.layerDigests[1]!));
    assertStoreSound(store);
    const after = snapshot(store);
    assert.is(after['index.json'], before['index.json'], 'index.json is unchanged');
    for (const k of Object.keys(before)) assert.is(after[k], before[k], k);
    // Only verified blobs of the failed pull may remain (bad's base layer equals ok's).

    const s1 = await mocker(store, ['pull', `${host}/old/app:schema1`]);
    assert.is(s1.status, 5);
    assert.match(s1.stderr, /^mocker: unsupported manifest: .* retired schema 1 format/);
    const lim = await mocker(store, ['pull', `${host}/ok/app:limited`]);
    assert.is(lim.status, 6);
    assert.is(lim.stderr.split('\n')[0], `mocker: too many requests to ${host}: 0 of 100 pulls left per 6 hours; retry after 3600 s`);
    const dig = await mocker(store, ['pull', `${host}/ok/app@${good.digest}`]);
    assert.is(dig.status, 5);
    assert.match(dig.stderr, /^mocker: manifest of .* has digest .*, not .*; refused/);
    const unknown = await mocker(store, ['pull', `${host}/ok/app:nosuch`]);
    assert.is(unknown.status, 3);
    assert.is(unknown.stderr.split('\n')[0], `mocker: manifest unknown: ${host}/ok/app:nosuch`);
    assert.equal(snapshot(store), after, 'none of these changed the store');
  });
});

testIf(test, noRegistry, 'an interrupted pull (SIGINT mid-download) leaves no name, and a partial download the next pull continues', async () => {
  await withRegistry(async (reg, c, store) => {
    const img = await pushImage(reg.url, 'slow/app', 'v1', { layers: [{ entries: [{ name: 'big', data: randomBytes(2_000_000) }] }] });
    let started!: () => void;
    const midway = new Promise<void>((r) => (started = r));
    const front = await startFront(reg.url, {
      intercept: (req, res) => {
        if (!req.url?.endsWith(img.layerDigests[0]!)) return false;
        res.writeHead(200, { 'content-length': String(img.layerBlobs[0]!.length) });
        res.write(img.layerBlobs[0]!.subarray(0, 100_000), () => started()); // then stall
        return true;
      },
    });
    c.add('front', () => front.close());
    const child = spawn(process.execPath, [MOCKER, '--store', store, 'pull', `127.0.0.1:${front.port}/slow/app:v1`], { stdio: 'ignore' });
    await midway;
    await new Promise((r) => setTimeout(r, 200));
    const ingest = readdirSync(join(store, 'ingest'));
    assert.equal(ingest, [`sha256-${img.layerDigests[0]!.slice(7)}`], 'the download was under way');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c2) => r(c2)));
    assert.is(code, 130);
    assert.not.ok(new ImageStore(store).hasBlob(img.layerDigests[0]!));
    assert.equal(new ImageStore(store).images(), []);
    const kept = statSync(join(store, 'ingest', ingest[0]!)).size;
    assert.ok(kept >= 100_000, `what arrived is kept (${kept} bytes)`);
    // The next pull asks for the rest only.
    const again = await mocker(store, ['pull', `${reg.host}/slow/app:v1`]);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stdout, /Resuming at /);
    assertStoreSound(store);
  });
});

test('CLI usage errors are one line with a hint and exit 2', async () => {
  const store = tempDir('store');
  try {
    const r = await mocker(store, ['pull', 'Alpine:3']);
    assert.is(r.status, 2);
    assert.match(r.stderr, /^mocker: invalid reference format: "Alpine:3": repository name must be lowercase\nmocker: hint: /);
    const p = await mocker(store, ['pull', '--platform', 'linux', 'alpine']);
    assert.is(p.status, 2);
    assert.match(p.stderr, /invalid platform "linux"/);
    const i = await mocker(store, ['inspect', 'alpine']);
    assert.is(i.status, 3);
    assert.is(i.stderr.split('\n')[0], 'mocker: no such image: docker.io/library/alpine:latest');
    assert.not.match(i.stderr, /at .*\.js/, 'no stack trace');
    // commander's own parse errors take the same form: one line, a hint, exit 2.
    for (const [args, line, hint] of [
      [['--bogus'], "mocker: unknown option '--bogus'", 'mocker --help'],
      [['pull', '--nope', 'x'], "mocker: unknown option '--nope'", 'mocker pull --help'],
      [['pull'], "mocker: missing required argument 'name'", 'mocker pull --help'],
      [['frob'], "mocker: unknown command 'frob'", 'mocker --help'],
    ] as const) {
      const u = await mocker(store, [...args]);
      assert.is(u.status, 2, args.join(' '));
      assert.is(u.stderr, `${line}\nmocker: hint: see ${hint}\n`);
    }
    const v = await mocker(store, ['--version']);
    assert.is(v.status, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

void mkdirSync;
test.run();
