/**
 * ControlClient against a scripted daemon on a unix socket: a listing in
 * parts comes back whole, a reply of the wrong shape is a CN_PROTO_* error,
 * a refusal (an error frame with id 0) fails connect with its reason, and
 * a socket the peer may not open says who may.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ControlClient, FrameDecoder, closeFd, encodeFrame } from '@containet/common';
import { testIf, whyNoRoot } from '@containet/common/testing';

let counter = 0;

/** A server answering each request with `answer(request)`'s frames. */
async function scripted(answer: (req: { op: string; id: number }, sock: Socket) => unknown[]): Promise<{ path: string; server: Server }> {
  const path = join(tmpdir(), `cn-cc-${process.pid}-${++counter}.sock`);
  rmSync(path, { force: true });
  const server = createServer((sock) => {
    const decoder = new FrameDecoder(closeFd);
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      for (const { message } of decoder.push(chunk)) for (const out of answer(message as { op: string; id: number }, sock)) sock.write(encodeFrame(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, server };
}

function close(s: { path: string; server: Server }): Promise<void> {
  return new Promise((resolve) => s.server.close(() => resolve()));
}

const hello = (id: number) => ({ id, ok: true, version: 2, pid: 1 });

test('a listing in parts comes back whole', async () => {
  const entry = (n: number) => ({ mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`, port: 1, age: 0 });
  const s = await scripted((req) =>
    req.op === 'hello'
      ? [hello(req.id)]
      : [
          { id: req.id, ok: true, more: true, macs: [entry(1), entry(2)] },
          { id: req.id, ok: true, more: true, macs: [] },
          { id: req.id, ok: true, macs: [entry(3)] },
        ],
  );
  try {
    const c = await ControlClient.connect(s.path);
    const { macs } = await c.request({ op: 'macs' });
    assert.equal(macs.map((m) => m.mac), ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03']);
    c.close();
  } finally {
    await close(s);
  }
});

test('a reply of the wrong shape is a CN_PROTO_INVALID error naming the field', async () => {
  const s = await scripted((req) => (req.op === 'hello' ? [hello(req.id)] : [{ id: req.id, ok: true, port: 'one', node: 'n' }]));
  try {
    const c = await ControlClient.connect(s.path);
    await c.request({ op: 'detach', port: 1 }).then(
      () => assert.unreachable('must fail'),
      (err: { code: string; message: string }) => {
        assert.is(err.code, 'CN_PROTO_INVALID');
        assert.is(err.message, 'detach.port must be a whole number');
      },
    );
    c.close();
  } finally {
    await close(s);
  }
});

test('a refusal fails connect with the daemon\'s reason', async () => {
  const s = await scripted((_req, sock) => {
    sock.end(encodeFrame({ id: 0, ok: false, error: { code: 'CN_TOO_MANY_CONNECTIONS', message: 'too many', hint: 'close some' } }));
    return [];
  });
  try {
    await ControlClient.connect(s.path).then(
      () => assert.unreachable('must fail'),
      (err: { code: string; message: string; hint?: string }) => {
        assert.is(err.code, 'CN_TOO_MANY_CONNECTIONS');
        assert.is(err.hint, 'close some');
      },
    );
  } finally {
    await close(s);
  }
});

testIf(test, whyNoRoot(), 'a socket another user may not open: the client says it is root-only', async () => {
  const s = await scripted((req) => [hello(req.id)]);
  try {
    chmodSync(s.path, 0o600);
    const script = `import('${new URL('../src/index.js', import.meta.url).href}').then(({ ControlClient }) => ControlClient.connect(process.argv[1]).then(() => console.log('connected'), (e) => console.log(e.code + ' ' + e.message)))`;
    const r = spawnSync(process.execPath, ['-e', script, s.path], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.is(r.stdout.trim(), `CN_PERMISSION ${s.path} is root-only; start containet with --group GROUP to allow a group`, r.stderr);
  } finally {
    await close(s);
  }
});

test.run();
