/**
 * save, load and push round trips, checked by skopeo: oci-archive and
 * docker-archive files written by mocker are read by skopeo and the reverse,
 * images pushed by mocker are read back from docker-registry, and bad
 * archives leave the store as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, whyMissing, testIf } from '@containet/common/testing';
import { startRegistry, startFront, pushImage, tempDir, snapshot, runCommand, type CommandResult, type Registry, type PushedImage } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const missing = whyMissing('docker-registry', 'skopeo');

function mocker(store: string, args: string[]): Promise<CommandResult> {
  return runCommand([process.execPath, MOCKER, '--store', store, ...args]);
}

function skopeo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('skopeo', args, { encoding: 'utf8' });
}

interface Env {
  reg: Registry;
  image: PushedImage;
  name: string;
  store: string;
  work: string;
  c: Cleanup;
  /** The image unpacked by mocker from `store`, to compare trees with. */
  tree: Record<string, string>;
}

async function withImage(fn: (e: Env) => Promise<void>): Promise<void> {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    const work = tempDir('archive');
    c.add('work', () => rmSync(work, { recursive: true, force: true }));
    const image = await pushImage(reg.url, 'src/app', '1', {
      layers: [
        { entries: [{ name: 'bin/', type: 'directory' }, { name: 'bin/hello', data: '#!/bin/sh\necho hi\n', mode: 0o755 }, { name: 'etc/os-release', data: 'ID=archive\n' }] },
        { entries: [{ name: 'data/blob', data: Buffer.alloc(300_000, 7) }, { name: 'etc/.wh.os-release' }], compression: 'zstd' },
      ],
      config: { Cmd: ['/bin/hello'] },
    });
    const store = join(work, 'store');
    const name = `${reg.host}/src/app:1`;
    const p = await mocker(store, ['pull', '-q', name]);
    assert.is(p.status, 0, p.stderr);
    const out = join(work, 'tree');
    assert.is((await mocker(store, ['unpack', name, out])).status, 0);
    await fn({ reg, image, name, store, work, c, tree: snapshot(out) });
  } finally {
    await c.run();
  }
}

async function unpacked(store: string, name: string, dir: string): Promise<Record<string, string>> {
  const u = await mocker(store, ['unpack', name, dir]);
  assert.is(u.status, 0, u.stderr);
  return snapshot(dir);
}

testIf(test, missing, 'oci-archive: mocker save is read by skopeo with every digest kept; mocker load takes it back, and takes skopeo\'s', async () => {
  await withImage(async ({ image, name, store, work, tree }) => {
    const file = join(work, 'app.oci.tar');
    const s = await mocker(store, ['save', name, '-o', file]);
    assert.is(s.status, 0, s.stderr);
    const ins = skopeo(['inspect', `oci-archive:${file}`]);
    assert.is(ins.status, 0, ins.stderr);
    assert.is(JSON.parse(ins.stdout).Digest, image.digest, 'the manifest travels byte for byte');

    const fresh = join(work, 'fresh');
    const l = await mocker(fresh, ['load', '-i', file]);
    assert.is(l.status, 0, l.stderr);
    assert.is(l.stdout.trim(), `Loaded image: ${name} (${image.digest})`);
    assert.equal(await unpacked(fresh, name, join(work, 'fresh-tree')), tree);

    // skopeo's own oci-archive: its ref.name is a bare tag, so the image needs a name.
    const theirs = join(work, 'skopeo.oci.tar');
    const cp = skopeo(['copy', '-q', `oci:${store}:${name}`, `oci-archive:${theirs}:v1`]);
    assert.is(cp.status, 0, cp.stderr);
    const other = join(work, 'other');
    const unnamed = await mocker(other, ['load', '-i', theirs]);
    assert.is(unnamed.status, 2);
    assert.match(unnamed.stderr, /^mocker: .*skopeo\.oci\.tar: an image in it has no name \(only the tag "v1"\)\nmocker: hint: name it: mocker load -i FILE --name /);
    const named = await mocker(other, ['load', '-i', theirs, '--name', 'example.org/copied/app:v1']);
    assert.is(named.status, 0, named.stderr);
    assert.equal(await unpacked(other, 'example.org/copied/app:v1', join(work, 'other-tree')), tree);
  });
});

