/**
 * Container death: containode SIGKILLed while its container runs
 * on a switch, from a root filesystem with --rm, with a cgroup limit. Its spawner sees
 * the control socket hit end of file and takes the container down; within a
 * couple of seconds nothing of it may remain on the host, and the switch
 * drops its port within a second.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containodeStore } from '@containet/containode';

const readRecord = (id: string) => containodeStore().read(id);
import { detectCgroupLayout } from '../src/cgroup/index.js';
import { busyboxRoot, CONTAINET, hostMountsUnder, recordIds, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';
const layout = detectCgroupLayout();
const noMemory = layout.controllers.memory ? null : 'needs a memory cgroup controller';
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

/** Every cgroup directory named `id` under containet/ in every hierarchy of this machine. */
function cgroupDirs(id: string): string[] {
  const homes = new Set<string>();
  for (const home of Object.values(layout.controllers)) if (home) homes.add(home.path);
  if (layout.unified) homes.add(layout.unified);
  return [...homes].map((h) => join(h, 'containet', id)).filter((d) => existsSync(d));
}

async function ports(sock: string): Promise<string[]> {
  const r = await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json']);
  if (r.code !== 0) throw new Error(`containet ports: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { node: string }[]).map((p) => p.node);
}

function links(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

const pidAlive = (pid: number) => existsSync(`/proc/${pid}`);

testIf(test, noRoot ?? noContainet ?? noMemory ?? whyMissing('busybox'), 'containode SIGKILLed: no mount, cgroup, netns, tap or record left; the switch drops the port within a second', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const sock = join(dir, 'sw.sock');
    const sw = start(process.execPath, [CONTAINET, '-s', sock]);
    cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
    await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
    const root = await busyboxRoot(cleanup);
    const top = join(dir, 'top');
    const linksBefore = links();

    // --rm: TOP (what the container wrote) goes too. The container plants
    // a symlink to a host directory in it, which the removal must not follow.
    const sentinel = join(dir, 'sentinel');
    mkdirSync(sentinel);
    writeFileSync(join(sentinel, 'keep'), 'host file');
    const id = uniqueName('die');
    const script = `mkdir -p /a/b && echo x > /a/b/f && ln -s ${sentinel} /a/escape && touch /ready && exec sleep 60`;
    const c = startContainode(cleanup, ['-i', id, '-s', sock, '-4', '10.69.0.1/24', '-r', root, '-t', top, '--rm', '--memory', '64m', 'sh', '-c', script]);
    await waitFor(() => readRecord(id)?.status === 'running', 'the container to run', 10_000);
    await waitFor(() => existsSync(join(top, 'upper/ready')), 'the container to write its files', 5000);
    await waitFor(async () => (await ports(sock)).includes(id), 'its port on the switch', 5000);
    const rec = readRecord(id)!;
    const init = rec.pid;
    const netns = readlinkSync(`/proc/${init}/ns/net`);
    assert.ok(cgroupDirs(id).length > 0, 'the container has its cgroup while it runs');
    assert.ok(hostMountsUnder(top).length === 0, 'its overlay is not visible on the host even while it runs');

    c.child.kill('SIGKILL');
    await c.exit;
    const killed = Date.now();

    await waitFor(async () => !(await ports(sock)).includes(id), 'the switch to drop the port', 3000, 20);
    const dropped = Date.now() - killed;
    assert.ok(dropped <= 1000, `the switch dropped the port ${dropped} ms after the kill`);

    await waitFor(() => !pidAlive(init), 'the container init to be gone', 2000, 20);
    await waitFor(() => cgroupDirs(id).length === 0 && !recordIds().includes(id), 'cgroup and record to be gone', 2000, 20);
    const gone = Date.now() - killed;
    assert.equal(cgroupDirs(id), [], 'no cgroup directory left');
    assert.not.ok(recordIds().includes(id), 'no state record left');
    await waitFor(() => !existsSync(top), 'the --rm top directory to be removed', 2000, 20);
    assert.is(readFileSync(join(sentinel, 'keep'), 'utf8'), 'host file', 'the symlink planted in TOP was not followed');
    assert.equal(hostMountsUnder(top), [], 'no mount left on the host');
    assert.equal(hostMountsUnder(root), [], 'no mount of the root left on the host');
    // Nobody holds the container's network namespace any more: no process
    // of ours is in it (the kernel frees a netns with its last reference).
    const holders = (await run('sh', ['-c', `for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "${netns}" ] && echo $p; done; true`])).stdout.trim();
    assert.is(holders, '', `no process in the container's netns ${netns}`);
    // No named netns (a bind mount under /run/netns) pins it either; other
    // tests may add and remove their own meanwhile, so only ours is looked for.
    const inode = netns.replace(/^net:\[(\d+)\]$/, '$1');
    const pinned = (await run('sh', ['-c', `for f in /run/netns/*; do [ "$(stat -L -c %i "$f" 2>/dev/null)" = "${inode}" ] && echo "$f"; done; true`])).stdout.trim();
    assert.is(pinned, '', 'no named netns left for the container\'s network namespace');
    await waitFor(() => links().join() === linksBefore.join(), 'no new link on the host', 2000, 20).catch(() => undefined);
    assert.equal(links(), linksBefore, 'no tap or other device left on the host');
    assert.ok(sw.exitCode === null, 'the switch still runs');
    console.log(`  port dropped after ${dropped} ms, everything gone after ${gone} ms`);
  } finally {
    await cleanup.run();
  }
});

test.run();
