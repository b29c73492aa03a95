/**
 * mocker's error codes and exit statuses (documented in the README):
 *   1 other failures (I/O, a bad store)         2 usage (bad option, reference)
 *   3 not found (manifest, blob, local image)   4 authentication or permission
 *   5 verification (digest, size, unsupported)  6 network, registry down, rate limit
 */
import { ContainetError } from '@containet/common';

export const EXIT = { failure: 1, usage: 2, notFound: 3, auth: 4, verify: 5, network: 6 } as const;

export interface HttpExchange {
  request: { method: string; url: string; headers: Record<string, string> };
  response?: { status: number; headers: Record<string, string>; body?: string };
}

/**
 * A registry or transport failure. It carries the request and the response
 * (as pnpm's FetchError does) with credentials and signed URLs redacted, so
 * it can be printed or logged as it is.
 */
export class RegistryError extends ContainetError {
  readonly exchange: HttpExchange | undefined;
  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; exitCode: number; exchange?: HttpExchange }) {
    super(code, message, opts);
    this.name = 'RegistryError';
    this.exchange = opts.exchange;
  }
}

const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-registry-auth)$/i;
const SECRET_PARAM = /sig|token|key|credential|auth|password|secret|expires|policy/i;

export function redactHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const s = Array.isArray(v) ? v.join(', ') : String(v);
    if (!SECRET_HEADER.test(k)) out[k.toLowerCase()] = s;
    else out[k.toLowerCase()] = /^\S+\s/.test(s) ? `${s.split(/\s/)[0]} [redacted]` : '[redacted]';
  }
  return out;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, 'redacted');
    return u.toString();
  } catch {
    return '[unparsable url]';
  }
}
