/**
 * A switch restart does not take containers down: containode
 * keeps its tap fd, and re-attaches on its own once containet is back on the
 * same socket; traffic flows again within two seconds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, sleep, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { CONTAINET, containode, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

async function startSwitch(cleanup: Cleanup, sock: string) {
  const sw = start(process.execPath, [CONTAINET, '-s', sock]);
  cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
  await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
  return sw;
}

testIf(test, noRoot ?? noContainet ?? whyMissing('ping'), 'containers survive a SIGKILLed switch and re-attach to the new one', async () => {
  const cleanup = new Cleanup();
  try {
    const sock = join(tempDir(cleanup), 'sw.sock');
    const first = await startSwitch(cleanup, sock);
    const a = uniqueName('ra');
    const b = uniqueName('rb');
    const ca = startContainode(cleanup, ['-i', a, '-s', sock, '-4', '10.68.0.1/24', 'sleep', '60']);
    const cb = startContainode(cleanup, ['-i', b, '-s', sock, '-4', '10.68.0.2/24', 'sleep', '60']);
    const ping = () => containode(['exec', b, 'ping', '-c', '1', '-W', '1', '10.68.0.1']);
    await waitFor(async () => (await ping()).code === 0, 'the first ping', 10_000);

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    assert.is(ca.child.exitCode, null, 'container a still runs');
    assert.is(cb.child.exitCode, null, 'container b still runs');

    await startSwitch(cleanup, sock);
    const back = Date.now();
    await waitFor(async () => (await ping()).code === 0, 'ping through the new switch', 5000, 100);
    const took = Date.now() - back;
    assert.ok(took < 2500, `traffic flows again ${took} ms after the switch is back`);
    const ports = JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as { node: string }[];
    assert.equal(ports.map((p) => p.node).sort(), [a, b].sort(), 'both re-attached with their identities');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'a node detached --permanent stays detached: containode says so once and stops re-attaching, also after undetach, and the container runs on', async () => {
  const cleanup = new Cleanup();
  try {
    const sock = join(tempDir(cleanup), 'sw.sock');
    const first = await startSwitch(cleanup, sock);
    const a = uniqueName('pd');
    const ca = startContainode(cleanup, ['-i', a, '-s', sock, '-4', '10.69.0.1/24', 'sleep', '60']);
    const nodes = async () => (JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as { node: string }[]).map((p) => p.node);
    await waitFor(async () => (await nodes()).includes(a), 'the attach', 10_000);

    const r = await run(process.execPath, [CONTAINET, 'detach', '--permanent', a, '-s', sock]);
    assert.is(r.code, 0, r.stderr);
    // The switch restarts (the list of permanent detaches is kept): containode re-attaches and is refused.
    await killAndWait(first);
    await startSwitch(cleanup, sock);
    await waitFor(() => /detached permanently/.test(ca.err()), 'containode to say it stops re-attaching', 5000);
    // A re-attacher that kept trying would be refused about ten times a second (and said nothing).
    await sleep(1000);
    assert.is(ca.err().match(/detached permanently/g)?.length, 1, ca.err());
    assert.is(ca.child.exitCode, null, 'the container runs on');
    assert.equal(await nodes(), []);

    // Lifted, the node may attach again; this containode gave up, as the
    // detached supervisor does, and does not come back by itself.
    assert.is((await run(process.execPath, [CONTAINET, 'undetach', a, '-s', sock])).code, 0);
    await sleep(1000);
    assert.equal(await nodes(), [], 'no attach after undetach');
    assert.is((await containode(['exec', a, 'true'])).code, 0, 'the container still answers');
  } finally {
    await cleanup.run();
  }
});

test.run();
