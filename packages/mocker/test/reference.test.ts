import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseReference, formatReference, familiarName, parsePlatform, RegistryError } from '@containet/mocker';
import { apiHost, isLoopbackHost } from '../src/reference.js';
import { selectPlatform, parseManifest, MEDIA } from '../src/manifest.js';
import { findCredentials, storeCredentials, removeCredentials } from '../src/registry/credentials.js';
import { redactHeaders, redactUrl } from '../src/errors.js';
import { tempDir } from './fixtures.js';

test('references are normalised as docker does', () => {
  const cases: Array<[string, string]> = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['user/repo', 'docker.io/user/repo:latest'],
    [`user/repo@sha256:${'a'.repeat(64)}`, `docker.io/user/repo@sha256:${'a'.repeat(64)}`],
    [`alpine:3@sha256:${'b'.repeat(64)}`, `docker.io/library/alpine:3@sha256:${'b'.repeat(64)}`],
    ['registry.example:5000/team/app:tag', 'registry.example:5000/team/app:tag'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['127.0.0.1:5000/a/b/c:v1.2_x-y', '127.0.0.1:5000/a/b/c:v1.2_x-y'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    ['ghcr.io/o/r', 'ghcr.io/o/r:latest'],
    ['my_user/my-repo.name__x', 'docker.io/my_user/my-repo.name__x:latest'],
  ];
  for (const [input, want] of cases) assert.is(formatReference(parseReference(input)), want, input);
  assert.is(familiarName(parseReference('alpine')), 'alpine');
  assert.is(familiarName(parseReference('user/app')), 'user/app');
  assert.is(familiarName(parseReference('localhost:5000/app')), 'localhost:5000/app');
  assert.is(apiHost('docker.io'), 'registry-1.docker.io');
});

test('bad references are usage errors naming the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Alpine', /must be lowercase/],
    ['alpine:', /a tag is/],
    ['alpine:-x', /a tag is/],
    ['alpine@sha256:abc', /a digest is/],
    ['alpine@md5:abc', /a digest is/],
    ['a//b', /not a repository name component/],
    ['-a/b', /not a repository name component/],
    ['host:5000/', /no repository name/],
    [`a/${'x'.repeat(260)}`, /longer than 255/],
    ['bad_host.com:99/x', /not a registry host/],
  ];
  for (const [input, why] of bad) {
    assert.throws(() => parseReference(input), (e: { code: string; exitCode: number; message: string }) => e.code === 'CN_USAGE' && e.exitCode === 2 && why.test(e.message), input);
  }
});

