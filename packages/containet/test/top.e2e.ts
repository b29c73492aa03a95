/**
 * `containet top -s SOCK` in a terminal (script(1) gives it a pty): it
 * draws the ports from the control socket alone (no --listen), `q` ends it
 * with exit 0, and the terminal is back in cooked mode with echo.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { Cleanup, killAndWait, pingFrom, run, testIf, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, startDaemon } from './helpers.js';
import { bitRate, humanBytes } from '../src/table.js';

const reason = whyNoRoot() ?? whyMissing('script', 'ping', 'stty');

test('units: rates in SI bit/s as iperf3 prints them, byte counters in IEC', () => {
  assert.is(bitRate(0), '0 bit/s');
  assert.is(bitRate(999), '999 bit/s');
  assert.is(bitRate(1500), '1.5 kbit/s');
  assert.is(bitRate(12_300_000), '12 Mbit/s');
  assert.is(bitRate(4_800_000_000), '4.8 Gbit/s');
  assert.is(humanBytes(512), '512 B');
  assert.is(humanBytes(1234567), '1.2 MiB');
});

testIf(test, reason, 'top -s draws from the control socket; q quits with exit 0 and the terminal restored', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.93.0.1/24');
    const b = await node(cleanup, d.socket, '10.93.0.2/24');
    assert.ok((await pingFrom(a.ns, b.ip, 1)) >= 0);
    const cmd = `stty echo icanon; ${process.execPath} ${BIN} top -s ${d.socket}; echo "top-exit=$?"; stty -a`;
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
    cleanup.add(`script ${child.pid}`, () => killAndWait(child));
    let out = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.stderr.on('data', (c) => (out += String(c)));
    const pinger = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-q', '-i', '0.2', '-c', '30', b.ip], { stdio: 'ignore' });
    cleanup.add(`ping ${pinger.pid}`, () => killAndWait(pinger));
    // Two samples: the second has rates.
    await waitFor(() => /PORT\s+NODE\s+IFNAME/.test(out) && /\d+(\.\d)? (k|M)?bit\/s/.test(out), 'top to draw', 8000);
    assert.ok(out.includes('\x1b[?1049h'), 'alternate screen');
    assert.match(out, /containet pid \d+ on /);
    // An attach while it runs shows in its event lines.
    const c = await node(cleanup, d.socket, '10.93.0.3/24');
    await waitFor(() => new RegExp(`port ${c.att.port} attached: \\S+ eth0`).test(out), 'the attach event', 5000);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('q');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 5000))]);
    assert.is(code, 0, `script exit: ${out.slice(-500)}`);
    assert.match(out, /top-exit=0/);
    assert.ok(out.includes('\x1b[?1049l'), 'main screen back');
    const stty = out.slice(out.indexOf('top-exit=0'));
    assert.match(stty, /(^|\s)icanon(\s|$)/m, 'cooked mode');
    assert.match(stty, /(^|\s)echo(\s|$)/m, 'echo on');
    assert.match(stty, /(^|\s)isig(\s|$)/m, 'signals on');

    // --once: one sample with rates, printed, no terminal games.
    const once = await run(process.execPath, [BIN, 'top', '--once', '-s', d.socket], { timeoutMs: 10_000 });
    assert.is(once.code, 0, once.stderr);
    assert.match(once.stdout, /^containet pid \d+ on .*\n\nPORT\s+NODE\s+IFNAME/);
    assert.match(once.stdout, new RegExp(`\\b${c.att.port}\\b.*eth0.*\\d+(\\.\\d)? (k|M)?bit/s`));
    assert.not.ok(once.stdout.includes('\x1b'), 'no escape sequences');
  } finally {
    await cleanup.run();
  }
});

test.run();
