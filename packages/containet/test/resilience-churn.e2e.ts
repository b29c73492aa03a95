/**
 * Memory flat under churn: containers coming and going (attach
 * with a tap fd, connection closed) must not leak in containet. The first
 * 500 cycles warm the daemon up (JIT, the heap's and malloc's working
 * size). After that its RSS rises and falls by up to ~14 MiB as V8's old
 * space fills with garbage between full collections (the JS heap after a
 * full collection stays at ~6 MiB over 3,000 cycles: node --trace-gc), so
 * one sample against another proves nothing (anonymous memory measured in
 * smaps swings between 22 and 31 MiB and back). Instead: the lowest RSS of
 * the last 1000 cycles is within 8 MiB of the lowest between cycles 500
 * and 1000, and no sample is more than 20 MiB above the one at 500 cycles
 * (a leak of 15 KiB per attach would break both), and the fds come back to
 * the same count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Cleanup, inNetns, makeNetns, testIf, whyNoRoot } from '@containet/common/testing';
import { ports, startDaemon } from './helpers.js';

const CHURN = fileURLToPath(new URL('./fixtures/attach-churn.js', import.meta.url));
const CYCLES = 2000;
const EVERY = 100;

testIf(test, whyNoRoot(), `${CYCLES} attach/detach cycles: containet's RSS flat after warm-up, fds back to where they were, no port left`, async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const ns = await makeNetns(cleanup, 'churn');
    const r = await inNetns(ns, process.execPath, [CHURN, d.socket, String(d.child.pid), String(CYCLES), String(EVERY)], { timeoutMs: 180_000 });
    assert.is(r.code, 0, r.stderr);
    const samples = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cycles: number; rss: number; fds: number });
    assert.is(samples.length, CYCLES / EVERY);
    const lowest = (from: number, to: number) => Math.min(...samples.filter((x) => x.cycles >= from && x.cycles <= to).map((x) => x.rss));
    const [early, late] = [lowest(500, 1000), lowest(1000, CYCLES)];
    const warm = samples.find((x) => x.cycles === 500)!;
    const peak = Math.max(...samples.filter((x) => x.cycles > 500).map((x) => x.rss));
    console.log(`  RSS (KiB) ${samples.map((x) => x.rss).join(', ')}; lowest in cycles 500-1000 ${early}, after ${late}; fds ${[...new Set(samples.map((x) => x.fds))].join(', ')}`);
    assert.ok(late - early < 8 * 1024, `the lowest RSS rose ${late - early} KiB over the last ${CYCLES - 1000} cycles`);
    assert.ok(peak - warm.rss < 20 * 1024, `RSS peaked ${peak - warm.rss} KiB above the sample at 500 cycles`);
    for (const x of samples.filter((y) => y.cycles >= 500)) assert.is(x.fds, warm.fds, `fds after ${x.cycles} cycles`);
    assert.equal(await ports(d.socket), []);
  } finally {
    await cleanup.run();
  }
});

test.run();
