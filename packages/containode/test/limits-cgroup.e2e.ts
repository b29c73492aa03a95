/**
 * The cgroup module on this machine's real cgroup filesystems: a container
 * cgroup is created with its limits in every hierarchy, and removal kills
 * what is left in it (cgroup.kill in v2, SIGKILL per pid in v1) before
 * rmdir. The v2 path also runs where v2 only tracks (hybrid: the unified
 * hierarchy, taken as the root of a pure-v2 layout).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import { ContainerCgroup, detectCgroupLayout, type CgroupLayout } from '../src/cgroup/index.js';

const noRoot = whyNoRoot();
const layout = detectCgroupLayout();
const whyNoV1 = noRoot ?? (layout.controllers.pids?.version === 1 ? null : 'needs a v1 pids hierarchy');
const unified = layout.unified;
const whyNoV2 = noRoot ?? (unified && existsSync(join(unified, 'cgroup.procs')) ? null : 'needs a cgroup2 hierarchy');

/** A sleeping child of ours; resolves with the signal that ended it. */
function sleeper(cleanup: Cleanup) {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const ended = new Promise<string | null>((r) => child.once('exit', (_code, sig) => r(sig)));
  cleanup.add(`sleep ${child.pid}`, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await ended;
    }
  });
  return { pid: child.pid!, ended };
}

async function leftoverIsKilled(layout: CgroupLayout, limits: { pidsLimit?: number }) {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('cgrm');
    const cg = await ContainerCgroup.create(id, limits, layout);
    cleanup.add('cgroup', () => cg.remove());
    assert.ok(cg.plan.dirs.length > 0);
    for (const d of cg.plan.dirs) assert.ok(existsSync(join(d, 'cgroup.procs')), d);
    if (limits.pidsLimit) {
      assert.is(readFileSync(join(layout.controllers.pids!.path, 'containet', id, 'pids.max'), 'utf8').trim(), String(limits.pidsLimit));
    }
    const s = sleeper(cleanup);
    for (const f of cg.procsFiles) writeFileSync(f, String(s.pid));
    assert.equal(cg.pids(), [s.pid]);
    await cg.remove();
    assert.is(await s.ended, 'SIGKILL', 'the leftover task was killed');
    for (const d of cg.plan.dirs) assert.not.ok(existsSync(d), `${d} removed`);
    await cg.remove(); // twice is fine
  } finally {
    await cleanup.run();
  }
}

testIf(test, whyNoV1, 'v1: limits written, a leftover task killed by pid, every directory removed', async () => {
  // Without the v2 hierarchy, whose cgroup.kill would do it first.
  await leftoverIsKilled({ ...layout, kind: 'v1', unified: undefined, v2Controllers: new Set() }, { pidsLimit: 42 });
});

testIf(test, whyNoV1, 'this machine\'s whole layout: the task is in every hierarchy and killed on removal', () => leftoverIsKilled(layout, { pidsLimit: 7 }));

testIf(test, whyNoV2, 'v2: a leftover task killed through cgroup.kill, the directory removed', async () => {
  // The cgroup2 mount seen as a pure-v2 root (on hybrid machines it holds no
  // memory/cpu/pids controller, so no limits here).
  const v2 = detectCgroupLayout(unified!, '');
  assert.is(v2.kind, 'v2');
  await leftoverIsKilled(v2, {});
});

test.run();
