// The main demo, `pnpm demo` (examples/pingall.mjs): the Mininet-style
// summary of a real all-pairs ping, and teardown after success, on Ctrl-C and
// when a step fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab } from '../lib/lab.mjs';
import { announcedSocket, leftovers, printed, processesWith, startExample } from './support.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip');

testIf(test, skip, 'three containers reach each other: the pingall summary, exit 0, nothing left', async () => {
  const lab = new Lab();
  try {
    const demo = startExample(lab, 'pingall.mjs');
    const end = await demo.exited;
    const out = demo.output();
    assert.is(end.code, 0, out);
    assert.match(out, /^h1 -> h2 h3$/m);
    assert.match(out, /^h2 -> h1 h3$/m);
    assert.match(out, /^h3 -> h1 h2$/m);
    assert.match(out, /^\*\*\* Results: 0% dropped \(6\/6 received\)$/m);
    // The switch's port table printed by the demo: three containers with traffic.
    assert.match(out, /10\.0\.0\.1\/24/);
    assert.match(out, /10\.0\.0\.3\/24/);
    const socket = announcedSocket(out);
    assert.ok(socket, out);
    assert.equal(await leftovers(socket), []);
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'Ctrl-C while the containers start: exit 130, switch and containers gone', async () => {
  const lab = new Lab();
  try {
    const demo = startExample(lab, 'pingall.mjs');
    await printed(demo, /Starting 3 containers/);
    const socket = announcedSocket(demo.output());
    process.kill(demo.pid, 'SIGINT');
    const end = await demo.exited;
    assert.is(end.code, 130, demo.output());
    assert.match(demo.output(), /SIGINT: tearing down/);
    assert.equal(await leftovers(socket), []);
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'a container dying mid-run fails the demo (exit 1) and the rest is torn down', async () => {
  const lab = new Lab();
  try {
    const demo = startExample(lab, 'pingall.mjs');
    await printed(demo, /Starting 3 containers/);
    const socket = announcedSocket(demo.output());
    // h2's containode, a child of the demo we started; SIGKILL, as a crash.
    const [h2] = processesWith(`-i h2-`).filter((pid) => processesWith(socket).includes(pid));
    assert.ok(h2, 'found h2');
    process.kill(h2, 'SIGKILL');
    const end = await demo.exited;
    const out = demo.output();
    assert.is(end.code, 1, out);
    // Either h2 never answered its shell (a clear error) or pings to it failed (X).
    assert.ok(/^demo: containode h2-/m.test(out) || /^h1 -> X h3$/m.test(out), out);
    assert.match(out, /Stopping 3 containers and the switch/);
    assert.equal(await leftovers(socket), []);
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'bad options: exit 2 with the usage, nothing started', async () => {
  const lab = new Lab();
  try {
    for (const args of [['--hosts', '1'], ['--hosts', 'many'], ['--subnet', '10.0.300'], ['--frobnicate']]) {
      const demo = startExample(lab, 'pingall.mjs', args);
      const end = await demo.exited;
      assert.is(end.code, 2, `${args.join(' ')}: ${demo.output()}`);
      assert.match(demo.output(), /^demo: /m);
      assert.match(demo.output(), /usage: node examples\/pingall\.mjs/);
      assert.not.match(demo.output(), /Starting/);
    }
  } finally {
    await lab.close();
  }
});

test.run();
