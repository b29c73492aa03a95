/**
 * `containode cleanup`: fabricated leftovers of a machine-wide
 * crash (a record whose init is dead, an empty cgroup, a host mount under a
 * dead container's top directory, a socket file nobody listens on, a
 * host-gateway record whose tap is gone) are removed; the live ones next to
 * them (a record of a running process, a cgroup with a task, a mount of a
 * live container, a listening socket, a gateway whose tap exists) are kept.
 * --dry-run only reports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerStateDir, stateDir } from '@containet/common';
import { Cleanup, run, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { processStartTime, type ContainerRecord } from '@containet/containode';
import { detectCgroupLayout } from '../src/cgroup/index.js';
import { containode, hostMountsUnder, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const layout = detectCgroupLayout();
const pidsHome = layout.controllers.pids?.path ?? layout.unified;
const noCgroup = pidsHome && existsSync(pidsHome) ? null : 'needs a cgroup hierarchy';
const state = mkdtempSync(join(tmpdir(), 'cnode-state-'));
process.env['CONTAINET_STATE'] = state;
test.after(() => rmSync(state, { recursive: true, force: true }));

const recordFile = (id: string) => join(containerStateDir(), id, 'state.json');

function writeRecord(rec: Partial<ContainerRecord> & { id: string }): void {
  mkdirSync(join(containerStateDir(), rec.id), { recursive: true });
  const full: ContainerRecord = { runtime: 'containode', pid: 0, command: ['sleep', '1'], addresses: [], created: new Date().toISOString(), status: 'running', ...rec };
  writeFileSync(recordFile(rec.id), JSON.stringify(full));
}

/** A pid that existed and is gone now. */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}