testIf(test, missing, 'docker-archive: mocker save is read by skopeo (uncompressed layers matching the diff_ids); skopeo\'s docker-archive loads into mocker', async () => {
  await withImage(async ({ reg, image, name, store, work, tree }) => {
    const file = join(work, 'app.docker.tar');
    const s = await mocker(store, ['save', '--format', 'docker-archive', name, '-o', file]);
    assert.is(s.status, 0, s.stderr);
    const ins = skopeo(['inspect', `docker-archive:${file}`]);
    assert.is(ins.status, 0, ins.stderr);
    const manifest = JSON.parse(spawnSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }).stdout) as Array<{ RepoTags: string[] }>;
    assert.equal(manifest[0]!.RepoTags, [`${reg.host}/src/app:1`]);
    const oci = join(work, 'via-skopeo');
    const cp = skopeo(['copy', '-q', `docker-archive:${file}`, `oci:${oci}:x`]);
    assert.is(cp.status, 0, cp.stderr);

    const fresh = join(work, 'fresh');
    const l = await mocker(fresh, ['load', '-i', file]);
    assert.is(l.status, 0, l.stderr);
    assert.match(l.stdout, `Loaded image: ${name} (sha256:`);
    assert.equal(await unpacked(fresh, name, join(work, 'fresh-tree')), tree);

    // An image pulled by digest has no tag: its docker-archive has no RepoTags, so it needs --name.
    const byDigest = `${reg.host}/src/app@${image.digest}`;
    assert.is((await mocker(store, ['pull', '-q', byDigest])).status, 0);
    const untagged = join(work, 'untagged.docker.tar');
    assert.is((await mocker(store, ['save', '--format', 'docker-archive', byDigest, '-o', untagged])).status, 0);
    const anon = join(work, 'anon');
    const u1 = await mocker(anon, ['load', '-i', untagged]);
    assert.is(u1.status, 2);
    assert.match(u1.stderr, /^mocker: .*untagged\.docker\.tar: image 1 has no RepoTags\nmocker: hint: name it: /);
    const u2 = await mocker(anon, ['load', '-i', untagged, '--name', 'example.org/named/app:3']);
    assert.is(u2.status, 0, u2.stderr);
    assert.equal(await unpacked(anon, 'example.org/named/app:3', join(work, 'anon-tree')), tree);

    // skopeo's docker-archive (of a gzip image: skopeo will not put zstd layers in one).
    await pushImage(reg.url, 'src/gz', '1', { layers: [{ entries: [{ name: 'etc/os-release', data: 'ID=gz\n' }] }, { entries: [{ name: 'data/blob', data: Buffer.alloc(300_000, 7) }] }] });
    assert.is((await mocker(store, ['pull', '-q', `${reg.host}/src/gz:1`])).status, 0);
    const gzTree = await unpacked(store, `${reg.host}/src/gz:1`, join(work, 'gz-tree'));
    const theirs = join(work, 'skopeo.docker.tar');
    const cp2 = skopeo(['copy', '-q', `oci:${store}:${reg.host}/src/gz:1`, `docker-archive:${theirs}:example.org/team/app:7`]);
    assert.is(cp2.status, 0, cp2.stderr);
    const other = join(work, 'other');
    const l2 = await mocker(other, ['load', '-i', theirs]);
    assert.is(l2.status, 0, l2.stderr);
    assert.match(l2.stdout, 'Loaded image: example.org/team/app:7 (sha256:');
    assert.equal(await unpacked(other, 'example.org/team/app:7', join(work, 'other-tree')), gzTree);
  });
});

testIf(test, missing, 'push: blobs uploaded, manifest PUT by tag, read back by skopeo with the same digest; a second push uploads nothing', async () => {
  await withImage(async ({ reg, image, name, store }) => {
    const target = `${reg.host}/mirror/app:2`;
    const r = await mocker(store, ['push', name, target]);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.match(/Pushed /g)?.length, 3, 'config and two layers');
    assert.match(r.stdout, `${target}: digest: ${image.digest} size: ${image.size}`);
    const ins = skopeo(['inspect', '--tls-verify=false', `docker://${target}`]);
    assert.is(ins.status, 0, ins.stderr);
    assert.is(JSON.parse(ins.stdout).Digest, image.digest);
    const again = await mocker(store, ['push', name, target]);
    assert.is(again.status, 0, again.stderr);
    assert.is(again.stdout.match(/Layer already exists/g)?.length, 3);
    // And pulled back by another store.
    const other = `${store}-2`;
    const p = await mocker(other, ['pull', '-q', target]);
    rmSync(other, { recursive: true, force: true });
    assert.is(p.status, 0, p.stderr);
    const bad = await mocker(store, ['push', name, `${reg.host}/mirror/app@sha256:${'0'.repeat(64)}`]);
    assert.is(bad.status, 2);
    assert.match(bad.stderr, /^mocker: .* names digest sha256:0+, but .* is sha256:/);
  });
});

