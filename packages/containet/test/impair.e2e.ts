/**
 * Link impairments in the switch (containet port set), seen from the
 * containers: ping round trips grow by the delay, a share of pings is lost,
 * iperf3 runs at the rate, --clear restores the link; bad values are
 * refused with the port unchanged. Tolerances are wide for a loaded 2-core
 * machine; the exact figures are bench/impair.mjs's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { Cleanup, inNetns, killAndWait, run, testIf, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import type { PortInfo } from '@containet/common';
import { BIN, node, portInfo, request, startDaemon } from './helpers.js';

const root = whyNoRoot() ?? whyMissing('iperf3');

function portSet(socket: string, ...args: string[]) {
  return run(process.execPath, [BIN, 'port', 'set', ...args, '-s', socket]);
}

/** `ping -c count -i interval` from `ns`: average RTT in ms (null: no reply) and replies. */
async function ping(ns: string, ip: string, count: number, interval = 0.05): Promise<{ avg: number | null; received: number }> {
  const r = await inNetns(ns, 'ping', ['-n', '-q', '-c', String(count), '-i', String(interval), '-W', '1', ip], { timeoutMs: (count * interval + 30) * 1000 });
  const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return { avg: avg ? Number(avg[1]) : null, received };
}

async function delayAndClear(datapath: 'io_uring' | 'epoll'): Promise<void> {
  const cleanup = new Cleanup();
  const saved = process.env['CONTAINET_DATAPATH'];
  try {
    if (datapath === 'epoll') process.env['CONTAINET_DATAPATH'] = 'epoll';
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.86.0.1/24');
    const b = await node(cleanup, d.socket, '10.86.0.2/24');
    const base = await ping(a.ns, b.ip, 10);
    assert.ok(base.avg !== null, 'the link works unimpaired');
    const r = await portSet(d.socket, String(b.att.port), '--direction', 'out', '--delay', '20ms', '--json');
    assert.is(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as PortInfo).impair, { out: { delayUs: 20000 } });
    const slow = await ping(a.ns, b.ip, 10);
    assert.ok(slow.avg !== null, 'pings still answered');
    // The echo request waits 20 ms on its way to b; the reply does not.
    assert.ok(slow.avg! - base.avg! >= 16, `RTT grew by ${(slow.avg! - base.avg!).toFixed(2)} ms, at least 80% of 20 ms`);
    assert.ok(slow.avg! < base.avg! + 20 + 100, `RTT ${slow.avg} ms is not far beyond base + 20 ms`);
    const both = await portSet(d.socket, String(b.att.port), '--delay', '20ms');
    assert.is(both.code, 0, both.stderr);
    const slower = await ping(a.ns, b.ip, 10);
    assert.ok(slower.avg! - base.avg! >= 32, `both directions: RTT grew by ${(slower.avg! - base.avg!).toFixed(2)} ms, at least 80% of 40 ms`);
    const clear = await portSet(d.socket, String(b.att.port), '--clear');
    assert.is(clear.code, 0, clear.stderr);
    assert.is((await portInfo(d.socket, b.att.port))!.impair, undefined, 'no impairments listed after --clear');
    const back = await ping(a.ns, b.ip, 10);
    assert.ok(back.avg! < base.avg! + 10, `--clear restores the RTT (${back.avg} ms, was ${base.avg} ms)`);
  } finally {
    if (saved === undefined) delete process.env['CONTAINET_DATAPATH'];
    else process.env['CONTAINET_DATAPATH'] = saved;
    await cleanup.run();
  }
}

testIf(test, root, 'delay: ping RTT grows by the delay of each direction, --clear restores it (io_uring datapath)', () => delayAndClear('io_uring'));
testIf(test, root, 'delay and --clear on the epoll datapath', () => delayAndClear('epoll'));

