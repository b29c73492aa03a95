/**
 * Pulls through a fault-injecting proxy (fault-proxy.ts) in front of a real
 * docker-registry: for each fault, the exit status, the message, what the
 * next pull asks for (the Range requests the proxy saw) and the store
 * afterwards, read by skopeo and umoci.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Cleanup, whyMissing, testIf } from '@containet/common/testing';
import { ImageStore } from '@containet/mocker';
import { startRegistry, pushImage, tempDir, sha, runCommand, type CommandResult, type PushedImage } from './fixtures.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const missing = whyMissing('docker-registry', 'skopeo', 'umoci');

function mocker(store: string, args: string[]): Promise<CommandResult> {
  return runCommand([process.execPath, MOCKER, '--store', store, ...args]);
}

interface Setup {
  proxy: FaultProxy;
  image: PushedImage;
  /** The big layer's digest, and its size. */
  big: string;
  bigSize: number;
  name: string;
  store: string;
  c: Cleanup;
}

async function withProxy(fn: (s: Setup) => Promise<void>): Promise<void> {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    // Random bytes do not compress: the layer is ~2 MB on the wire.
    const image = await pushImage(reg.url, 'faults/app', '1', { layers: [{ entries: [{ name: 'etc/os-release', data: 'ID=faults\n' }] }, { entries: [{ name: 'big', data: randomBytes(2_000_000) }] }] });
    const proxy = await startFaultProxy(reg.url);
    c.add('proxy', () => proxy.close());
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    await fn({ proxy, image, big: image.layerDigests[1]!, bigSize: image.layerBlobs[1]!.length, name: `${proxy.host}/faults/app:1`, store, c });
  } finally {
    await c.run();
  }
}

/** The image is in the store, every blob verifies, and skopeo and umoci read it by the name index.json gives it. */
function assertReadable(store: string, name: string, image: PushedImage): void {
  for (const n of readdirSync(join(store, 'blobs/sha256'))) assert.is(sha(readFileSync(join(store, 'blobs/sha256', n))), `sha256:${n}`);
  const img = new ImageStore(store).find(name);
  assert.is(img.descriptor.digest, image.digest);
  const ref = img.descriptor.annotations!['org.opencontainers.image.ref.name']!;
  const sk = spawnSync('skopeo', ['inspect', `oci:${store}:${ref}`], { encoding: 'utf8' });
  assert.is(sk.status, 0, sk.stderr);
  assert.is(JSON.parse(sk.stdout).Digest, image.digest);
  const um = spawnSync('umoci', ['stat', '--image', `${store}:${ref}`], { encoding: 'utf8' });
  assert.is(um.status, 0, um.stderr);
}

/** Nothing is named, the big layer is not stored (verified blobs of the pull may be). */
function assertNotStored(store: string, image: PushedImage): void {
  assert.equal(new ImageStore(store).images(), []);
  assert.not.ok(new ImageStore(store).hasBlob(image.layerDigests[1]!));
}

const partial = (store: string, digest: string): string => join(store, 'ingest', `sha256-${digest.slice(7)}`);

testIf(test, missing, '500 once on a blob: retried after a backoff, the pull succeeds', async () => {
  await withProxy(async ({ proxy, image, big, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'status', status: 500 }, times: 1 }]);
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /Retrying at 0B\/2\.\d+MB: 127\.0\.0\.1:\d+ answered 500 Internal Server Error; next try in \d\.\d s/);
    assert.equal(proxy.requestsFor(big).map((s) => s.status), [500, 200]);
    assertReadable(store, name, image);
  });
});