testIf(test, missing, 'push with the credentials pull uses: a bearer token from the realm of the 401 challenge, for the pull,push scope', async () => {
  await withImage(async ({ reg, image, name, store, work, c }) => {
    const front = await startFront(reg.url, { bearer: { user: 'alice', password: 's3cret' } });
    c.add('front', () => front.close());
    const target = `127.0.0.1:${front.port}/private/app:1`;
    const anon = await runCommand([process.execPath, MOCKER, '--store', store, 'push', name, target], { DOCKER_CONFIG: join(work, 'none') });
    assert.is(anon.status, 4, anon.stderr);
    assert.match(anon.stderr, /^mocker: unauthorized: /);
    const config = join(work, 'docker-config');
    spawnSync('mkdir', ['-p', config]);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [`127.0.0.1:${front.port}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const r = await runCommand([process.execPath, MOCKER, '--store', store, 'push', name, target], { DOCKER_CONFIG: config });
    assert.is(r.status, 0, r.stderr);
    assert.ok(front.tokensIssued >= 1);
    assert.ok(front.seen.some((s) => s.method === 'PUT' && s.path === '/v2/private/app/manifests/1' && s.authorization?.startsWith('Bearer ')), 'the manifest PUT carried the token');
    const ins = skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/private/app:1`]);
    assert.is(ins.status, 0, ins.stderr);
    assert.is(JSON.parse(ins.stdout).Digest, image.digest);
  });
});

testIf(test, missing, 'bad archives: one line, exit 5 or 2, the store as it was and nothing left in ingest/', async () => {
  await withImage(async ({ image, name, store, work }) => {
    const before = snapshot(store);
    const notTar = join(work, 'not.tar');
    writeFileSync(notTar, 'hello, this is not a tar file at all'.repeat(100));
    const r1 = await mocker(store, ['load', '-i', notTar]);
    assert.is(r1.status, 5);
    assert.is(r1.stderr.split('\n').length, 3, r1.stderr);
    assert.match(r1.stderr, /^mocker: .*not\.tar: /);

    // An oci-archive whose layer bytes were changed.
    const good = join(work, 'good.tar');
    assert.is((await mocker(store, ['save', name, '-o', good])).status, 0);
    const dir = join(work, 'unpacked-archive');
    spawnSync('mkdir', [dir]);
    assert.is(spawnSync('tar', ['-xf', good, '-C', dir]).status, 0);
    const layer = join(dir, 'blobs/sha256', image.layerDigests[1]!.slice(7));
    const bytes = readFileSync(layer);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    writeFileSync(layer, bytes);
    const corrupt = join(work, 'corrupt.tar');
    assert.is(spawnSync('tar', ['-cf', corrupt, '-C', dir, '.']).status, 0);
    const r2 = await mocker(store, ['load', '-i', corrupt]);
    assert.is(r2.status, 5);
    assert.match(r2.stderr, new RegExp(`^mocker: .*corrupt\\.tar: blob ${image.layerDigests[1]} has digest sha256:[0-9a-f]{64} and \\d+ bytes, not \\d+; refused`));

    const r3 = await mocker(store, ['load', '-i', join(work, 'nosuch.tar')]);
    assert.is(r3.status, 2);
    const r4 = await mocker(store, ['save', name, '-o', join(work, 'x.tar'), '--format', 'zip']);
    assert.is(r4.status, 2);
    assert.match(r4.stderr, /unknown archive format "zip"\nmocker: hint: use one of: oci-archive, docker-archive/);
    assert.equal(readdirSync(join(store, 'ingest')), []);
    assert.equal(snapshot(store), before, 'the store is as it was');
  });
});

test.run();
