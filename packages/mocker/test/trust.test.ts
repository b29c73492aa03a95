import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { chooseSystemStore } from '../src/registry/trust.js';

const debianStore = existsSync('/etc/ssl/certs/ca-certificates.crt') && readdirSync('/etc/ssl/certs').some((n) => /^[0-9a-f]{8}\.\d+$/.test(n));

test('a SSL_CERT_DIR or SSL_CERT_FILE the user set is kept as it is', () => {
  const env: NodeJS.ProcessEnv = { SSL_CERT_DIR: '/srv/certs', SSL_CERT_FILE: '/srv/ca.pem' };
  assert.equal(chooseSystemStore(env), { store: 'environment' });
  assert.equal(env, { SSL_CERT_DIR: '/srv/certs', SSL_CERT_FILE: '/srv/ca.pem' });
  const fileOnly: NodeJS.ProcessEnv = { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' };
  assert.equal(chooseSystemStore(fileOnly), { store: 'environment' }, 'a bundle without its directory named is read as a file');
  assert.equal(fileOnly, { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' });
});

test("the distribution's bundle named beside its own hashed directory is read through the directory alone", () => {
  if (!debianStore) return console.log('  (skipped: no Debian CA store on this machine)');
  const env: NodeJS.ProcessEnv = { SSL_CERT_DIR: '/etc/ssl/certs', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' };
  assert.equal(chooseSystemStore(env), { store: 'system directory', dir: '/etc/ssl/certs' });
  assert.equal(env, { SSL_CERT_DIR: '/etc/ssl/certs', SSL_CERT_FILE: '' });
});

test('with nothing set, the first hashed directory found, and no bundle file parsed whole', () => {
  if (!debianStore) return console.log('  (skipped: no Debian CA store on this machine)');
  const env: NodeJS.ProcessEnv = {};
  assert.equal(chooseSystemStore(env), { store: 'system directory', dir: '/etc/ssl/certs' });
  assert.equal(env, { SSL_CERT_DIR: '/etc/ssl/certs', SSL_CERT_FILE: '' });
});

test.run();
