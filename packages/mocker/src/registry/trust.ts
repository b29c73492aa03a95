/**
 * The certificate authorities HTTPS registries are checked against.
 *
 * Run through its launcher (bin/mocker.cjs, `node --use-openssl-ca`),
 * mocker trusts the system's CA store as skopeo, podman, docker and curl
 * do, so a CA an administrator added with update-ca-certificates counts:
 * OpenSSL's hashed directory (/etc/ssl/certs on Debian), from which only
 * the issuer a handshake needs is read. Node's own store, 140 built-in
 * roots, is parsed whole the first time any TLS context is made: 30-45 ms
 * of CPU before the first connection of every HTTPS pull (more than
 * skopeo's whole start). SSL_CERT_DIR and SSL_CERT_FILE, when set, say
 * where the store is, as for OpenSSL and Go; a system with no hashed
 * directory gets its CA bundle file (parsed whole), and one with neither
 * gets Node's built-in roots. Run as `node mocker.cjs`, Node's built-in
 * roots are used, as for any Node program.
 *
 * Either way the PEM file NODE_EXTRA_CA_CERTS names is trusted as well.
 * The launcher moves that variable to CONTAINET_EXTRA_CA_CERTS before Node
 * starts, because Node parses the file at start-up for every run (85 ms for
 * Debian's 220 KB bundle on the reference machine), while most pulls (local
 * registries) never open a TLS connection. The file is read here, on the
 * first HTTPS request, instead. Started without the launcher, Node has
 * loaded the file itself and this adds nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { SecureContext } from 'node:tls';

/** Where Linux distributions keep an OpenSSL hashed CA directory (Go's list, and Fedora's extracted one). */
const CERT_DIRS = ['/etc/ssl/certs', '/etc/pki/ca-trust/extracted/pem/directory-hash', '/etc/pki/tls/certs', '/system/etc/security/cacerts'];
/** Where they keep the same CAs as one PEM bundle (Go's list). */
const CERT_FILES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];
/** An OpenSSL subject-hash name (`openssl rehash`): 8 hex digits, a dot, a counter. */
const HASH_NAME = /^[0-9a-f]{8}\.\d+$/;

function hasHashedCerts(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => HASH_NAME.test(name));
  } catch {
    return false;
  }
}

export interface TrustChoice {
  store: 'environment' | 'system directory' | 'system file' | 'node';
  /** The hashed directory read alone, lazily, when there is one. */
  dir?: string;
}

/**
 * Whether `file` is the bundle a distribution keeps inside the hashed
 * directory `dir` (/etc/ssl/certs/ca-certificates.crt): update-ca-certificates
 * writes it and links each of its certificates there by hash in one run, so
 * the directory already holds every certificate of it, found on demand
 * where the file would be parsed whole (40 ms for Debian's).
 */
function isBundleOf(file: string, dir: string): boolean {
  return CERT_FILES.includes(file) && dirname(file) === dir;
}

/**
 * Point OpenSSL at the system's store before the first context reads it
 * (OpenSSL reads SSL_CERT_DIR and SSL_CERT_FILE whenever it makes a store):
 * the hashed directory alone where there is one, SSL_CERT_FILE set empty so
 * that a bundle file, parsed whole, is not read as well. Variables the user
 * set are kept, except a SSL_CERT_FILE that is SSL_CERT_DIR's own bundle.
 */
export function chooseSystemStore(env: NodeJS.ProcessEnv = process.env): TrustChoice {
  const envDir = env['SSL_CERT_DIR'];
  const envFile = env['SSL_CERT_FILE'];
  if (envDir !== undefined || envFile !== undefined) {
    if (envDir && envFile && isBundleOf(envFile, envDir) && hasHashedCerts(envDir)) {
      env['SSL_CERT_FILE'] = '';
      return { store: 'system directory', dir: envDir };
    }
    return { store: 'environment' };
  }
  const dir = CERT_DIRS.find(hasHashedCerts);
  if (dir) {
    env['SSL_CERT_DIR'] = dir;
    env['SSL_CERT_FILE'] = '';
    return { store: 'system directory', dir };
  }
  const file = CERT_FILES.find((f) => existsSync(f));
  if (file) {
    env['SSL_CERT_FILE'] = file;
    env['SSL_CERT_DIR'] = '';
    return { store: 'system file' };
  }
  return { store: 'node' };
}

let cached: SecureContext | undefined | null = null;

/**
 * The TLS context every HTTPS connection shares, or undefined for Node's
 * defaults. Made once: given as `ca` strings to each connection, the
 * certificates were parsed again for every one (28 ms each), which made a
 * 49 MB pull over HTTPS take 628 ms instead of 436.
 */
export function secureContext(): SecureContext | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  // node:tls on demand, as the TLS connection that asks for this loads it.
  const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
  const systemStore = process.execArgv.includes('--use-openssl-ca');
  const choice: TrustChoice = systemStore ? chooseSystemStore() : { store: 'node' };
  const file = process.env['CONTAINET_EXTRA_CA_CERTS'];
  let extra: string | undefined;
  try {
    // The system's own bundle as NODE_EXTRA_CA_CERTS (as some environments
    // set it) adds nothing to the directory that is being read.
    if (file && !(choice.dir && isBundleOf(file, choice.dir))) extra = readFileSync(file, 'utf8');
  } catch (err) {
    // Node's own behaviour for an unreadable NODE_EXTRA_CA_CERTS: warn, go on with the other roots.
    process.stderr.write(`mocker: warning: ignoring extra CA certificates from ${file} (NODE_EXTRA_CA_CERTS): ${(err as Error).message}\n`);
  }
  if (systemStore && choice.store === 'node') {
    // No system store to point OpenSSL at: Node's built-in roots, added by hand.
    cached = tls.createSecureContext({ ca: extra ? [...tls.rootCertificates, extra] : [...tls.rootCertificates] });
    return cached;
  }
  if (!extra && !systemStore) return cached;
  // The roots are in the context's store already (parsed, or a lazy
  // directory); adding one file to it costs about a millisecond, where
  // `ca: [...rootCertificates, pem]` parses all 140 again (28 ms).
  const ctx = tls.createSecureContext();
  if (!extra) return (cached = ctx);
  const native = ctx.context as { addCACert?: (pem: string) => void } | undefined;
  if (typeof native?.addCACert === 'function') {
    native.addCACert(extra);
    cached = ctx;
  } else cached = tls.createSecureContext({ ca: [...tls.rootCertificates, extra] });
  return cached;
}
