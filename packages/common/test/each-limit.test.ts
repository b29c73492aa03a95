import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eachLimit } from '../src/each-limit.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('at most `limit` calls run at once, every item once, started in order', async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  await eachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    started.push(n);
    most = Math.max(most, ++running);
    await tick(5 + (n % 3) * 3);
    running--;
  });
  assert.is(most, 3);
  assert.equal(started, [1, 2, 3, 4, 5, 6, 7]);
});

test('the first failure stops new calls and rejects only once the running ones have settled', async () => {
  const settled: number[] = [];
  const started: number[] = [];
  const err = await eachLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
    started.push(n);
    if (n === 2) throw new Error('two failed');
    await tick(20);
    settled.push(n);
  }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, 'two failed');
  assert.equal(started, [1, 2], 'nothing new after the failure');
  assert.equal(settled, [1], 'the running call finished before the rejection');
});

test('no items, or a limit below one, still works', async () => {
  await eachLimit([], 4, async () => {
    throw new Error('never called');
  });
  const seen: number[] = [];
  await eachLimit([1, 2], 0, async (n) => void seen.push(n));
  assert.equal(seen, [1, 2]);
});

test.run();
