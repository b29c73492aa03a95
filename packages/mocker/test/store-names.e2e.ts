/**
 * The store's names as other tools read them: each image's
 * org.opencontainers.image.ref.name is its full reference, so two
 * repositories with the same tag are both addressable by skopeo
 * (`oci:STORE:REF`) and umoci (`--image STORE:REF`); stores that held bare
 * tags are renamed on open without losing an image.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, whyMissing, testIf } from '@containet/common/testing';
import { startRegistry, pushImage, tempDir, runCommand } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const missing = whyMissing('docker-registry', 'skopeo', 'umoci');

interface IndexJson {
  manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
}

testIf(test, missing, 'two repositories tagged 1 side by side: skopeo and umoci address each by its full reference; bare tags of an older store are migrated on open', async () => {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const a = await pushImage(reg.url, 'team/a', '1', { layers: [{ entries: [{ name: 'a', data: 'a' }] }] });
    const b = await pushImage(reg.url, 'other/b', '1', { layers: [{ entries: [{ name: 'b', data: 'b' }] }] });
    const refs = { [`${reg.host}/team/a:1`]: a.digest, [`${reg.host}/other/b:1`]: b.digest };
    for (const ref of Object.keys(refs)) {
      const r = await runCommand([process.execPath, MOCKER, '--store', store, 'pull', '-q', ref]);
      assert.is(r.status, 0, r.stderr);
    }
    const index = (): IndexJson => JSON.parse(readFileSync(join(store, 'index.json'), 'utf8')) as IndexJson;
    const readable = (): void => {
      for (const [ref, digest] of Object.entries(refs)) {
        const sk = spawnSync('skopeo', ['inspect', `oci:${store}:${ref}`], { encoding: 'utf8' });
        assert.is(sk.status, 0, sk.stderr);
        assert.is(JSON.parse(sk.stdout).Digest, digest, ref);
        const um = spawnSync('umoci', ['stat', '--json', '--image', `${store}:${ref}`], { encoding: 'utf8' });
        assert.is(um.status, 0, um.stderr);
      }
      const ls = spawnSync('umoci', ['ls', '--layout', store], { encoding: 'utf8' });
      assert.equal(ls.stdout.trim().split('\n').sort(), Object.keys(refs).sort());
    };
    assert.equal(index().manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(), Object.keys(refs).sort());
    readable();

    // A store as earlier mockers wrote it: ref.name held the bare tag, which umoci calls ambiguous.
    const old = index();
    for (const m of old.manifests) m.annotations!['org.opencontainers.image.ref.name'] = '1';
    writeFileSync(join(store, 'index.json'), JSON.stringify(old));
    const amb = spawnSync('umoci', ['stat', '--image', `${store}:1`], { encoding: 'utf8' });
    assert.is.not(amb.status, 0, 'the old names are ambiguous');
    const images = await runCommand([process.execPath, MOCKER, '--store', store, 'images']);
    assert.is(images.status, 0, images.stderr);
    assert.match(images.stdout, new RegExp(`^${reg.host}/team/a\\s+1\\s`, 'm'));
    assert.match(images.stdout, new RegExp(`^${reg.host}/other/b\\s+1\\s`, 'm'));
    const json = JSON.parse((await runCommand([process.execPath, MOCKER, '--store', store, 'images', '--json'])).stdout) as Array<{ name: string; repository: string; tag: string }>;
    assert.equal(json.map((r) => r.name).sort(), Object.keys(refs).sort(), 'what images lists is what skopeo and umoci take');
    assert.equal(json.map((r) => `${r.repository}:${r.tag}`).sort(), Object.keys(refs).sort());
    const migrated = index();
    assert.equal(migrated.manifests.map((m) => m.digest), old.manifests.map((m) => m.digest), 'no image lost, order kept');
    assert.equal(migrated.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']), migrated.manifests.map((m) => m.annotations?.['io.containerd.image.name']));
    readable();
  } finally {
    await c.run();
  }
});

test.run();
