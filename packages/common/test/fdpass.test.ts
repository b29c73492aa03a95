import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeFd, encodeFrame, FdPoller, FrameDecoder, peerCred, recvWithFd, sendWithFd, socketFd, unixConnect, type Frame,
} from '@containet/common';

/** Accept one connection on a fresh unix socket; resolve frames read with recvmsg. */
async function withServer(fn: (path: string, frames: Promise<Frame[]>, accepted: Promise<Socket>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'cn-fdpass-'));
  const path = join(dir, 'sock');
  const poller = new FdPoller();
  let acceptResolve!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (acceptResolve = r));
  let framesResolve!: (f: Frame[]) => void;
  const frames = new Promise<Frame[]>((r) => (framesResolve = r));
  const server = createServer({ pauseOnConnect: true }, (sock) => {
    acceptResolve(sock);
    const fd = socketFd(sock);
    const decoder = new FrameDecoder(closeFd);
    const got: Frame[] = [];
    poller.add(fd, () => {
      for (;;) {
        const r = recvWithFd(fd);
        if (!r) return;
        if (r.data.length === 0) {
          poller.delete(fd);
          framesResolve(got);
          return;
        }
        got.push(...decoder.push(r.data, r.fd));
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await fn(path, frames, accepted);
  } finally {
    poller.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an fd sent with SCM_RIGHTS arrives open and usable', async () => {
  await withServer(async (path, frames) => {
    const dir = mkdtempSync(join(tmpdir(), 'cn-fdfile-'));
    const file = join(dir, 'f');
    const fileFd = openSync(file, 'w+');
    const client = unixConnect(path);
    sendWithFd(client, encodeFrame({ op: 'attach', id: 1 }), fileFd);
    sendWithFd(client, encodeFrame({ op: 'ports', id: 2 }));
    closeSync(fileFd); // the receiver's copy must stay valid on its own
    closeFd(client);
    const got = await frames;
    assert.is(got.length, 2);
    assert.equal(got[0]!.message, { op: 'attach', id: 1 });
    assert.ok(got[0]!.fd >= 0, 'first frame carries the fd');
    assert.is(got[1]!.fd, -1, 'second frame carries none');
    writeSync(got[0]!.fd, 'written through the passed fd');
    closeFd(got[0]!.fd);
    assert.is(readFileSync(file, 'utf8'), 'written through the passed fd');
    rmSync(dir, { recursive: true });
  });
});

test('SO_PEERCRED reports the connecting process', async () => {
  await withServer(async (path, _frames, accepted) => {
    const client = unixConnect(path);
    const sock = await accepted;
    const cred = peerCred(socketFd(sock));
    assert.is(cred.pid, process.pid);
    assert.is(cred.uid, process.getuid!());
    closeFd(client);
  });
});

test('connecting to a missing socket names the path and ENOENT', () => {
  try {
    unixConnect('/nonexistent/containet.sock');
    assert.unreachable();
  } catch (err) {
    const e = err as { code: string; message: string };
    assert.is(e.code, 'ENOENT');
    assert.match(e.message, 'connect(/nonexistent/containet.sock): No such file or directory');
  }
});

test.run();
