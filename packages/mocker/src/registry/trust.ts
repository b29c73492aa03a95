/**
 * The certificate authorities HTTPS registries are checked against: Node's
 * built-in roots plus the PEM file NODE_EXTRA_CA_CERTS names, as Node itself
 * does. mocker's launcher (bin/mocker.cjs) moves that variable to
 * CONTAINET_EXTRA_CA_CERTS before Node starts, because Node parses the file
 * at start-up for every run (85 ms for Debian's 220 KB bundle on the
 * reference machine), while most pulls (local registries) never open a TLS
 * connection. The file is read here, on the first HTTPS request, instead.
 * Started without the launcher (`node mocker.cjs`), Node has loaded the
 * file itself and this adds nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SecureContext } from 'node:tls';

let cached: SecureContext | undefined | null = null;

/**
 * The TLS context every HTTPS connection shares, or undefined for Node's
 * defaults. Made once: given as `ca` strings to each connection, the
 * certificates were parsed again for every one (28 ms each), which made a
 * 49 MB pull over HTTPS take 628 ms instead of 436.
 */
export function secureContext(): SecureContext | undefined {
  if (cached !== null) return cached;
  const file = process.env['CONTAINET_EXTRA_CA_CERTS'];
  cached = undefined;
  if (!file) return cached;
  try {
    // node:tls on demand, as the TLS connection that asks for this loads it.
    const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
    const pem = readFileSync(file, 'utf8');
    // Node's roots are kept parsed; adding to a context that starts from
    // them costs 0.7 ms for one certificate, where `ca: [...rootCertificates,
    // pem]` parses all 140 again (28 ms).
    const ctx = tls.createSecureContext();
    const native = ctx.context as { addCACert?: (pem: string) => void } | undefined;
    if (typeof native?.addCACert === 'function') {
      native.addCACert(pem);
      cached = ctx;
    } else cached = tls.createSecureContext({ ca: [...tls.rootCertificates, pem] });
  } catch (err) {
    // Node's own behaviour for an unreadable NODE_EXTRA_CA_CERTS: warn, go on with the built-in roots.
    process.stderr.write(`mocker: warning: ignoring extra CA certificates from ${file} (NODE_EXTRA_CA_CERTS): ${(err as Error).message}\n`);
  }
  return cached;
}
