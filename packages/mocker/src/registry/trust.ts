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

let cached: string[] | undefined | null = null;

/** The `ca` option for an https.Agent, or undefined for Node's defaults. */
export function certificateAuthorities(): string[] | undefined {
  if (cached !== null) return cached;
  const file = process.env['CONTAINET_EXTRA_CA_CERTS'];
  cached = undefined;
  if (!file) return cached;
  try {
    // node:tls on demand, as the TLS connection that asks for this loads it.
    const { rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
    cached = [...rootCertificates, readFileSync(file, 'utf8')];
  } catch (err) {
    // Node's own behaviour for an unreadable NODE_EXTRA_CA_CERTS: warn, go on with the built-in roots.
    process.stderr.write(`mocker: warning: ignoring extra CA certificates from ${file} (NODE_EXTRA_CA_CERTS): ${(err as Error).message}\n`);
  }
  return cached;
}
