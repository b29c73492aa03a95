/**
 * A damaged image store: a truncated index.json, a blob whose
 * bytes don't match its digest, a missing blob. Each command that meets the
 * damage stops with a clear one-line error naming what is wrong (no stack
 * trace, non-zero exit), and deletes nothing that was fine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '@containet/common/testing';
import { ImageStore, MEDIA } from '@containet/mocker';
import { compress, makeTar, tempDir } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A store holding one image `local/app:v1` of one gzip layer; returns its digests. */
async function makeStore(dir: string) {
  const store = new ImageStore(dir).init();
  const layer = compress(await makeTar([{ name: 'hello.txt', data: 'hello\n' }]), 'gzip');
  const tar = await makeTar([{ name: 'hello.txt', data: 'hello\n' }]);
  const layerDigest = store.putBlob(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const configDigest = store.putBlob(config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length }, layers: [{ mediaType: MEDIA.ociLayerGzip, digest: layerDigest, size: layer.length }] }));
  const manifestDigest = store.putBlob(manifest);
  await store.tag('docker.io/local/app:v1', { mediaType: MEDIA.ociManifest, digest: manifestDigest, size: manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/local/app:v1' } } as never);
  return { store, layerDigest, configDigest, manifestDigest };
}

const scratch: string[] = [];
test.after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});
/** A scratch directory removed after the tests. */
function scratchDir(tag: string): string {
  const d = tempDir(tag);
  scratch.push(d);
  return d;
}

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p.slice(dir.length)} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12)}`);
    }
  };
  walk(dir);
  return out.sort();
}

async function mocker(dir: string, args: string[]) {
  return run(process.execPath, [MOCKER, '--store', dir, ...args], { timeoutMs: 30_000 });
}

function clearError(r: { code: number | null; stderr: string }, names: string, what: string): void {
  assert.ok(r.code !== 0, `${what}: exits non-zero (${r.code})`);
  assert.ok(r.stderr.includes(names), `${what}: the message names ${names}: ${r.stderr.trim()}`);
  assert.not.match(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

test('the fixture store works', async () => {
  const dir = tempDir('mrs');
  try {
    await makeStore(dir);
    const r = await mocker(dir, ['images']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, 'local/app');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated index.json: every command says so, nothing is deleted', async () => {
  const dir = tempDir('mrs');
  try {
    await makeStore(dir);
    const index = join(dir, 'index.json');
    truncateSync(index, Math.floor(readFileSync(index).length / 2));
    const before = snapshot(dir);
    for (const args of [['images'], ['inspect', 'local/app:v1'], ['rm', 'local/app:v1'], ['rootfs', 'local/app:v1']]) {
      clearError(await mocker(dir, args), 'index.json', args.join(' '));
    }
    assert.equal(snapshot(dir), before, 'the store is as it was');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a blob with the wrong bytes: named, the store otherwise kept', async () => {
  const dir = tempDir('mrs');
  try {
    const { store, configDigest, layerDigest } = await makeStore(dir);
    writeFileSync(store.blobPath(configDigest), '{"not": "the config"');
    const before = snapshot(dir);
    clearError(await mocker(dir, ['inspect', 'local/app:v1']), configDigest.slice(7, 19), 'inspect with a damaged config');
    assert.equal(snapshot(dir), before, 'nothing deleted by inspect');
    assert.ok(existsSync(store.blobPath(layerDigest)), 'the good layer stays');

    const { store: s2, layerDigest: l2 } = await makeStore(scratchDir('mrs2'));
    writeFileSync(s2.blobPath(l2), Buffer.from('garbage, not gzip'));
    const out = join(scratchDir('mrsout'), 'root');
    clearError(await mocker(s2.dir, ['unpack', 'local/app:v1', out]), l2.slice(7, 19), 'unpack of a damaged layer');
    rmSync(s2.dir, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing blob: named, nothing else deleted', async () => {
  const dir = tempDir('mrs');
  try {
    const { store, layerDigest, configDigest } = await makeStore(dir);
    unlinkSync(store.blobPath(layerDigest));
    const before = snapshot(dir);
    const out = join(scratchDir('mrsout'), 'root');
    clearError(await mocker(dir, ['unpack', 'local/app:v1', out]), layerDigest.slice(7, 19), 'unpack with a missing layer');
    clearError(await mocker(dir, ['rootfs', 'local/app:v1']), layerDigest.slice(7, 19), 'rootfs with a missing layer');
    assert.equal(snapshot(dir).filter((l) => !l.includes('/rootfs')), before.filter((l) => !l.includes('/rootfs')), 'the rest of the store is as it was');
    assert.ok(existsSync(store.blobPath(configDigest)), 'the config blob stays');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
