/**
 * Issue 11, memory flat under churn: a thousand containers coming and going
 * (attach with a tap fd, connection closed) must not leak in containet. The
 * first 250 cycles warm the daemon up (JIT, the heap's and malloc's working
 * size); from there to the end its RSS may move by a few MiB of garbage
 * collection noise, not grow with the cycles (a leak of even 10 KiB per
 * attach would add 7 MiB), and its fds must come back to the same count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Cleanup, inNetns, makeNetns, testIf, whyNoRoot } from '@containet/common/testing';
import { ports, startDaemon } from './helpers.js';

const CHURN = fileURLToPath(new URL('./fixtures/attach-churn.js', import.meta.url));
const CYCLES = 1000;
const EVERY = 250;

testIf(test, whyNoRoot(), `${CYCLES} attach/detach cycles: containet's RSS flat after warm-up, fds back to where they were, no port left`, async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const ns = await makeNetns(cleanup, 'churn');
    const r = await inNetns(ns, process.execPath, [CHURN, d.socket, String(d.child.pid), String(CYCLES), String(EVERY)], { timeoutMs: 180_000 });
    assert.is(r.code, 0, r.stderr);
    const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cycles: number; rss: number; fds: number });
    assert.is(samples.length, CYCLES / EVERY);
    const [warm, ...rest] = samples;
    const peak = Math.max(...rest.map((s) => s.rss));
    console.log(`  RSS after ${warm!.cycles} cycles ${warm!.rss} KiB, then ${rest.map((s) => s.rss).join(', ')} KiB; fds ${samples.map((s) => s.fds).join(', ')}`);
    assert.ok(peak - warm!.rss < 6 * 1024, `RSS grew ${peak - warm!.rss} KiB over ${CYCLES - warm!.cycles} cycles after warm-up`);
    for (const s of rest) assert.is(s.fds, warm!.fds, `fds after ${s.cycles} cycles`);
    assert.equal(await ports(d.socket), []);
  } finally {
    await cleanup.run();
  }
});

test.run();
