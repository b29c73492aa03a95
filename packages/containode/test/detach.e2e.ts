/**
 * Detached containers from the command line: run -d leaves no Node
 * process, only containode-spawn's supervisor (a C process, the init's
 * grandparent); logs (stdout/stderr, --tail, --timestamps, -f), wait with
 * the exit status, restart policies (on-failure:N counted, always until
 * stop, eth0 and its address kept across restarts, a ping through the
 * switch), stop, rm (-f), ps -a with ended and kept containers, and the log
 * bounded and rotated.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, start, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { containodeStore } from '@containet/containode';
import { CONTAINET, containode } from './helpers.js';

const noRoot = whyNoRoot();
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-detach-state-'));
process.env['CONTAINET_STATE'] = stateDir;
const images = mkdtempSync(join(tmpdir(), 'cnode-detach-images-'));
process.env['CONTAINET_IMAGES'] = images;
test.after(() => {
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(images, { recursive: true, force: true });
});

const dirOf = (id: string) => join(stateDir, 'containers', id);

function supervisor(id: string): Record<string, string[]> {
  try {
    return Object.fromEntries(readFileSync(join(dirOf(id), 'supervisor'), 'utf8').trim().split('\n').map((l) => { const [k, ...v] = l.split('\t'); return [k!, v]; }));
  } catch {
    return {};
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** proc(5) state letter; a zombie has ended (its new parent, the host's init, reaps it). */
function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return '';
  }
}

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Remove whatever a test left running, by the supervisor's pid. */
function removeAfter(cleanup: Cleanup, id: string): void {
  cleanup.add(`rm ${id}`, async () => {
    await containode(['rm', '-f', id]).catch(() => undefined);
  });
}

