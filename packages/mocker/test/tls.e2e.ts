/**
 * Pulling over HTTPS from a real registry (docker-registry with a
 * certificate from a CA the test makes, for the name registry.test).
 * Registries on loopback addresses are always spoken to in plain HTTP, so
 * each mocker runs in its own mount namespace (`unshare -m`) where a private
 * /etc/hosts names registry.test 127.0.0.1; the host's file is untouched.
 * The same image is pushed to a plain registry sharing the storage.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, testIf, whyMissing, whyNoRoot } from '@containet/common/testing';
import { makeCertificates, pushImage, runCommand, sha, startRegistry, storedBlobs, tempDir, type CommandResult, type PushedImage, type Registry } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const skip = whyNoRoot() ?? whyMissing('docker-registry', 'openssl', 'unshare');

interface Setup {
  tls: Registry;
  image: PushedImage;
  ca: string;
  hosts: string;
  port: string;
}

async function setUp(c: Cleanup): Promise<Setup> {
  const dir = tempDir('tls');
  c.add('certificates', () => rmSync(dir, { recursive: true, force: true }));
  const certs = makeCertificates(dir, ['registry.test']);
  const plain = await startRegistry();
  c.add('plain registry', () => plain.stop());
  const image = await pushImage(plain.url, 'team/secure', 'v1', { layers: [{ entries: [{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', data: 'over TLS\n' }] }] });
  const tls = await startRegistry({ storage: join(plain.dir, 'data'), tls: { cert: certs.cert, key: certs.key, ca: certs.ca } });
  c.add('TLS registry', () => tls.stop());
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost\n127.0.0.1 registry.test\n');
  return { tls, image, ca: certs.ca, hosts, port: tls.host.split(':')[1]! };
}

/**
 * `mocker ARGS` in a private mount namespace with `hosts` as /etc/hosts;
 * `direct`: through its launcher (the shebang line, as a user runs it),
 * else as `node mocker.cjs`.
 */
