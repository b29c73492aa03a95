/**
 * Connection storms: thousands of control connections that send nothing
 * never keep a container from attaching (the oldest idle ones are closed
 * for room, each told why), the refusals are logged, connections that
 * never send a request are closed after the handshake timeout, and the
 * daemon's fds come back to where they were.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { ControlClient } from '@containet/common';
import { Cleanup, pingFrom, testIf, waitFor, whyNoRoot } from '@containet/common/testing';
import { node, startDaemon } from './helpers.js';

const IDLE = 5000;

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

testIf(test, whyNoRoot(), `${IDLE} idle connections: attaches still succeed, refusals logged, silent connections closed, fds back`, async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const pid = d.child.pid!;
    const a = await node(cleanup, d.socket, '10.91.0.1/24');
    const baseline = fdCount(pid);

    const idle: Array<{ sock: Socket; got: Buffer[]; closed: boolean }> = [];
    cleanup.add('idle connections', () => idle.forEach((c) => c.sock.destroy()));
    for (let i = 0; i < IDLE; i += 250) {
      await Promise.all(
        Array.from({ length: 250 }, () => new Promise<void>((resolve) => {
          const c = { sock: connect(d.socket), got: [] as Buffer[], closed: false };
          idle.push(c);
          c.sock.on('data', (b: Buffer) => c.got.push(b));
          c.sock.on('close', () => (c.closed = true));
          c.sock.on('error', () => resolve());
          c.sock.once('connect', () => resolve());
        })),
      );
    }
    // Only the newest 256 of them stay; the others were closed, each told why.
    await waitFor(() => idle.filter((c) => !c.closed).length <= 256, 'the daemon to keep at most 256 idle connections', 10_000);
    const told = idle.filter((c) => c.closed && c.got.length > 0).map((c) => JSON.parse(Buffer.concat(c.got).subarray(4).toString()) as { id: number; error: { code: string } });
    assert.ok(told.length > IDLE / 2, `${told.length} closed connections got a reason`);
    assert.ok(told.every((m) => m.id === 0 && m.error.code === 'CN_TOO_MANY_CONNECTIONS'));
    assert.match(d.log(), /control: 256 connections hold nothing \(limit 256\): closed the oldest idle one, connection \d+ \(pid \d+, uid 0\), for pid \d+ uid 0/);
    // The idle ones kept and at most 256 refused ones lingering for half a second.
    assert.ok(fdCount(pid) < baseline + 600, `daemon fds ${fdCount(pid)} (baseline ${baseline})`);
    await waitFor(() => fdCount(pid) < baseline + 300, `daemon fds down to the idle ones kept (are ${fdCount(pid)}, baseline ${baseline})`, 3000);

    // A container attaches (and its port forwards) with the room kept for it.
    const b = await node(cleanup, d.socket, '10.91.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 2), 2);
    const c = await ControlClient.connect(d.socket);
    const { status } = await c.request({ op: 'status' });
    c.close();
    assert.ok(status.ports === 2 && status.clients.refused >= IDLE - 256, `refused ${status.clients.refused}`);

    // Connections that never sent a request go after the handshake timeout (10 s).
    await waitFor(() => idle.every((x) => x.closed), 'every silent connection closed', 15_000);
    assert.match(d.log(), /dropped connection \d+ \(pid \d+, uid 0\): sent no request within 10000 ms/);
    // Closed with a reason, each lingers half a second; then every fd is back (b's port holds one more).
    await waitFor(() => fdCount(pid) <= baseline + 2, `daemon fds back to ${baseline} + 2 (are ${fdCount(pid)})`, 3000);
    assert.is(d.child.exitCode, null);
  } finally {
    await cleanup.run();
  }
});

test.run();