testIf(test, missing, '429 with Retry-After (2 s on the manifest, an HTTP date on a blob): waited for, shown, then the pull succeeds', async () => {
  await withProxy(async ({ proxy, image, big, name, store }) => {
    proxy.rules([
      { path: '/manifests/1', fault: { kind: 'status', status: 429, headers: { 'retry-after': '2' } }, times: 1 },
      { path: big, fault: { kind: 'status', status: 429, headers: { 'retry-after': new Date(Date.now() + 5000).toUTCString() } }, times: 1 },
    ]);
    const t0 = Date.now();
    const r = await mocker(store, ['pull', name]);
    const took = Date.now() - t0;
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Waiting 2\.0 s: 127\.0\.0\.1:\d+ answered 429 Too Many Requests \(Retry-After 2 s\)$/m);
    assert.match(r.stdout, /Retrying at 0B\/.*answered 429 Too Many Requests \(Retry-After [2-4] s\); next try in [1-4]\.\d s/, r.stdout);
    assert.ok(took >= 4000, `2 s for the manifest, then until the blob's Retry-After date (${took} ms)`);
    assert.equal(proxy.requestsFor('/manifests/1').map((s) => s.status), [429, 200]);
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'a body cut once: the rest is asked for with Range and the pull succeeds', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'cut', after: 300_000 }, times: 1 }]);
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 0, r.stderr);
    const seen = proxy.requestsFor(big);
    assert.is(seen.length, 2);
    assert.is(seen[0]!.sent, 300_000);
    const from = Number(/^bytes=(\d+)-$/.exec(seen[1]!.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= 300_000, `resumed at ${from}`);
    assert.is(seen[1]!.status, 206);
    assert.is(seen[1]!.sent, bigSize - from, 'only the rest travels');
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'a body cut every time: exit 6 naming the connection and the request; the partial blob is kept and the next pull fetches only the rest', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'cut', after: 100_000 } }]);
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 6, r.stderr);
    const first = r.stderr.split('\n')[0]!;
    assert.is(first, `mocker: network error: connection to ${proxy.host} closed before the end of the response (GET /v2/faults/app/blobs/${big})`);
    assert.not.match(r.stderr, /internal error/);
    assertNotStored(store, image);
    const attempts = proxy.requestsFor(big).length;
    assert.ok(attempts >= 4 && attempts <= 8, `bounded attempts (${attempts})`);
    const kept = statSync(partial(store, big)).size;
    assert.is(kept, 100_000 * attempts, 'every piece that arrived is on disk');

    proxy.rules([]);
    const before = proxy.seen.length;
    const again = await mocker(store, ['pull', name]);
    assert.is(again.status, 0, again.stderr);
    assert.match(again.stdout, /Resuming at /);
    const rerun = proxy.seen.slice(before).filter((s) => s.path.includes(big));
    assert.equal(rerun.map((s) => [s.range, s.status, s.sent]), [[`bytes=${kept}-`, 206, bigSize - kept]]);
    assert.not.ok(existsSync(partial(store, big)));
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'wrong bytes: exit 5, the bad download is not kept, and the next pull starts from byte 0', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'corrupt' }, times: 1 }]);
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 5);
    assert.match(r.stderr, new RegExp(`^mocker: blob of ${proxy.host}/faults/app:1 has digest sha256:[0-9a-f]{64}, not ${big} as its manifest says; refused`));
    assertNotStored(store, image);
    assert.equal(readdirSync(join(store, 'ingest')), [], 'bytes that do not verify are removed');

    const again = await mocker(store, ['pull', name]);
    assert.is(again.status, 0, again.stderr);
    const rerun = proxy.requestsFor(big).slice(1);
    assert.equal(rerun.map((s) => [s.range, s.status, s.sent]), [[undefined, 200, bigSize]]);
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'a partial download whose bytes are wrong (a torn write): the resumed blob fails its digest, and one fresh download replaces it', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    mkdirSync(join(store, 'ingest'), { recursive: true });
    writeFileSync(partial(store, big), Buffer.alloc(100_000));
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /Resuming at 100kB\/2\.\d+MB/);
    assert.match(r.stdout, /did not verify; starting over/);
    assert.equal(proxy.requestsFor(big).map((s) => [s.range, s.status, s.sent]), [['bytes=100000-', 206, bigSize - 100_000], [undefined, 200, bigSize]]);
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'a server that ignores Range (200 to a resume): the download starts over cleanly', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'cut', after: 500_000 }, times: 1 }, { path: big, fault: { kind: 'ignore-range' } }]);
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 0, r.stderr);
    const seen = proxy.requestsFor(big);
    assert.equal(seen.map((s) => [s.range, s.status, s.sent]), [[undefined, 200, 500_000], ['bytes=500000-', 200, bigSize]]);
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'two pulls of the same image at once: one downloads each blob, the other waits for it (told so) and finds it stored', async () => {
  await withProxy(async ({ proxy, image, big, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'slow', bytes: 128 << 10, everyMs: 40 } }]);
    const first = mocker(store, ['pull', name]);
    for (let i = 0; !proxy.requestsFor(big).length; i++) {
      if (i > 500) throw new Error('the first pull did not start');
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await mocker(store, ['pull', name]);
    const one = await first;
    assert.is(one.status, 0, one.stderr);
    assert.is(second.status, 0, second.stderr);
    assert.match(second.stdout, /another mocker is downloading this blob; waiting for it/);
    assert.is(proxy.requestsFor(big).length, 1, 'the big layer travelled once');
    assertReadable(store, name, image);
  });
});

testIf(test, missing, 'kill -9 mid-blob: the lock is taken over, the next pull continues the partial blob with Range and fetches only the rest', async () => {
  await withProxy(async ({ proxy, image, big, bigSize, name, store }) => {
    proxy.rules([{ path: big, fault: { kind: 'slow', bytes: 64 << 10, everyMs: 40 } }]);
    const child = spawn(process.execPath, [MOCKER, '--store', store, 'pull', name], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (_code, signal) => r(signal === 'SIGKILL' ? -9 : _code)));
    for (let i = 0; ; i++) {
      const s = proxy.requestsFor(big)[0];
      if (s && s.sent >= 600_000 && existsSync(partial(store, big)) && statSync(partial(store, big)).size > 0) break;
      if (i > 500) throw new Error('the download did not get under way');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    assert.is(await exited, -9);
    const kept = statSync(partial(store, big)).size;
    assert.ok(kept > 0 && kept < bigSize, `killed mid-blob (${kept} of ${bigSize} bytes on disk)`);
    assert.ok(existsSync(join(store, 'locks', `blob-${big.slice(7)}.lock`)), 'the dead pull\'s lock file is still there');
    assertNotStored(store, image);

    proxy.rules([]);
    const before = proxy.seen.length;
    const r = await mocker(store, ['pull', name]);
    assert.is(r.status, 0, r.stderr);
    const rerun = proxy.seen.slice(before).filter((s) => s.path.includes(big));
    assert.equal(rerun.map((s) => [s.range, s.status, s.sent]), [[`bytes=${kept}-`, 206, bigSize - kept]]);
    assert.not.ok(existsSync(join(store, 'locks', `blob-${big.slice(7)}.lock`)));
    assertReadable(store, name, image);
  });
});

test.run();