testIf(test, noRoot ?? noCgroup, 'cleanup removes dead records, empty cgroups, their mounts, stale sockets and dead gateways, and keeps the live ones', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'cnode-clean');
    const deadId = uniqueName('cdead');
    const liveId = uniqueName('clive');
    const ociId = uniqueName('coci');
    const deadTop = join(dir, 'dead-top');
    const liveTop = join(dir, 'live-top');
    mkdirSync(join(deadTop, 'upper'), { recursive: true });
    mkdirSync(join(liveTop, 'upper'), { recursive: true });
    writeRecord({ id: deadId, pid: await deadPid(), top: deadTop });
    // A pid that is alive but not the container's (its start time differs): reused.
    const reusedId = uniqueName('creuse');
    writeRecord({ id: reusedId, pid: process.pid, pidStart: (processStartTime(process.pid) ?? 0) + 1 });
    writeRecord({ id: liveId, pid: process.pid, pidStart: processStartTime(process.pid) ?? undefined, top: liveTop });
    writeRecord({ id: ociId, runtime: 'containode-oci', pid: await deadPid(), status: 'stopped' });

    for (const t of [deadTop, liveTop]) {
      const m = join(t, 'upper');
      const r = await run('mount', ['-t', 'tmpfs', 'cleanup-test', m]);
      assert.is(r.code, 0, r.stderr);
      cleanup.add(`umount ${m}`, async () => void (await run('umount', ['-l', m])));
    }

    const parent = join(pidsHome!, 'containet');
    const emptyCg = join(parent, uniqueName('cgempty'));
    const liveCg = join(parent, liveId);
    const busyCg = join(parent, uniqueName('cgbusy'));
    for (const d of [emptyCg, liveCg, busyCg]) {
      mkdirSync(d, { recursive: true });
      cleanup.add(`rmdir ${d}`, () => existsSync(d) && rmdirSync(d));
    }
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup.add('sleep', async () => {
      if (sleeper.exitCode === null) {
        sleeper.kill('SIGKILL');
        await new Promise((r) => sleeper.once('exit', r));
      }
    });
    writeFileSync(join(busyCg, 'cgroup.procs'), String(sleeper.pid));
    // Left for a minute and more, as after a crash (younger ones may be being set up).
    const past = new Date(Date.now() - 120_000);
    for (const d of [emptyCg, liveCg, busyCg]) utimesSync(d, past, past);
    const freshCg = join(parent, uniqueName('cgfresh'));
    mkdirSync(freshCg);
    cleanup.add(`rmdir ${freshCg}`, () => existsSync(freshCg) && rmdirSync(freshCg));
    cleanup.add('sleeper out of its cgroup', () => {
      if (sleeper.exitCode === null) writeFileSync(join(parent, '..', 'cgroup.procs'), String(sleeper.pid));
    });

    // A socket whose listener was SIGKILLed (its file stays), and a live one.
    const staleSock = join(dir, 'stale.sock');
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(staleSock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => holder.stdout!.once('data', r));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    assert.ok(existsSync(staleSock), 'the killed listener left its socket file');
    const liveSock = join(dir, 'live.sock');
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(liveSock, r));
    cleanup.add('server', () => new Promise<void>((r) => server.close(() => r())));
    const plainFile = join(dir, 'not-a-socket');
    writeFileSync(plainFile, 'keep me');

    mkdirSync(stateDir(), { recursive: true });
    const deadGw = join(stateDir(), 'gateway-0123abcd.json');
    const liveGw = join(stateDir(), 'gateway-4567cdef.json');
    writeFileSync(deadGw, JSON.stringify({ tag: '0123abcd', ifname: uniqueName('cngone'), cidr: '10.70.0.1/24', nat: false, ipForwardWasOff: false }));
    writeFileSync(liveGw, JSON.stringify({ tag: '4567cdef', ifname: 'lo', cidr: '10.71.0.1/24', nat: false, ipForwardWasOff: false }));

    const args = ['cleanup', staleSock, liveSock, plainFile];
    const dry = await containode([...args, '--dry-run', '--json']);
    assert.is(dry.code, 0, dry.stderr);
    const would = JSON.parse(dry.stdout) as Record<string, string[]>;
    assert.equal(would['records']!.sort(), [deadId, reusedId].sort());
    assert.ok(would['cgroups']!.includes(emptyCg), 'the empty cgroup would go');
    assert.equal(would['sockets'], [staleSock]);
    assert.equal(would['mounts'], [join(deadTop, 'upper')]);
    assert.equal(would['gateways']!.map((g) => g.split(' ')[0]), ['0123abcd']);
    assert.ok(existsSync(recordFile(deadId)) && existsSync(emptyCg) && existsSync(staleSock) && existsSync(deadGw), '--dry-run removed nothing');
    assert.is(hostMountsUnder(deadTop).length, 1, '--dry-run unmounted nothing');

    const r = await containode(args);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, `removed record ${deadId}`);
    assert.match(r.stdout, `removed socket ${staleSock}`);
    assert.not.ok(existsSync(recordFile(deadId)), 'the dead record is gone');
    assert.not.ok(existsSync(recordFile(reusedId)), 'the record of a reused pid is gone');
    assert.not.ok(existsSync(emptyCg), 'the empty cgroup is gone');
    assert.not.ok(existsSync(staleSock), 'the stale socket is gone');
    assert.not.ok(existsSync(deadGw), 'the dead gateway record is gone');
    await waitFor(() => hostMountsUnder(deadTop).length === 0, 'the dead container mount to go', 2000);

    assert.ok(existsSync(recordFile(liveId)), 'the live record is kept');
    assert.ok(existsSync(recordFile(ociId)), 'a stopped containode-oci record (awaiting delete) is kept');
    assert.ok(existsSync(liveCg), 'the live container cgroup is kept');
    assert.ok(existsSync(busyCg), 'a cgroup with a task is kept');
    assert.ok(existsSync(freshCg), 'a cgroup younger than --min-age is kept');
    assert.equal(readFileSync(join(busyCg, 'cgroup.procs'), 'utf8').trim(), String(sleeper.pid));
    assert.is(sleeper.exitCode, null, 'its task was not killed');
    assert.ok(existsSync(liveSock), 'the listening socket is kept');
    assert.is(readFileSync(plainFile, 'utf8'), 'keep me', 'a file that is no socket is kept');
    assert.ok(existsSync(liveGw), 'the gateway whose tap exists is kept');
    assert.is(hostMountsUnder(liveTop).length, 1, 'the live container mount is kept');

    const again = await containode([...args, '--json']);
    assert.is(again.code, 0);
    const second = JSON.parse(again.stdout) as Record<string, string[]>;
    assert.equal([second['records'], second['sockets'], second['mounts'], second['gateways']], [[], [], [], []], 'a second run finds nothing more');

    const bad = await containode(['cleanup', '--min-age', 'soon']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, 'soon');
  } finally {
    await cleanup.run();
  }
});

test.run();
