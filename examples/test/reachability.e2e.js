// examples/reachability.mjs N: N containers, every pair pings, and the
// switch's port and MAC tables agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab } from '../lib/lab.mjs';
import { announcedSocket, leftovers, startExample } from './support.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip');

testIf(test, skip, 'five containers: 20/20 pairs, five ports with their MACs learned, nothing left', async () => {
  const lab = new Lab();
  try {
    const run = startExample(lab, 'reachability.mjs', ['5']);
    const end = await run.exited;
    const out = run.output();
    assert.is(end.code, 0, out);
    assert.match(out, /^h3 +ok +ok +- +ok +ok$/m);
    assert.not.match(out, / X( |$)/m);
    assert.match(out, /\*\*\* 20\/20 pairs reachable; switch: 5 ports, 5 with their MAC learned/);
    assert.equal(await leftovers(announcedSocket(out)), []);
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'a bad N is refused with the usage (exit 2) before anything starts', async () => {
  const lab = new Lab();
  try {
    for (const args of [[], ['1'], ['2.5'], ['251'], ['3', '4']]) {
      const run = startExample(lab, 'reachability.mjs', args);
      const end = await run.exited;
      assert.is(end.code, 2, `${args.join(' ')}: ${run.output()}`);
      assert.match(run.output(), /^reachability: .*\nusage: node examples\/reachability\.mjs N/m);
      assert.not.match(run.output(), /Starting/);
    }
  } finally {
    await lab.close();
  }
});

test.run();
