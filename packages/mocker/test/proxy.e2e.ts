/**
 * Pulling through an HTTP proxy named by HTTPS_PROXY / HTTP_PROXY, as
 * docker and skopeo do: a node proxy on 127.0.0.1 answers CONNECT (for the
 * TLS registry, certificate for registry.test) and absolute-form requests
 * (for a plain one named with --insecure). The proxy, not mocker, resolves
 * registry.test, so nothing touches the host's name resolution.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, testIf, whyMissing } from '@containet/common/testing';
import { proxyFromEnvironment } from '@containet/mocker';
import { forward, makeCertificates, pushImage, runCommand, sha, startRegistry, storedBlobs, tempDir, type CommandResult } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const skip = whyMissing('docker-registry', 'openssl');

interface Proxy {
  url: string;
  /** What reached the proxy: `CONNECT host:port` or `GET absolute-url`, with Proxy-Authorization. */
  seen: Array<{ line: string; auth: string | undefined }>;
  close(): Promise<void>;
}

/** A proxy that sends registry.test:PORT to 127.0.0.1:PORT; with `password`, it wants Basic proxy:PASSWORD. */
async function startProxy(password?: string): Promise<Proxy> {
  const seen: Proxy['seen'] = [];
  const want = password && `Basic ${Buffer.from(`proxy:${password}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    seen.push({ line: `${req.method} ${req.url}`, auth: req.headers['proxy-authorization'] });
    const url = new URL(req.url ?? '/');
    if (want && req.headers['proxy-authorization'] !== want) return void res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
    delete req.headers['proxy-authorization'];
    forward(`http://127.0.0.1:${url.port}`, req, res, `${url.pathname}${url.search}`);
  });
  server.on('connect', (req, client, head) => {
    seen.push({ line: `CONNECT ${req.url}`, auth: req.headers['proxy-authorization'] });
    if (want && req.headers['proxy-authorization'] !== want) return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
    const [host, port] = (req.url ?? '').split(':');
    if (host !== 'registry.test') return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const upstream = connect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const mocker = (args: string[], env: Record<string, string>): Promise<CommandResult> => runCommand([MOCKER, ...args], env);

testIf(test, skip, 'HTTPS_PROXY: a CONNECT tunnel with the proxy credentials from the URL, TLS end to end; a 407 is one line naming the proxy, nothing stored', async () => {
  const c = new Cleanup();
  try {
    const dir = tempDir('proxy');
    c.add('certificates', () => rmSync(dir, { recursive: true, force: true }));
    const certs = makeCertificates(dir, ['registry.test']);
    const plain = await startRegistry();
    c.add('plain registry', () => plain.stop());
    const image = await pushImage(plain.url, 'team/app', 'v1', { layers: [{ entries: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', data: 'through a proxy\n' }] }] });
    const tls = await startRegistry({ storage: join(plain.dir, 'data'), tls: certs });
    c.add('TLS registry', () => tls.stop());
    const proxy = await startProxy('s3cret');
    c.add('proxy', () => proxy.close());
    const ref = `registry.test:${tls.host.split(':')[1]}/team/app:v1`;

    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const ok = await mocker(['--store', store, 'pull', '-q', ref], { HTTPS_PROXY: proxy.url.replace('//', '//proxy:s3cret@'), NODE_EXTRA_CA_CERTS: certs.ca });
    assert.is(ok.status, 0, ok.stderr);
    assert.ok(storedBlobs(store).includes(sha(image.layerBlobs[0]!)), 'the layer is stored');
    assert.ok(proxy.seen.length > 0);
    for (const s of proxy.seen) {
      assert.is(s.line, `CONNECT ${ref.split('/')[0]}`, 'only tunnels: the proxy never sees a registry request');
      assert.is(s.auth, `Basic ${Buffer.from('proxy:s3cret').toString('base64')}`);
    }

    const denied = tempDir('store');
    c.add('store', () => rmSync(denied, { recursive: true, force: true }));
    const r = await mocker(['--store', denied, 'pull', '-q', ref], { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: certs.ca });
    assert.is(r.status, 6, r.stderr);
    assert.match(r.stderr, new RegExp(`^mocker: proxy 127\\.0\\.0\\.1:\\d+ refused a tunnel to ${ref.split('/')[0]}: 407 Proxy Authentication Required\\n`));
    assert.match(r.stderr, /HTTPS_PROXY=http:\/\/USER:PASSWORD@HOST:PORT/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(storedBlobs(denied), []);
  } finally {
    await c.run();
  }
});

testIf(test, skip, 'HTTP_PROXY: plain HTTP (--insecure) asks the proxy for the whole URL; loopback registries and NO_PROXY hosts are reached directly', async () => {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    const image = await pushImage(reg.url, 'team/plain', 'v1', { layers: [{ entries: [{ name: 'hello', data: 'plain\n' }] }] });
    const proxy = await startProxy();
    c.add('proxy', () => proxy.close());
    const port = reg.host.split(':')[1]!;
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));

    const r = await mocker(['--store', store, 'pull', '-q', '--insecure', `registry.test:${port}`, `registry.test:${port}/team/plain:v1`], { HTTP_PROXY: proxy.url });
    assert.is(r.status, 0, r.stderr);
    assert.ok(storedBlobs(store).includes(sha(image.layerBlobs[0]!)));
    assert.ok(proxy.seen.some((s) => s.line === `GET http://registry.test:${port}/v2/team/plain/manifests/v1`), JSON.stringify(proxy.seen));
    assert.ok(proxy.seen.every((s) => s.line.startsWith(`GET http://registry.test:${port}/v2/`)));

    const before = proxy.seen.length;
    const local = await mocker(['--store', store, 'pull', '-q', `${reg.host}/team/plain:v1`], { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
    assert.is(local.status, 0, local.stderr);
    assert.is(proxy.seen.length, before, 'a loopback registry is never proxied');
  } finally {
    await c.run();
  }
});

test('NO_PROXY rules as Go reads them; a proxy that is not http:// is refused by name', () => {
  const choose = proxyFromEnvironment({ HTTPS_PROXY: 'proxy.corp:3128', http_proxy: 'http://p2:8080', NO_PROXY: 'internal.example, .svc, 10.0.0.0/8, [fd00::1]:5000, registry.local:5000, *.wild' });
  const via = (u: string): string | null => choose(new URL(u))?.host ?? null;
  assert.is(via('https://registry-1.docker.io/v2/'), 'proxy.corp:3128', 'no scheme means http://');
  assert.is(via('http://plain.example/v2/'), 'p2:8080');
  assert.is(via('https://internal.example/v2/'), null, 'the name itself');
  assert.is(via('https://a.b.internal.example/v2/'), null, 'and its subdomains');
  assert.is(via('https://notinternal.example/v2/'), 'proxy.corp:3128', 'not a suffix match inside a label');
  assert.is(via('https://svc/v2/'), 'proxy.corp:3128', '.svc: subdomains only');
  assert.is(via('https://x.svc/v2/'), null);
  assert.is(via('https://10.2.3.4/v2/'), null, 'CIDR');
  assert.is(via('https://11.2.3.4/v2/'), 'proxy.corp:3128');
  assert.is(via('https://[fd00::1]:5000/v2/'), null, 'IPv6 with port');
  assert.is(via('https://[fd00::1]:5001/v2/'), 'proxy.corp:3128', 'another port');
  assert.is(via('https://registry.local:5000/v2/'), null);
  assert.is(via('https://registry.local/v2/'), 'proxy.corp:3128', 'port 443 is not 5000');
  assert.is(via('https://a.wild/v2/'), null, '*.domain as .domain');
  assert.is(via('https://localhost:5000/v2/'), null, 'loopback: never');
  assert.is(via('https://127.0.0.9/v2/'), null);
  assert.is(proxyFromEnvironment({ HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' })(new URL('https://x/')), null, '* turns proxies off');
  assert.is(proxyFromEnvironment({})(new URL('https://x/')), null);
  try {
    proxyFromEnvironment({ HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    assert.unreachable('socks5 accepted');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'MOCKER_BAD_PROXY');
    assert.match((err as Error).message, /HTTPS_PROXY=socks5:\/\/127\.0\.0\.1:1080: only http:\/\/ proxies are supported, not socks5/);
  }
});

test.run();