function mockerWithHosts(hosts: string, args: string[], env: Record<string, string | undefined>, direct: boolean): Promise<CommandResult> {
  const cmd = direct ? [MOCKER, ...args] : [process.execPath, MOCKER, ...args];
  return runCommand(['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts, ...cmd], env);
}

testIf(test, skip, 'HTTPS pull: the CA in NODE_EXTRA_CA_CERTS is trusted, through the launcher and through node; without it the certificate is refused and nothing is stored', async () => {
  const c = new Cleanup();
  try {
    const s = await setUp(c);
    const ref = `registry.test:${s.port}/team/secure:v1`;
    for (const direct of [true, false]) {
      const store = tempDir('store');
      c.add('store', () => rmSync(store, { recursive: true, force: true }));
      const r = await mockerWithHosts(s.hosts, ['--store', store, 'pull', '-q', ref], { NODE_EXTRA_CA_CERTS: s.ca }, direct);
      assert.is(r.status, 0, `${direct ? 'launcher' : 'node'}: ${r.stderr}`);
      assert.is(r.stdout.trim(), ref);
      const layer = s.image.layerBlobs[0]!;
      assert.ok(storedBlobs(store).includes(sha(layer)), 'the layer is in the store');
      assert.equal(readFileSync(join(store, 'blobs/sha256', sha(layer).slice(7))), layer);
    }

    // No CA for it: Node's roots do not know the test CA.
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const bad = await mockerWithHosts(s.hosts, ['--store', store, 'pull', ref], { NODE_EXTRA_CA_CERTS: undefined }, true);
    assert.is(bad.status, 6, bad.stderr);
    assert.match(bad.stderr, `mocker: cannot reach registry.test:${s.port}`);
    assert.match(bad.stderr, 'NODE_EXTRA_CA_CERTS');
    assert.not.match(bad.stderr, /\n\s+at /);
    assert.equal(storedBlobs(store), [], 'nothing stored');
  } finally {
    await c.run();
  }
});

testIf(test, skip, "HTTPS pull through the launcher: a CA in the system's hashed directory (SSL_CERT_DIR, as update-ca-certificates links it) is trusted with no NODE_EXTRA_CA_CERTS; the same directory without it refuses the certificate and stores nothing", async () => {
  const c = new Cleanup();
  try {
    const s = await setUp(c);
    const ref = `registry.test:${s.port}/team/secure:v1`;
    const hashed = tempDir('certs');
    const empty = tempDir('certs');
    c.add('certificate directories', () => [hashed, empty].forEach((d) => rmSync(d, { recursive: true, force: true })));
    writeFileSync(join(hashed, 'test-ca.pem'), readFileSync(s.ca));
    const rehash = await runCommand(['openssl', 'rehash', hashed]);
    assert.is(rehash.status, 0, rehash.stderr);
    // Another CA, linked by hash, with the test CA's very name: a store that
    // lacks the test CA, where the issuer looked up by name does not verify.
    mkdirSync(join(empty, 'make'));
    const other = makeCertificates(join(empty, 'make'), ['elsewhere.test']);
    writeFileSync(join(empty, 'other-ca.pem'), readFileSync(other.ca));
    rmSync(join(empty, 'make'), { recursive: true, force: true });
    assert.is((await runCommand(['openssl', 'rehash', empty])).status, 0);

    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const ok = await mockerWithHosts(s.hosts, ['--store', store, 'pull', '-q', ref], { NODE_EXTRA_CA_CERTS: undefined, SSL_CERT_FILE: undefined, SSL_CERT_DIR: hashed }, true);
    assert.is(ok.status, 0, ok.stderr);
    assert.ok(storedBlobs(store).includes(sha(s.image.layerBlobs[0]!)), 'the layer is in the store');

    const none = tempDir('store');
    c.add('store', () => rmSync(none, { recursive: true, force: true }));
    const bad = await mockerWithHosts(s.hosts, ['--store', none, 'pull', ref], { NODE_EXTRA_CA_CERTS: undefined, SSL_CERT_FILE: undefined, SSL_CERT_DIR: empty }, true);
    assert.is(bad.status, 6, bad.stderr);
    assert.match(bad.stderr, 'does not verify');
    assert.match(bad.stderr, 'update-ca-certificates');
    assert.equal(storedBlobs(none), [], 'nothing stored');
  } finally {
    await c.run();
  }
});

testIf(test, skip, 'HTTPS pull: a name with two addresses is reached through the one that answers (::1 refuses), and a certificate for another name is refused whatever address was dialled', async () => {
  const c = new Cleanup();
  try {
    const s = await setUp(c);
    // ::1 first: the registry listens on 127.0.0.1 only, so the first try is refused.
    const hosts = `${s.hosts}.two`;
    writeFileSync(hosts, '127.0.0.1 localhost\n::1 registry.test\n127.0.0.1 registry.test\n127.0.0.1 other.test\n');
    c.add('hosts', () => rmSync(hosts, { force: true }));
    const store = tempDir('store');
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const ref = `registry.test:${s.port}/team/secure:v1`;
    const r = await mockerWithHosts(hosts, ['--store', store, 'pull', '-q', ref], { NODE_EXTRA_CA_CERTS: s.ca }, true);
    assert.is(r.status, 0, r.stderr);
    assert.ok(storedBlobs(store).includes(sha(s.image.layerBlobs[0]!)), 'the layer is in the store');

    // other.test is 127.0.0.1 too, but the certificate names registry.test only.
    const other = tempDir('store');
    c.add('store', () => rmSync(other, { recursive: true, force: true }));
    const bad = await mockerWithHosts(hosts, ['--store', other, 'pull', `other.test:${s.port}/team/secure:v1`], { NODE_EXTRA_CA_CERTS: s.ca }, true);
    assert.is(bad.status, 6, bad.stderr);
    assert.match(bad.stderr, `mocker: cannot reach other.test:${s.port}`);
    assert.match(bad.stderr, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(storedBlobs(other), [], 'nothing stored');
  } finally {
    await c.run();
  }
});

test.run();
