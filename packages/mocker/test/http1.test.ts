/**
 * The HTTP/1.1 client under RegistryClient, against raw TCP servers on
 * 127.0.0.1 that write exactly the bytes each test needs: every body framing
 * split at awkward places, interim responses, connection reuse, malformed
 * answers, silence, abort and a header that would smuggle a field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, type ClientOptions } from '@containet/mocker';
import { Http1Client } from '../src/registry/http1.js';
import { makeCertificates } from './fixtures.js';

interface RawServer {
  host: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received so far. */
  requests: string[];
  close(): Promise<void>;
}

/** A server that hands each request head (of any connection) to `answer`. */
async function rawServer(answer: (sock: Socket, path: string) => void | Promise<void>): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, requests: [] as string[] };
  const server = createServer((sock) => {
    state.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    let chain = Promise.resolve();
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        state.requests.push(head);
        const path = head.split(' ')[1] ?? '';
        chain = chain.then(() => answer(sock, path));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const client = (host: string, opts: ClientOptions = {}) => new RegistryClient(host, { attempts: 1, backoffMs: 10, ...opts });
const get = async (c: RegistryClient, path: string): Promise<Buffer> => {
  const res = await c.request(path, { scope: '', what: path });
  return res.body.read(64 << 20, () => new Error('too big'));
};

/** Write `data` in pieces of random sizes with a pause between them, so the reader sees every split. */
async function dribble(sock: Socket, data: Buffer, maxPiece: number): Promise<void> {
  for (let off = 0; off < data.length; ) {
    const n = 1 + Math.floor(Math.random() * maxPiece);
    sock.write(data.subarray(off, off + n));
    off += n;
    await sleep(1);
  }
}

function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < body.length; ) {
    const n = Math.min(body.length - off, 1 + Math.floor(Math.random() * 200_000));
    parts.push(Buffer.from(`${n.toString(16)}${off % 2 ? ';ext="x"' : ''}\r\n`), body.subarray(off, off + n), Buffer.from('\r\n'));
    off += n;
  }
  parts.push(Buffer.from('0\r\nx-trailer: 1\r\n\r\n'));
  return Buffer.concat(parts);
}

