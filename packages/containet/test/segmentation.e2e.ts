import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Cleanup, killAndWait, pingFrom, testIf, whyNoRoot } from '@containet/common/testing';
import { node, portInfo, startDaemon } from './helpers.js';

const XFER = fileURLToPath(new URL('./fixtures/tcp-xfer.js', import.meta.url));

interface Digest {
  bytes: number;
  sha256: string;
}

function lineOf(child: ReturnType<typeof spawn>, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        resolve(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code} before answering`)));
  });
}

/** Send `mib` MiB from namespace `from` to `to` (address `ip`), return both digests. */
async function transfer(cleanup: Cleanup, from: string, to: string, ip: string, mib: number): Promise<[Digest, Digest]> {
  const server = spawn('ip', ['netns', 'exec', to, process.execPath, XFER, 'serve', '5201'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add('tcp-xfer server', () => killAndWait(server));
  const lines = lineOf(server, 'server');
  assert.is(await lines, 'ready');
  const received = new Promise<string>((resolve) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += String(d);
      if (out.endsWith('\n')) resolve(out.trim());
    });
  });
  const client = spawn('ip', ['netns', 'exec', from, process.execPath, XFER, 'send', ip, '5201', String(mib)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup.add('tcp-xfer client', () => killAndWait(client));
  const sent = JSON.parse(await lineOf(client, 'client')) as Digest;
  const got = JSON.parse(await received) as Digest;
  return [sent, got];
}

testIf(test, whyNoRoot(), 'TCP between a vnet port and a plain port: GSO frames are segmented in software, bytes arrive intact both ways', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const v = await node(cleanup, d.socket, '10.82.0.1/24');
    const p = await node(cleanup, d.socket, '10.82.0.2/24', ['--plain']);
    assert.is(await pingFrom(v.ns, p.ip, 1), 1);
    assert.ok((await portInfo(d.socket, v.att.port))!.vnetHdr);
    assert.not.ok((await portInfo(d.socket, p.att.port))!.vnetHdr);

    const [sent, got] = await transfer(cleanup, v.ns, p.ns, p.ip, 48);
    assert.is(got.bytes, sent.bytes);
    assert.is(got.sha256, sent.sha256, 'vnet -> plain bytes intact');
    const vi = (await portInfo(d.socket, v.att.port))!.counters;
    const pi = (await portInfo(d.socket, p.att.port))!.counters;
    assert.ok(vi.rxBytes / vi.rxPackets > 3000, `the vnet side sent GSO frames (mean ${Math.round(vi.rxBytes / vi.rxPackets)} bytes)`);
    assert.ok(pi.txBytes / pi.txPackets <= 1514, 'the plain side only got wire-size frames');
    assert.is(vi.errors + pi.errors, 0);

    const [sent2, got2] = await transfer(cleanup, p.ns, v.ns, v.ip, 16);
    assert.is(got2.sha256, sent2.sha256, 'plain -> vnet bytes intact');
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot(), 'TCP between two vnet ports travels as GSO frames, bytes intact', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const a = await node(cleanup, d.socket, '10.83.0.1/24');
    const b = await node(cleanup, d.socket, '10.83.0.2/24');
    assert.is(await pingFrom(a.ns, b.ip, 1), 1);
    const [sent, got] = await transfer(cleanup, a.ns, b.ns, b.ip, 64);
    assert.is(got.sha256, sent.sha256);
    const bi = (await portInfo(d.socket, b.att.port))!.counters;
    assert.ok(bi.txBytes / bi.txPackets > 3000, 'written to the receiver as GSO frames');
  } finally {
    await cleanup.run();
  }
});

test.run();
