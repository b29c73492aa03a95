/**
 * FdPoller: readiness of raw fds, level-triggered, without ever holding one
 * of libuv's worker threads (fs, dns and crypto queue on those four).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { closeFd, FdPoller, native, recvWithFd, sendWithFd } from '@containet/common';

const COMMON = fileURLToPath(new URL('../src/index.js', import.meta.url));

/** A connected unix stream socket pair (close-on-exec). */
function socketPair(): [number, number] {
  const fds = [-1, -1];
  const r = Number(native().cn_capture_pair(fds));
  if (r < 0) throw new Error(`socketpair: ${r}`);
  return [fds[0]!, fds[1]!];
}

/** Poll threads of this process: poll.c names them cn-poll. */
function pollThreads(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'cn-poll') n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())]);
}

test("pollers waiting on fds leave libuv's worker pool free for fs and dns", async () => {
  // libuv's pool has UV_THREADPOOL_SIZE workers, 4 unless set (docs.libuv.org, "Thread pool work scheduling").
  const poolSize = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const pollers: FdPoller[] = [];
  const pairs: Array<[number, number]> = [];
  try {
    for (let i = 0; i < poolSize + 2; i++) {
      const poller = new FdPoller();
      const pair = socketPair();
      pollers.push(poller);
      pairs.push(pair);
      poller.add(pair[0], () => {});
    }
    // Give any blocking wait time to start on a worker before queueing work.
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const files = await within(Promise.all(Array.from({ length: poolSize }, () => readFile('/proc/self/status', 'utf8'))), 2000, 'fs.promises.readFile');
    assert.ok(files.every((f) => f.includes('Pid:')));
    const addr = await within(lookup('localhost'), 2000, "dns.lookup('localhost')");
    assert.ok(addr.address.length > 0);
    assert.ok(Date.now() - started < 2000);
  } finally {
    for (const p of pollers) p.close();
    for (const [a, b] of pairs) {
      closeFd(a);
      closeFd(b);
    }
  }
});

test('level-triggered: the callback comes again while input is left unread, and stops after delete', async () => {
  const poller = new FdPoller();
  const [a, b] = socketPair();
  try {
    const got: string[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    poller.add(a, (fd) => {
      assert.is(fd, a);
      const r = recvWithFd(fd, 1); // one byte per call: the rest must wake us again
      if (r) got.push(r.data.toString());
      if (got.length === 3) done();
    });
    assert.is(poller.size, 1);
    sendWithFd(b, Buffer.from('xyz'));
    await within(all, 2000, 'three callbacks');
    assert.equal(got, ['x', 'y', 'z']);

    poller.delete(a);
    poller.delete(a); // unknown now: no error
    assert.is(poller.size, 0);
    sendWithFd(b, Buffer.from('!'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, ['x', 'y', 'z'], 'no callback after delete');

    // Added again, the byte still waiting is reported at once.
    const again = new Promise<string>((resolve) => poller.add(a, (fd) => resolve(recvWithFd(fd)!.data.toString())));
    assert.is(await within(again, 2000, 're-added fd'), '!');
  } finally {
    poller.close();
    closeFd(a);
    closeFd(b);
  }
});

test('a hang-up is readiness too', async () => {
  const poller = new FdPoller();
  const [a, b] = socketPair();
  try {
    const eof = new Promise<number>((resolve) =>
      poller.add(a, (fd) => {
        const r = recvWithFd(fd);
        if (r && r.data.length === 0) {
          poller.delete(fd);
          resolve(0);
        }
      }),
    );
    closeFd(b);
    assert.is(await within(eof, 2000, 'EOF'), 0);
  } finally {
    poller.close();
    closeFd(a);
  }
});

test('close() ends the thread at once, is safe twice, and add() after it throws CN_CLOSED', async () => {
  const before = pollThreads();
  const poller = new FdPoller();
  const [a, b] = socketPair();
  try {
    poller.add(a, () => {});
    assert.is(pollThreads(), before + 1, 'one thread per poller');
    const started = Date.now();
    poller.close();
    poller.close();
    assert.ok(Date.now() - started < 500, 'close waits for nothing');
    assert.is(pollThreads(), before, 'its thread is gone when close() returns');
    assert.throws(() => poller.add(b, () => {}), (err: { code?: string }) => err.code === 'CN_CLOSED');
    poller.delete(a); // no error after close
    // A poller closed from inside its own callback stops calling.
    const p2 = new FdPoller();
    let calls = 0;
    p2.add(a, () => {
      calls++;
      p2.close();
    });
    sendWithFd(b, Buffer.from('q'));
    await new Promise((r) => setTimeout(r, 150));
    assert.is(calls, 1);
  } finally {
    poller.close();
    closeFd(a);
    closeFd(b);
  }
});

/** Run a script in a new node process; resolve with its exit code and how long it ran. */
function runScript(source: string): Promise<{ code: number | null; ms: number; stderr: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, stderr });
    });
  });
}

test('a process exits at once with pollers still watching fds (process.exit, or none left to watch)', async () => {
  const setup = `
    import { FdPoller, native } from ${JSON.stringify(COMMON)};
    const fds = [-1, -1];
    native().cn_capture_pair(fds);
    const watching = new FdPoller();
    watching.add(fds[0], () => {});
    const emptied = new FdPoller();
    emptied.add(fds[1], () => {});
    emptied.delete(fds[1]);
  `;
  const exited = await runScript(`${setup} setTimeout(() => process.exit(3), 100);`);
  assert.is(exited.code, 3, exited.stderr);
  assert.ok(exited.ms < 2000, `process.exit took ${exited.ms} ms`);
  // With no fd left to watch, a poller does not keep the process alive.
  const natural = await runScript(`${setup} watching.delete(fds[0]);`);
  assert.is(natural.code, 0, natural.stderr);
  assert.ok(natural.ms < 2000, `the process took ${natural.ms} ms to end`);
});

test.run();