test('bodies by Content-Length, chunked coding and connection close arrive intact, however split; 1xx skipped; one connection serves them in turn', async () => {
  const big = randomBytes(3 << 20);
  const server = await rawServer(async (sock, path) => {
    if (path === '/v2/len') sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n`), big]));
    if (path === '/v2/chunked') await dribble(sock, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunked(big)]), 300_000);
    if (path === '/v2/split') await dribble(sock, Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello'), 3);
    if (path === '/v2/interim') sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    if (path === '/v2/close') sock.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), big]));
  });
  const c = client(server.host);
  try {
    assert.is(sha(await get(c, '/v2/len')), sha(big));
    assert.is(sha(await get(c, '/v2/chunked')), sha(big));
    assert.is((await get(c, '/v2/split')).toString(), 'hello');
    assert.is((await get(c, '/v2/interim')).toString(), 'ok');
    assert.is(server.connections, 1, 'keep-alive: one connection for four responses');
    assert.is(sha(await get(c, '/v2/close')), sha(big));
    // The close-delimited body ended its connection; the next request opens another.
    assert.is(sha(await get(c, '/v2/len')), sha(big));
    assert.is(server.connections, 2);
    // A consumer that pauses after every piece still gets every byte, in order.
    const res = await c.request('/v2/chunked', { scope: '', what: 'chunked' });
    const h = createHash('sha256');
    await res.body.consume((view) => {
      h.update(view);
      res.body.pause();
      setTimeout(() => res.body.resume(), 2);
    });
    assert.is(h.digest('hex'), sha(big));
  } finally {
    c.close();
    await server.close();
  }
});

test('a connection the server closed while idle is not used again', async () => {
  const server = await rawServer((sock) => {
    sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    setTimeout(() => sock.destroy(), 20);
  });
  const c = client(server.host);
  try {
    assert.is((await get(c, '/v2/a')).toString(), 'ok');
    await sleep(100);
    assert.is((await get(c, '/v2/b')).toString(), 'ok');
    assert.is(server.connections, 2);
  } finally {
    c.close();
    await server.close();
  }
});

test('malformed answers fail the request with what was wrong, instead of hanging or being misread', async () => {
  const server = await rawServer((sock, path) => {
    if (path === '/v2/ssh') sock.write('SSH-2.0-OpenSSH_9.2\r\n\r\n');
    if (path === '/v2/two-lengths') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!');
    if (path === '/v2/bad-chunk') sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    if (path === '/v2/bad-header') sock.write('HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n');
    if (path === '/v2/huge-head') sock.write(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(70_000)}`);
    if (path === '/v2/extra') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil');
    if (path === '/v2/big') sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`);
    if (path === '/v2/short') sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this');
  });
  const c = client(server.host);
  const failure = async (path: string): Promise<Error & { code?: string }> => {
    try {
      await get(c, path);
    } catch (err) {
      return err as Error & { code?: string };
    }
    throw new Error(`${path} did not fail`);
  };
  try {
    assert.match((await failure('/v2/ssh')).message, /did not answer in HTTP\/1\.1/);
    assert.match((await failure('/v2/two-lengths')).message, /bad Content-Length/);
    assert.match((await failure('/v2/bad-chunk')).message, /bad chunk size/);
    assert.match((await failure('/v2/bad-header')).message, /malformed header line/);
    assert.match((await failure('/v2/huge-head')).message, /response head .* is larger than/);
    // Bytes after a complete response: that response is good, the connection is not trusted again.
    const before = server.connections;
    assert.is((await get(c, '/v2/extra')).toString(), 'ok');
    assert.is((await get(c, '/v2/big')).length, 100);
    assert.is(server.connections, before + 2);
    const res = await c.request('/v2/big', { scope: '', what: 'big' });
    const tooBig = await res.body.read(10, () => Object.assign(new Error('over the limit'), { code: 'TOO_BIG' })).catch((e: Error) => e);
    assert.is((tooBig as Error & { code?: string }).code, 'TOO_BIG');
    const short = await c.request('/v2/short', { scope: '', what: 'short' });
    const cut = await short.body.read(1000, () => new Error('too big')).catch((e: Error & { code?: string }) => e);
    assert.is((cut as Error & { code?: string }).code, 'MOCKER_SHORT_BODY');
  } finally {
    c.close();
    await server.close();
  }
});

test('silence fails the request after the timeout; an abort ends a body in flight', async () => {
  const server = await rawServer((sock, path) => {
    if (path === '/v2/stall') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npart of it');
  });
  const quiet = client(server.host, { timeoutMs: 300 });
  const ac = new AbortController();
  const abortable = client(server.host, { signal: ac.signal });
  try {
    const t = Date.now();
    const err = (await get(quiet, '/v2/silent').catch((e: Error) => e)) as Error & { code?: string };
    assert.is(err.code, 'MOCKER_NETWORK');
    assert.match(err.message, /no data from 127\.0\.0\.1:\d+ for 0\.3 s/);
    assert.ok(Date.now() - t < 3000);
    const res = await abortable.request('/v2/stall', { scope: '', what: 'stall' });
    setTimeout(() => ac.abort(), 50);
    const aborted = (await res.body.read(2000, () => new Error('too big')).catch((e: Error) => e)) as Error;
    assert.is(aborted.name, 'AbortError');
  } finally {
    quiet.close();
    abortable.close();
    await server.close();
  }
});

test('a header value with a line break is refused before anything is sent', async () => {
  const server = await rawServer((sock) => void sock.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  const c = client(server.host);
  try {
    const err = (await c.request('/v2/x', { scope: '', what: 'x', headers: { 'x-token': 'abc\r\nx-evil: 1' } }).catch((e: Error) => e)) as Error & { code?: string };
    assert.is(err.code, 'MOCKER_BAD_HEADER');
    await sleep(50);
    assert.is(server.requests.length, 0);
  } finally {
    c.close();
    await server.close();
  }
});

test('HTTPS: a new connection to an origin resumes the TLS session an earlier one got (no full handshake per parallel layer)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mocker-tls-'));
  try {
    const c = makeCertificates(dir, ['localhost']);
    const resumed: boolean[] = [];
    const srv = createHttpsServer({ cert: readFileSync(c.cert), key: readFileSync(c.key) }, (_req, res) => res.end('hello'));
    srv.on('secureConnection', (s) => resumed.push(s.isSessionReused()));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const ctx = createSecureContext({ ca: readFileSync(c.ca) });
    const client = new Http1Client({ timeoutMs: 5000, secureContext: () => ctx });
    const get = async (): Promise<string> => {
      const r = await client.request({ method: 'GET', url: new URL(`https://localhost:${port}/`), headers: {} });
      return (await r.read(1000, () => new Error('too big'))).toString();
    };
    try {
      assert.is(await get(), 'hello');
      assert.equal(await Promise.all([get(), get(), get()]), ['hello', 'hello', 'hello']);
    } finally {
      client.close();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
    assert.equal(resumed, [false, true, true], 'the first connection negotiates, the two opened for the parallel requests resume');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