test('loopback registries are plain HTTP, others are not', () => {
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['registry.example', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com']) assert.not.ok(isLoopbackHost(h), h);
});

test('platforms: parsing and normalising', () => {
  assert.equal(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64', variant: undefined });
  assert.equal(parsePlatform('linux/x64'), { os: 'linux', architecture: 'amd64', variant: undefined });
  assert.equal(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64', variant: undefined });
  assert.equal(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: undefined });
  assert.equal(parsePlatform('Linux/ARM/7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d']) assert.throws(() => parsePlatform(bad), (e: { code: string }) => e.code === 'CN_USAGE', bad);
});

test('platform selection skips attestations and picks the variant', () => {
  const d = (arch: string, variant?: string, annotations?: Record<string, string>, os = 'linux') => ({ mediaType: MEDIA.ociManifest, digest: `sha256:${(arch + (variant ?? '')).padEnd(64, '0').replace(/[^0-9a-f]/g, '1')}`, size: 1, platform: { os, architecture: arch, variant }, annotations });
  const index = {
    schemaVersion: 2 as const,
    manifests: [d('unknown', undefined, { 'vnd.docker.reference.type': 'attestation-manifest' }, 'unknown'), d('amd64'), d('arm', 'v6'), d('arm', 'v7'), d('arm64', 'v8')],
  };
  assert.is(selectPlatform(index, parsePlatform('linux/amd64'), 'x').platform!.architecture, 'amd64');
  assert.is(selectPlatform(index, parsePlatform('linux/arm64'), 'x').platform!.architecture, 'arm64');
  assert.is(selectPlatform(index, parsePlatform('linux/arm/v6'), 'x').platform!.variant, 'v6');
  assert.is(selectPlatform(index, parsePlatform('linux/arm'), 'x').platform!.variant, 'v7');
  assert.throws(() => selectPlatform(index, parsePlatform('unknown/unknown'), 'x'), (e: { code: string }) => e.code === 'MOCKER_NO_PLATFORM');
});

test('manifests: schema 1 is refused clearly; type confusion and other digests are refused', () => {
  const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, fsLayers: [] }));
  assert.throws(() => parseManifest(s1, 'application/json', 'x'), (e: { code: string; message: string }) => e.code === 'MOCKER_UNSUPPORTED' && /schema 1/.test(e.message));
  const m = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(m)), MEDIA.ociManifest, 'x'), (e: { code: string }) => e.code === 'MOCKER_BAD_MANIFEST');
  const sha512 = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: `sha512:${'a'.repeat(128)}`, size: 1 }, layers: [] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(sha512)), MEDIA.ociManifest, 'x'), (e: { code: string; message: string }) => e.code === 'MOCKER_UNSUPPORTED' && /sha512/.test(e.message));
  assert.throws(() => parseManifest(Buffer.from('{'), MEDIA.ociManifest, 'x'), (e: { code: string }) => e.code === 'MOCKER_BAD_MANIFEST');
});

test('credentials: docker config auths read, written 0600 with other keys kept, removed', () => {
  const dir = tempDir('creds');
  const path = join(dir, 'config.json');
  try {
    assert.is(findCredentials('docker.io', path), null);
    writeFileSync(path, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') }, 'https://reg.example:5000/v2/': { username: 'u', password: 'p' } }, credHelpers: { x: 'y' } }));
    assert.equal(findCredentials('docker.io', path), { username: 'hub', password: 'pw:with:colons' });
    assert.equal(findCredentials('reg.example:5000', path), { username: 'u', password: 'p' });
    assert.is(findCredentials('reg.example', path), null);
    storeCredentials('reg.example:5000', { username: 'new', password: 'pw' }, path);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(Object.keys(saved.auths).sort(), ['https://index.docker.io/v1/', 'reg.example:5000']);
    assert.equal(saved.credHelpers, { x: 'y' });
    assert.is(statSync(path).mode & 0o777, 0o600);
    assert.ok(removeCredentials('docker.io', path));
    assert.not.ok(removeCredentials('docker.io', path));
    assert.equal(Object.keys(JSON.parse(readFileSync(path, 'utf8')).auths), ['reg.example:5000']);
    writeFileSync(path, '{not json');
    assert.throws(() => findCredentials('docker.io', path), (e: { code: string; message: string }) => e.code === 'MOCKER_CONFIG' && /not valid JSON/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry errors carry request and response with credentials redacted', () => {
  assert.equal(redactHeaders({ Authorization: 'Bearer abc.def', 'proxy-authorization': 'Basic dTpw', cookie: 'sid=1', accept: 'x' }), {
    authorization: 'Bearer [redacted]',
    'proxy-authorization': 'Basic [redacted]',
    cookie: '[redacted]',
    accept: 'x',
  });
  const u = redactUrl('https://user:pw@cdn.example/blob?X-Amz-Signature=s3cr3t&X-Amz-Credential=k&keep=1');
  assert.not.match(u, /s3cr3t|pw@|user/);
  assert.match(u, /keep=1/);
  const e = new RegistryError('MOCKER_X', 'm', { exitCode: 1, exchange: { request: { method: 'GET', url: u, headers: {} } } });
  assert.not.match(JSON.stringify(e.exchange), /s3cr3t/);
});

test.run();