testIf(test, noRoot, 'run -d: the supervisor is C, not Node; logs, --tail, --timestamps, wait with the exit status; rm', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('det');
    removeAfter(cleanup, id);
    const r = await containode(['run', '-d', '--name', id, '-N', 'sh', '-c', 'echo one; echo two >&2; printf "no newline"; sleep 1; echo three; exit 4']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${id}\n`);
    const rec = containodeStore().read(id)!;
    assert.ok(rec.pid > 0);
    // The record's process is the supervisor: containode-spawn, parent of the spawner that is the init's parent.
    assert.is(comm(rec.pid), 'containode-spaw');
    const s = supervisor(id);
    assert.is(Number(s['supervisor']![0]), rec.pid);
    const init = Number(s['pid']![0]);
    assert.is(ppid(ppid(init)), rec.pid);
    const ps = JSON.parse((await containode(['ps', '--json'])).stdout) as { id: string; status: string }[];
    assert.is(ps.find((p) => p.id === id)?.status, 'running');
    const w = await containode(['wait', id]);
    assert.is(w.code, 0, w.stderr);
    assert.is(w.stdout, '4\n');
    const logs = await containode(['logs', id]);
    assert.is(logs.stdout, 'one\nno newlinethree\n');
    assert.is(logs.stderr, 'two\n');
    const tail = await containode(['logs', '--tail', '1', '--timestamps', id]);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z no newlinethree\n$/);
    // Ended: listed by ps -a with its status, not by ps; the record stays until rm.
    assert.not.ok((JSON.parse((await containode(['ps', '--json'])).stdout) as { id: string }[]).some((p) => p.id === id));
    const table = await containode(['ps', '-a']);
    assert.match(table.stdout, new RegExp(`^${id}\\s+\\d+\\s+exited \\(4\\)`, 'm'));
    assert.ok(existsSync(dirOf(id)));
    const rm = await containode(['rm', id]);
    assert.is(rm.code, 0, rm.stderr);
    assert.not.ok(existsSync(dirOf(id)));
    assert.is((await containode(['logs', id])).code, 1);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'restart policies: on-failure:2 runs three times; always runs on until stop; rm refuses a running container without -f', async () => {
  const cleanup = new Cleanup();
  try {
    const a = uniqueName('onf');
    removeAfter(cleanup, a);
    assert.is((await containode(['run', '-d', '-i', a, '-N', '--restart', 'on-failure:2', 'sh', '-c', 'echo run; exit 3'])).code, 0);
    assert.is((await containode(['wait', a])).stdout, '3\n');
    assert.is((await containode(['logs', a])).stdout, 'run\nrun\nrun\n');
    assert.is(supervisor(a)['restarts']![0], '2');
    const ok = uniqueName('onok');
    removeAfter(cleanup, ok);
    assert.is((await containode(['run', '-d', '-i', ok, '-N', '--restart', 'on-failure', 'true'])).code, 0);
    assert.is((await containode(['wait', ok])).stdout, '0\n');
    assert.is(supervisor(ok)['restarts']![0], '0');

    const b = uniqueName('alw');
    removeAfter(cleanup, b);
    assert.is((await containode(['run', '-d', '-i', b, '-N', '--restart', 'always', 'sh', '-c', 'echo up; sleep 0.2; exit 0'])).code, 0);
    await waitFor(() => Number(supervisor(b)['restarts']?.[0] ?? 0) >= 2, 'two restarts', 10_000);
    const refused = await containode(['rm', b]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /is running/);
    const stop = await containode(['stop', '--time', '5', b]);
    assert.is(stop.code, 0, stop.stderr);
    assert.is(supervisor(b)['state']![0], 'exited');
    const restarts = supervisor(b)['restarts']![0];
    await new Promise((r) => setTimeout(r, 500));
    assert.is(supervisor(b)['restarts']![0], restarts, 'no restart after stop');

    const c = uniqueName('rmf');
    assert.is((await containode(['run', '-d', '-i', c, '-N', '--restart', 'always', 'sleep', '30'])).code, 0);
    const sup = containodeStore().read(c)!.pid;
    const forced = await containode(['rm', '-f', c]);
    assert.is(forced.code, 0, forced.stderr);
    assert.ok(!existsSync(`/proc/${sup}`) || comm(sup) !== 'containode-spaw' || state(sup) === 'Z', 'the supervisor ended');
    assert.not.ok(existsSync(dirOf(c)));
    // Usage errors, checked before anything is created.
    assert.is((await containode(['run', '-d', '-N', '--restart', 'sometimes', 'true'])).code, 2);
    assert.is((await containode(['run', '-N', '--restart', 'always', 'true'])).code, 2);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a detached container on a switch keeps eth0 and its address across restarts; exec -it and logs -f', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-detach-sw-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const sock = join(dir, 'sw.sock');
    const sw = start(process.execPath, [CONTAINET, '-s', sock]);
    cleanup.add('containet', () => killAndWait(sw));
    await waitFor(() => existsSync(sock), 'containet to listen', 10_000);
    const id = uniqueName('dnet');
    removeAfter(cleanup, id);
    // The first run fails; the second (the host's files are shared without -r) stays.
    const marker = join(dir, 'ran-once');
    const r = await containode(['run', '-d', '-i', id, '-s', sock, '-4', '10.93.0.2/24', '--restart', 'always', 'sh', '-c', `ip -o -4 addr show eth0 | cut -d" " -f7; if [ -e ${marker} ]; then exec sleep 30; fi; touch ${marker}; exit 1`]);
    assert.is(r.code, 0, r.stderr);
    await waitFor(() => Number(supervisor(id)['restarts']?.[0] ?? 0) >= 1 && supervisor(id)['state']?.[0] === 'running', 'a restart', 10_000);
    const ping = await containode(['-s', sock, '-4', '10.93.0.3/24', 'ping', '-c', '1', '-W', '2', '10.93.0.2']);
    assert.is(ping.code, 0, ping.stdout + ping.stderr);
    const logs = (await containode(['logs', id])).stdout.trim().split('\n');
    assert.is(logs.length, 2);
    assert.ok(logs.every((l) => l === '10.93.0.2/24'), logs.join(','));
    await waitFor(() => supervisor(id)['state']?.[0] === 'running', 'running', 5000);
    const ex = await containode(['exec', '-it', id, 'hostname']);
    assert.is(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, new RegExp(`^${id}\\r?\\n`));
    // -f follows until the container ends (stopped meanwhile).
    const follow = containode(['logs', '-f', id], { timeoutMs: 20_000 });
    await new Promise((res) => setTimeout(res, 300));
    assert.is((await containode(['stop', id])).code, 0);
    const f = await follow;
    assert.is(f.code, 0, f.stderr);
    assert.match(f.stdout, /10\.93\.0\.2\/24\n/);
    assert.is((await containode(['rm', id])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'the log is bounded and rotated: at most 1 MB per file, three old files', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('rot');
    removeAfter(cleanup, id);
    // about 6 MB of 100-byte lines
    assert.is((await containode(['run', '-d', '-i', id, '-N', 'sh', '-c', 'i=0; while [ $i -lt 60000 ]; do echo "line $i $(printf %080d 0)"; i=$((i+1)); done'])).code, 0);
    assert.is((await containode(['wait', id], { timeoutMs: 120_000 })).code, 0);
    const files = readdirSync(dirOf(id)).filter((f) => f.startsWith('log')).sort();
    assert.equal(files, ['log', 'log.1', 'log.2', 'log.3']);
    for (const f of files) assert.ok(statSync(join(dirOf(id), f)).size <= 1024 * 1024, f);
    const last = await containode(['logs', '--tail', '1', id]);
    assert.match(last.stdout, /^line 59999 0+\n$/);
    const all = (await containode(['logs', id], { timeoutMs: 60_000 })).stdout.trim().split('\n');
    // the oldest lines went with the oldest file (4 files of ~140-byte records); the rest is in order
    assert.ok(all.length < 60000 && all.length > 25000, String(all.length));
    assert.is(Number(all[0]!.split(' ')[1]) + all.length - 1, 59999);
    assert.is(all.at(-1)!.split(' ')[1], '59999');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'ps -a lists a kept top directory of a container from an image; rm removes it', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('kept');
    const top = join(images, 'containers', id);
    mkdirSync(join(top, 'upper'), { recursive: true });
    cleanup.add('top', () => rmSync(top, { recursive: true, force: true }));
    const ps = await containode(['ps', '-a']);
    assert.match(ps.stdout, new RegExp(`^${id}\\s+-\\s+kept\\s+-\\s+-\\s+${top}`, 'm'));
    assert.not.match((await containode(['ps'])).stdout, new RegExp(id));
    const rm = await containode(['rm', id]);
    assert.is(rm.code, 0, rm.stderr);
    assert.not.ok(existsSync(top));
    assert.is((await containode(['rm', id])).code, 1);
  } finally {
    await cleanup.run();
  }
});

test.run();
