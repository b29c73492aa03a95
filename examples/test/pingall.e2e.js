// The main demo, `pnpm demo` (examples/pingall.mjs): a lab from
// examples/labs/demo.clab.yml, the Mininet-style summary of a real all-pairs
// ping, and the lab destroyed after success, on Ctrl-C and when deploy fails.
// Each test runs a copy of the topology under a name of its own, so that it
// never meets a demo someone is running.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab, REPO, runProgram, suiteCommand, waitUntil } from '../lib/lab.mjs';
import { printed, processesWith, startExample } from './support.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip', 'nsenter');
let counter = 0;

/** The demo's topology renamed (and changed by `edit`), in a directory of its own. */
function demoCopy(edit = (t) => t) {
  const name = `demo${process.pid.toString(36)}${++counter}`;
  const dir = mkdtempSync(join(tmpdir(), 'cn-demo-'));
  const text = readFileSync(join(REPO, 'examples/labs/demo.clab.yml'), 'utf8').replace(/^name: demo$/m, `name: ${name}`);
  const file = join(dir, `${name}.clab.yml`);
  writeFileSync(file, edit(text));
  return { name, dir, file };
}

/** What a run of lab NAME left: its containers' and switches' processes, its lab directory, a deployed record. */
async function leftovers({ name, dir, file }) {
  const [f, args] = suiteCommand('containet', ['lab', 'inspect', '-t', file]);
  const left = [];
  await waitUntil(async () => {
    left.length = 0;
    left.push(...processesWith(`clab-${name}-`).map((p) => `pid ${p}`), ...processesWith(`/labs/${name}/`).map((p) => `switch pid ${p}`));
    if (existsSync(join(dir, `clab-${name}`))) left.push(`clab-${name}/`);
    const r = await runProgram(f, args);
    if (r.code === 0) left.push(`lab ${name} still deployed`);
    return left.length === 0;
  }, 'the lab to be gone', 5000).catch(() => {});
  return left;
}

testIf(test, skip, 'three hosts reach each other: the pingall summary, exit 0, nothing left', async () => {
  const lab = new Lab();
  const copy = demoCopy();
  try {
    const demo = startExample(lab, 'pingall.mjs', ['-t', copy.file]);
    const end = await demo.exited;
    const out = demo.output();
    assert.is(end.code, 0, out);
    assert.match(out, /^h1 -> h2 h3$/m);
    assert.match(out, /^h2 -> h1 h3$/m);
    assert.match(out, /^h3 -> h1 h2$/m);
    assert.match(out, /^\*\*\* Results: 0% dropped \(6\/6 received\)$/m);
    // The lab as inspect shows it: three hosts, each with its port on the bridge.
    assert.match(out, new RegExp(`^h1 +clab-${copy.name}-h1 +linux +\\(host files\\) +running .*eth1@bridge-1:\\d+$`, 'm'));
    assert.match(out, /^\*\*\* Destroying the lab$/m);
    assert.equal(await leftovers(copy), []);
  } finally {
    await lab.close();
    rmSync(copy.dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'Ctrl-C while the lab deploys: exit 130, nothing left', async () => {
  const lab = new Lab();
  const copy = demoCopy();
  try {
    const demo = startExample(lab, 'pingall.mjs', ['-t', copy.file]);
    await printed(demo, /Deploying/);
    await waitUntil(() => processesWith(`clab-${copy.name}-`).length > 0, 'the first node to start', 60_000);
    process.kill(demo.pid, 'SIGINT');
    const end = await demo.exited;
    assert.is(end.code, 130, demo.output());
    assert.match(demo.output(), /SIGINT: tearing down/);
    assert.equal(await leftovers(copy), []);
  } finally {
    await lab.close();
    rmSync(copy.dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'a deploy that fails (a host whose exec fails) fails the demo (exit 1), nothing left', async () => {
  const lab = new Lab();
  const copy = demoCopy((t) => t.replace('exec: ["ip addr add 10.0.0.2/24 dev eth1"]', 'exec: ["ip addr add 10.0.0.2/24 dev eth9"]'));
  try {
    const demo = startExample(lab, 'pingall.mjs', ['-t', copy.file]);
    const end = await demo.exited;
    const out = demo.output();
    assert.is(end.code, 1, out);
    assert.match(out, /deploy failed while running the nodes' exec commands: node h2: exec "ip addr add 10\.0\.0\.2\/24 dev eth9" failed/);
    assert.match(out, /everything it made was removed/);
    assert.not.match(out, /Results/);
    assert.equal(await leftovers(copy), []);
  } finally {
    await lab.close();
    rmSync(copy.dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'bad options: exit 2 with the usage, nothing started', async () => {
  const lab = new Lab();
  try {
    for (const args of [['--frobnicate'], ['-t']]) {
      const demo = startExample(lab, 'pingall.mjs', args);
      const end = await demo.exited;
      assert.is(end.code, 2, `${args.join(' ')}: ${demo.output()}`);
      assert.match(demo.output(), /^demo: /m);
      assert.match(demo.output(), /usage: node examples\/pingall\.mjs/);
      assert.not.match(demo.output(), /Deploying/);
    }
  } finally {
    await lab.close();
  }
});

test.run();
