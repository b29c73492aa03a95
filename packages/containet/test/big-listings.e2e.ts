/**
 * Replies of any size: a MAC table of 100,000 entries and a switch with
 * every port it can hold list completely through the CLI (`--json`), in
 * parts of at most one frame, while the daemon goes on forwarding.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ControlClient, MAX_FRAME, closeFd, openTap, type MacEntry, type PortInfo, type StatusReply } from '@containet/common';
import { Cleanup, inNetns, killAndWait, run, testIf, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, startDaemon } from './helpers.js';

const INJECT = fileURLToPath(new URL('./fixtures/inject.js', import.meta.url));
const root = whyNoRoot();

async function cli<T>(socket: string, ...args: string[]): Promise<T> {
  const r = await run(process.execPath, [BIN, ...args, '-s', socket, '--json'], { timeoutMs: 30_000 });
  assert.is(r.code, 0, `containet ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

testIf(test, root ?? whyMissing('tc', 'ping'), '100,000 MACs list completely through `containet macs --json`; ports and status answer; a and b never stop talking', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--mac-table-size', '131072']);
    const a = await node(cleanup, d.socket, '10.86.0.1/24');
    const b = await node(cleanup, d.socket, '10.86.0.2/24');
    const f = await node(cleanup, d.socket, '10.86.0.3/24');

    // a pings b every 100 ms through the flood and the listings.
    const pinger = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-i', '0.1', '-W', '1', b.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanup.add('ping', () => killAndWait(pinger, 'SIGKILL'));
    let pingOut = '';
    pinger.stdout!.on('data', (c) => (pingOut += String(c)));

    const flood = await inNetns(f.ns, process.execPath, [INJECT, 'inj0', 'eth0', '120000', 'paced'], { timeoutMs: 60_000 });
    assert.is(flood.code, 0, flood.stderr);

    const before = (await cli<StatusReply['status']>(d.socket, 'status')).macs;
    assert.ok(before >= 100_000, `the table holds ${before} entries`);
    const started = Date.now();
    const macs = await cli<MacEntry[]>(d.socket, 'macs');
    const tookMs = Date.now() - started;
    const after = await cli<StatusReply['status']>(d.socket, 'status');
    assert.is(macs.length, after.macs, 'macs lists what status counts');
    assert.is(new Set(macs.map((m) => m.mac)).size, macs.length, 'no entry twice');
    assert.ok(macs.filter((m) => m.port === f.att.port).length >= 100_000, 'the flooder\'s entries are all there');
    const ports = await cli<PortInfo[]>(d.socket, 'ports');
    assert.is(ports.length, 3);
    const fp = ports.find((p) => p.port === f.att.port)!;
    assert.ok(fp.macCount >= 100_000 && fp.macs.length <= 8, `port entry bounded: ${fp.macs.length} shown of ${fp.macCount}`);
    const table = await run(process.execPath, [BIN, 'macs', '-s', d.socket], { timeoutMs: 30_000 });
    assert.is(table.code, 0, table.stderr);
    assert.is(table.stdout.trim().split('\n').length, after.macs + 1, 'the table has a line per entry');
    assert.is(d.child.exitCode, null, 'the daemon is alive');
    assert.ok(after.memory.rss < 256 * 1048576, `RSS ${after.memory.rss}`);

    // SIGINT makes ping print its summary; every reply counted.
    process.kill(pinger.pid!, 'SIGINT');
    await new Promise((res) => pinger.once('exit', res));
    const m = pingOut.match(/(\d+) packets transmitted, (\d+) received/);
    assert.ok(m, pingOut);
    const [sent, got] = [Number(m![1]), Number(m![2])];
    assert.ok(sent >= 10 && got >= sent - 2, `a -> b: ${got}/${sent} replies through flood and listings`);
    console.log(`listed ${macs.length} MACs in ${tookMs} ms; pings ${got}/${sent}; daemon RSS ${(after.memory.rss / 1048576).toFixed(0)} MiB`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'a switch full of ports lists them all, in frames of at most MAX_FRAME bytes', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const c = await ControlClient.connect(d.socket);
    cleanup.add('client', () => c.close());
    // 4096 is the datapath's port limit (CN_SWITCH_PORTS_MAX); the taps are
    // not persistent, so they go with this process whatever happens.
    const taps: number[] = [];
    cleanup.add('taps', () => taps.forEach((fd) => closeFd(fd)));
    const prefix = `lp${randomBytes(3).toString('hex')}`;
    let attached = 0;
    for (let i = 0; i < 4096; i++) {
      const tap = openTap(`${prefix}${i}`, { vnetHdr: true });
      taps.push(tap.fd);
      try {
        await c.request({ op: 'attach', node: `${prefix}-${i}`, ifname: 'eth0', addresses: [`10.${80 + (i >> 8 >> 8)}.${(i >> 8) & 255}.${i & 255}/16`], persist: true }, tap.fd);
        attached++;
      } catch (err) {
        assert.is((err as { code?: string }).code, 'CN_PORTS_FULL', (err as Error).message);
        break;
      }
    }
    assert.ok(attached >= 4090, `${attached} ports attached`);

    // Raw: every frame of the reply is bounded, the last one has no `more`.
    const { connect } = await import('node:net');
    const sock = connect(d.socket);
    const frames: Array<{ size: number; more: boolean; n: number }> = [];
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      sock.on('error', reject);
      sock.on('connect', () => {
        const body = Buffer.from(JSON.stringify({ op: 'ports', id: 7 }));
        const len = Buffer.alloc(4);
        len.writeUInt32BE(body.length);
        sock.write(Buffer.concat([len, body]));
      });
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const size = buf.readUInt32BE(0);
          const msg = JSON.parse(buf.subarray(4, 4 + size).toString()) as { id: number; more?: boolean; ports: unknown[] };
          buf = buf.subarray(4 + size);
          assert.is(msg.id, 7);
          frames.push({ size, more: msg.more === true, n: msg.ports.length });
          if (!msg.more) resolve();
        }
      });
    });
    sock.destroy();
    assert.ok(frames.length > 1, `${frames.length} frames`);
    assert.ok(frames.every((f) => f.size <= MAX_FRAME), 'every frame bounded');
    assert.is(frames.reduce((n, f) => n + f.n, 0), attached + 0);

    const listed = JSON.parse((await run(process.execPath, [BIN, 'ports', '-s', d.socket, '--json'], { timeoutMs: 30_000 })).stdout) as PortInfo[];
    assert.is(listed.length, attached);
    const status = await c.request({ op: 'status' });
    assert.is(status.status.ports, attached);
  } finally {
    await cleanup.run();
  }
});

test.run();
