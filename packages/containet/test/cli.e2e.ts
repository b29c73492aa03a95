/**
 * The CLI's words: help never starts a switch, an unknown word is a usage
 * error, and a peer the socket refuses is told why and what to do.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, testIf, uniqueName, whyNoRoot, Cleanup } from '@containet/common/testing';
import { BIN, startDaemon } from './helpers.js';

/** Run the CLI as another user (the socket's directory, /tmp, lets anyone through). */
function runAs(uid: number, gid: number, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('help, --help and -h print help and exit 0; no switch starts', async () => {
  for (const args of [['help'], ['--help'], ['-h'], ['help', 'ports'], ['ports', '--help']]) {
    const sock = join(tmpdir(), `${uniqueName('cnhelp')}.sock`);
    const r = await run(process.execPath, [BIN, ...args, '-s', sock], { timeoutMs: 10_000 });
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: containet/, args.join(' '));
    assert.is(r.stderr, '');
    assert.not.ok(existsSync(sock), `containet ${args.join(' ')} created no socket`);
  }
});

test('an unknown command exits 2 with one line and starts no switch', async () => {
  for (const word of ['bogus', 'halp']) {
    const sock = join(tmpdir(), `${uniqueName('cnbog')}.sock`);
    const r = await run(process.execPath, [BIN, word, '-s', sock], { timeoutMs: 10_000 });
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr, `containet: unknown command '${word}' (see containet --help)\n`);
    assert.not.ok(existsSync(sock), 'no socket');
  }
  const r = await run(process.execPath, [BIN, 'help', 'bogus'], { timeoutMs: 10_000 });
  assert.is(r.code, 2);
  assert.match(r.stderr, /^containet: unknown command 'bogus'\n/);
});

test('--version prints the version and exits 0', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await run(process.execPath, [BIN, flag], { timeoutMs: 10_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  }
});

test('a parse error of any command is one line and a hint, exit 2, nothing on stdout', async () => {
  const commands = [[], ['serve'], ['ports'], ['macs'], ['status'], ['detach', 'x'], ['undetach', 'x'], ['host', 'del'], ['vxlan', 'show'], ['capture', 'all', '-w', '-'], ['top']];
  for (const words of commands) {
    const r = await run(process.execPath, [BIN, ...words, '--bogus'], { timeoutMs: 10_000 });
    const where = words[0] ? `${words[0]} ` : '';
    assert.is(r.code, 2, `${words.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '');
    assert.is(r.stderr, `containet: unknown option '--bogus'\ncontainet: hint: see containet ${where}--help\n`, words.join(' '));
  }
  for (const [words, message] of [
    [['detach'], "missing required argument 'port'"],
    [['undetach'], "missing required argument 'node'"],
    [['vxlan'], "missing required argument 'action'"],
    [['capture', 'all'], "required option '-w, --write <file>' not specified"],
    [['ports', '-s'], "option '-s, --socket <path>' argument missing"],
  ] as const) {
    const r = await run(process.execPath, [BIN, ...words], { timeoutMs: 10_000 });
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr, `containet: ${message}\ncontainet: hint: see containet ${words[0]} --help\n`);
  }
});

test('--json with no switch: nothing on stdout, one line on stderr, exit 1', async () => {
  const sock = join(tmpdir(), `${uniqueName('cnnone')}.sock`);
  for (const words of [['status'], ['ports'], ['macs'], ['vxlan', 'show'], ['detach', '1'], ['undetach', 'x'], ['host', 'del']]) {
    const r = await run(process.execPath, [BIN, ...words, '--json', '-s', sock], { timeoutMs: 10_000 });
    assert.is(r.code, 1, words.join(' '));
    assert.is(r.stdout, '');
    assert.is(r.stderr, `containet: cannot reach containet at ${sock}: ENOENT (hint: start it with: containet -s ${sock})\n`);
  }
});

testIf(test, whyNoRoot(), '--json on every listing and inspect command prints JSON only', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    for (const [words, check] of [
      [['ports'], (v: unknown) => Array.isArray(v)],
      [['macs'], (v: unknown) => Array.isArray(v)],
      [['status'], (v: unknown) => (v as { pid?: unknown }).pid === d.child.pid],
      [['vxlan', 'show'], (v: unknown) => v === null],
    ] as const) {
      const r = await run(process.execPath, [BIN, ...words, '--json', '-s', d.socket], { timeoutMs: 10_000 });
      assert.is(r.code, 0, r.stderr);
      assert.ok(check(JSON.parse(r.stdout)), `${words.join(' ')} --json: ${r.stdout}`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot(), 'a user the socket refuses is told why: root-only, or root and one group', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    // Mode 0600: connect() itself fails (EACCES); the client says why.
    let r = await runAs(65534, 65534, ['status', '-s', d.socket]);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr, `containet: ${d.socket} is root-only; start containet with --group GROUP to allow a group\n`);
    // Were the mode widened, the daemon refuses the peer (SO_PEERCRED) and says the same.
    chmodSync(d.socket, 0o666);
    r = await runAs(65534, 65534, ['status', '-s', d.socket]);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr, `containet: ${d.socket} is root-only; start containet with --group GROUP to allow a group\n`);
    assert.match(d.log(), /control: refused pid \d+ uid 65534: not root, the owner or the socket's group/);

    // --group nogroup: its members get in, others are told which group it is.
    const g = await startDaemon(cleanup, ['--group', 'nogroup']);
    r = await runAs(65534, 65534, ['status', '-s', g.socket]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^containet running on /);
    r = await runAs(65534, 1, ['status', '-s', g.socket]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`^containet: ${g.socket} is for root and group nogroup only\\n`));
  } finally {
    await cleanup.run();
  }
});

test.run();
