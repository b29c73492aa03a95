import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { parsePublish, startPortProxy } from '../src/publish/index.js';

test('-p forms as docker writes them', () => {
  assert.equal(parsePublish('8080:80'), { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' });
  assert.equal(parsePublish('127.0.0.1:5353:53/udp'), { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, proto: 'udp' });
  for (const bad of ['80', '0:80', '8080:70000', '8080:80/sctp', 'a:b', '1.2.3:80:80', '8080:80/tcp/x']) {
    assert.throws(() => parsePublish(bad), (e: { code: string }) => e.code === 'CN_USAGE', bad);
  }
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

test('a published TCP port relays a request and its reply byte for byte', async () => {
  const backend = createServer((c) => c.on('data', (d) => c.end(Buffer.concat([Buffer.from('echo:'), d]))));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const hostPort = await freePort();
  const proxy = await startPortProxy({ hostIp: '127.0.0.1', hostPort, containerPort: (backend.address() as AddressInfo).port, proto: 'tcp' }, '127.0.0.1');
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect(hostPort, '127.0.0.1', () => c.write('hello'));
      let got = '';
      c.on('data', (d) => (got += d)).on('end', () => resolve(got)).on('error', reject);
    });
    assert.is(reply, 'echo:hello');
  } finally {
    await proxy.close();
    await proxy.close(); // twice is safe
    backend.close();
  }
});

test('a published UDP port relays datagrams both ways', async () => {
  const backend = createSocket('udp4');
  backend.on('message', (m, from) => backend.send(Buffer.concat([Buffer.from('pong:'), m]), from.port, from.address));
  await new Promise<void>((r) => backend.bind(0, '127.0.0.1', r));
  const hostPort = await freePort();
  const proxy = await startPortProxy({ hostIp: '127.0.0.1', hostPort, containerPort: backend.address().port, proto: 'udp' }, '127.0.0.1');
  const client = createSocket('udp4');
  try {
    const reply = await new Promise<string>((resolve) => {
      client.on('message', (m) => resolve(String(m)));
      client.send('ping', hostPort, '127.0.0.1');
    });
    assert.is(reply, 'pong:ping');
  } finally {
    client.close();
    await proxy.close();
    backend.close();
  }
});

test('publishing a port that is taken fails with a clear error', async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as AddressInfo).port;
  try {
    await startPortProxy({ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, proto: 'tcp' }, '127.0.0.1');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code: string }).code, 'CN_PUBLISH_BIND');
    assert.match((err as Error).message, `127.0.0.1:${port}/tcp: EADDRINUSE`);
  } finally {
    busy.close();
  }
});

test.run();