testIf(test, root, 'loss 50%: between 30% and 70% of 200 pings are lost, counted on the port', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.87.0.1/24');
    const b = await node(cleanup, d.socket, '10.87.0.2/24');
    assert.ok((await ping(a.ns, b.ip, 2)).received >= 1, 'reachable (and ARP done) before the loss');
    const r = await portSet(d.socket, `${(await portInfo(d.socket, b.att.port))!.node}:eth0`, '--direction', 'in', '--loss', '50%', '--seed', '7');
    assert.is(r.code, 0, r.stderr);
    const p = await ping(a.ns, b.ip, 200, 0.01);
    const lost = 200 - p.received;
    assert.ok(lost >= 60 && lost <= 140, `${lost} of 200 pings lost`);
    const info = (await portInfo(d.socket, b.att.port))!;
    assert.ok(info.counters.impairLost! >= lost * 0.9, `the port counted ${info.counters.impairLost} frames lost`);
    await portSet(d.socket, String(b.att.port), '--clear');
    assert.is((await ping(a.ns, b.ip, 20, 0.01)).received, 20, 'no loss after --clear');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'rate 50mbit: iperf3 TCP runs well under 100 Mbit/s and above 30', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.88.0.1/24');
    const b = await node(cleanup, d.socket, '10.88.0.2/24');
    const r = await portSet(d.socket, String(b.att.port), '--direction', 'in', '--rate', '50mbit');
    assert.is(r.code, 0, r.stderr);
    const server = spawn('ip', ['netns', 'exec', a.ns, 'iperf3', '-s', '-1', '-B', a.ip, '--forceflush'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.add('iperf3 server', () => killAndWait(server));
    let out = '';
    server.stdout!.on('data', (x) => (out += String(x)));
    await waitFor(() => out.includes('listening'), 'iperf3 to listen', 10_000);
    const c = await inNetns(b.ns, 'iperf3', ['-c', a.ip, '-t', '4', '-O', '1', '-J'], { timeoutMs: 60_000 });
    const report = JSON.parse(c.stdout) as { end: { sum_received: { bits_per_second: number } } };
    const mbit = report.end.sum_received.bits_per_second / 1e6;
    assert.ok(mbit > 30 && mbit < 60, `iperf3 measured ${mbit.toFixed(1)} Mbit/s under a 50 Mbit/s rate`);
    const info = (await portInfo(d.socket, b.att.port))!;
    assert.equal(info.impair, { in: { rateBps: 50e6 } });
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'duplicate, corrupt and Gilbert-Elliott loss as ping sees them', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.90.1.1/24');
    const b = await node(cleanup, d.socket, '10.90.1.2/24');
    assert.ok((await ping(a.ns, b.ip, 2)).received >= 1, 'reachable first');
    const port = String(b.att.port);
    assert.is((await portSet(d.socket, port, '--direction', 'out', '--duplicate', '100%')).code, 0);
    const dup = await inNetns(a.ns, 'ping', ['-n', '-c', '5', '-i', '0.1', '-W', '1', b.ip]);
    assert.match(dup.stdout, /\+\d+ duplicates/, `every echo request arrives twice: ${dup.stdout}`);
    // Every frame gets a flipped bit: its destination MAC, IP or ICMP
    // checksum no longer holds, but for the few bits that change nothing
    // the receiver checks (the source MAC: 48 of 784 bits).
    assert.is((await portSet(d.socket, port, '--direction', 'out', '--corrupt', '100%')).code, 0);
    const corrupt = await ping(a.ns, b.ip, 10, 0.1);
    assert.ok(corrupt.received <= 3, `${corrupt.received} of 10 corrupted echo requests answered`);
    // p 100%: bad after the first frame; r 0%: bad for good; 1-h 100%: all lost there.
    assert.is((await portSet(d.socket, port, '--direction', 'out', '--loss-burst', '100%,0%')).code, 0);
    assert.ok((await ping(a.ns, b.ip, 10, 0.05)).received <= 1, 'a burst that never ends loses everything after its start');
    const info = (await portInfo(d.socket, b.att.port))!;
    assert.equal(info.impair?.out?.lossGilbert, { p: 100, r: 0, badLoss: 100, goodLoss: 0 });
    assert.is((await portSet(d.socket, port, '--clear')).code, 0);
    assert.is((await ping(a.ns, b.ip, 5, 0.1)).received, 5, 'clean again');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'bad impairments: exit 2 naming the value, refused by the daemon too, the port unchanged', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.89.0.1/24');
    const set = await portSet(d.socket, String(a.att.port), '--delay', '5ms');
    assert.is(set.code, 0, set.stderr);
    const before = JSON.stringify((await portInfo(d.socket, a.att.port))!.impair);
    for (const [args, pattern] of [
      [['--rate', '0'], /--rate 0: a rate must be more than 0/],
      [['--delay', '-5ms'], /--delay -5ms: a time cannot be negative/],
      [['--loss', '150%'], /--loss 150%: a percentage must be from 0% to 100%/],
      [['--delay', '20parsecs'], /--delay 20parsecs: unknown time unit "parsecs"/],
      [['--rate', '10furlongs'], /unknown rate unit "furlongs"/],
      [['--direction', 'sideways', '--delay', '1ms'], /--direction sideways/],
      [['--reorder', '5%'], /--reorder needs --delay/],
    ] as const) {
      const r = await portSet(d.socket, String(a.att.port), ...args);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, pattern);
      assert.is(JSON.stringify((await portInfo(d.socket, a.att.port))!.impair), before, `${args.join(' ')} left the port as it was`);
    }
    for (const impair of [{ rateBps: 0 }, { delayUs: -5 }, { lossPercent: 101 }, { queueLimitBytes: 0 }]) {
      const err = await request(d.socket, { op: 'port-set', port: a.att.port, impair }).catch((e: Error & { code?: string }) => e);
      assert.is((err as { code?: string }).code, 'CN_BAD_REQUEST', JSON.stringify(impair));
    }
    assert.is(JSON.stringify((await portInfo(d.socket, a.att.port))!.impair), before);
  } finally {
    await cleanup.run();
  }
});

test.run();
