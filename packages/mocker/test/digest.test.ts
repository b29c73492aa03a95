import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hashesOffMainThread, sha256, sha256OnMainThread } from '../src/registry/digest.js';

const addonBuilt = hashesOffMainThread();
// Where native/Makefile finds Node's headers (the nodejs package's include/node).
const nodeHeaders = join(dirname(dirname(process.execPath)), 'include/node/node_api.h');

test("digest.node is built and loads wherever Node's headers are installed (native/build, made by `make -C native`)", () => {
  if (!existsSync(nodeHeaders)) return console.log(`  (skipped: no ${nodeHeaders}; mocker hashes on its main thread)`);
  assert.ok(addonBuilt, 'native/build/digest.node: without it mocker hashes downloads on its main thread');
});

test('a download hashed in batches on the pool has node:crypto\'s digest, whatever the batches (empty ones, empty pieces, one byte, megabytes)', async () => {
  const blob = randomBytes(5 << 20);
  const cuts = [0, 0, 1, 2, 64, 4096, 65_537, 1 << 20, (1 << 20) + 3, 3 << 20, blob.length - 1, blob.length];
  const pieces = cuts.slice(1).map((end, i) => blob.subarray(cuts[i], end));
  for (const batchSize of [1, 3, 64]) {
    const pool = sha256();
    const main = sha256OnMainThread();
    for (let i = 0; i < pieces.length; i += batchSize) {
      const batch = pieces.slice(i, i + batchSize);
      await pool.update(batch);
      await main.update(batch);
    }
    await pool.update([]);
    const want = createHash('sha256').update(blob).digest('hex');
    assert.is(pool.hex(), want, `batches of ${batchSize}`);
    assert.is(main.hex(), want);
  }
  const empty = sha256();
  assert.is(empty.hex(), createHash('sha256').digest('hex'), 'no bytes at all');
});

test('the addon refuses misuse with an error instead of hashing wrong: a second update while one runs, a digest taken twice, something not a Buffer', async () => {
  if (!addonBuilt) return;
  const h = sha256();
  const first = h.update([randomBytes(1 << 20)]);
  assert.throws(() => h.update([Buffer.from('x')]), /another runs/);
  assert.throws(() => h.hex(), /while an update runs/);
  await first;
  h.hex();
  assert.throws(() => h.hex(), /already digested/);
  assert.throws(() => sha256().update(['text' as unknown as Buffer]), /must be a Buffer/);
});

test.run();
