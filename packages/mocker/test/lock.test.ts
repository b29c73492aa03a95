import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireFileLock } from '../src/store/lock.js';

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}
const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
const pidns = readlinkSync('/proc/self/ns/pid');

/** A process that has exited, and the identity line it would have written. */
async function deadHolder(): Promise<string> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  const line = `${child.pid} ${startTime(child.pid!)} ${boot} ${pidns}\n`;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return line;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mocker-lock-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('the lock file names its holder (pid, start time, boot, pid namespace) and is gone after release', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  const lock = await acquireFileLock(path, 1000);
  assert.is(readFileSync(path, 'utf8'), `${process.pid} ${startTime(process.pid)} ${boot} ${pidns}\n`);
  lock.release();
  lock.release();
  assert.not.ok(existsSync(path));
}));

test('a live holder is waited for, in this process or another', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  const first = await acquireFileLock(path, 1000);
  let waited = 0;
  setTimeout(() => first.release(), 150);
  const t = Date.now();
  const second = await acquireFileLock(path, 5000, undefined, () => waited++);
  assert.ok(Date.now() - t >= 140, 'the second waited for the release');
  assert.is(waited, 1);
  second.release();

  // Another live process (this test's parent shell stands in: alive, same namespace).
  writeFileSync(path, `${process.ppid} ${startTime(process.ppid)} ${boot} ${pidns}\n`);
  const err = await acquireFileLock(path, 100).then(() => null, (e: unknown) => e as Error & { code?: string });
  assert.is(err?.code, 'MOCKER_LOCKED');
  assert.match(err?.message ?? '', `held by process ${process.ppid}`);
  assert.ok(existsSync(path), 'a live holder\'s file is left alone');
}));

test('a dead holder\'s lock is taken over: exited, pid reused (another start time), another boot, empty and old', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  const old = new Date(Date.now() - 60_000);
  const stale = [
    await deadHolder(),
    `${process.ppid} 1 ${boot} ${pidns}\n`, // the pid exists, but started at another time
    `${process.ppid} ${startTime(process.ppid)} 00000000-0000-0000-0000-000000000000 ${pidns}\n`,
    '',
  ];
  for (const text of stale) {
    writeFileSync(path, text);
    if (text === '') utimesSync(path, old, old);
    const lock = await acquireFileLock(path, 2000);
    assert.match(readFileSync(path, 'utf8'), `${process.pid} `, `taken over from ${JSON.stringify(text)}`);
    lock.release();
  }
}));

test('a holder in another pid namespace is alive while it refreshes its file, dead once it is stale', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  writeFileSync(path, `1 1 ${boot} pid:[1]\n`);
  const err = await acquireFileLock(path, 100).then(() => null, (e: unknown) => e as { code?: string });
  assert.is(err?.code, 'MOCKER_LOCKED');
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(path, old, old);
  (await acquireFileLock(path, 1000)).release();
}));

test('waiters racing for a dead holder\'s lock: exactly one holds it at a time', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  writeFileSync(path, await deadHolder());
  let holding = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    const lock = await acquireFileLock(path, 5000);
    most = Math.max(most, ++holding);
    await new Promise((r) => setTimeout(r, 20));
    holding--;
    lock.release();
  }));
  assert.is(most, 1);
  assert.not.ok(existsSync(path));
}));

test('an abort ends the wait', withDir(async (dir) => {
  const path = join(dir, 'a.lock');
  const held = await acquireFileLock(path, 1000);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop')), 50);
  const err = await acquireFileLock(path, Infinity, ac.signal).then(() => null, (e: unknown) => e as Error);
  assert.is(err?.message, 'stop');
  held.release();
}));

test.run();
