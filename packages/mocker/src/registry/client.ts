/**
 * A client for one registry (distribution spec v2, "OCI Distribution
 * Specification" §"Pulling"). It answers the 401 challenge (RFC 7235) with a
 * bearer token from the realm it names (Docker's token spec) or with Basic
 * credentials, follows redirects itself so Authorization never reaches
 * another host, and retries transient failures with backoff.
 */
import { ContainetError } from '@containet/common';
import { EXIT, RegistryError, redactHeaders, redactUrl, type HttpExchange } from '../errors.js';
import { apiHost, isLoopbackHost } from '../reference.js';
import type { Credentials } from './credentials.js';
import { Http1Client, type HttpHeaders, type HttpMethod, type HttpResponse, type RequestBody } from './http1.js';
import { secureContext } from './trust.js';
import { proxyFromEnvironment } from './proxy.js';
import { backoffDelay, retryAfterMs, MAX_RETRY_AFTER_MS, type RetryListener } from './retry.js';

export interface ClientOptions {
  /** Plain HTTP to this registry (loopback registries get it anyway). */
  insecure?: boolean;
  credentials?: Credentials | null;
  /** Attempts for a transient failure (connection reset, 5xx); default 4. */
  attempts?: number;
  /** First backoff delay, doubled each attempt; default 250 ms. */
  backoffMs?: number;
  /** A socket idle this long fails the request; default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type ResponseBody = Pick<HttpResponse, 'consume' | 'hold' | 'release' | 'read' | 'discard' | 'pause' | 'resume' | 'destroy'>;

export interface RegistryResponse {
  status: number;
  statusMessage: string;
  headers: HttpHeaders;
  /** Read it exactly once: consume(), read() (or readBody()) or discard(). */
  body: ResponseBody;
  url: string;
}

export interface RequestOptions {
  method?: HttpMethod;
  /** For POST/PUT/PATCH; the caller sets content-length. Sent again on a retry or redirect. */
  body?: RequestBody;
  headers?: Record<string, string>;
  /** Token scope, e.g. `repository:library/alpine:pull`. */
  scope: string;
  /** What the request is about, for messages: `docker.io/library/alpine:3`. */
  what: string;
  /** Told before each wait for another attempt (for the progress display). */
  onRetry?: RetryListener;
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined; scope: string | undefined };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
// Socket errnos, and http1.ts's codes for silence and for a connection closed mid-response.
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ENETUNREACH', 'EHOSTUNREACH', 'MOCKER_TIMEOUT', 'MOCKER_SHORT_BODY']);

/** A connection-level failure worth another attempt. */
export function isTransientError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function readBody(res: RegistryResponse, limit = 4 << 20, method = 'GET'): Promise<Buffer> {
  try {
    return await res.body.read(limit, () => new ContainetError('MOCKER_TOO_BIG', `response from ${redactUrl(res.url)} is larger than ${limit} bytes`, { exitCode: EXIT.verify }));
  } catch (err) {
    throw transferError(err, method, res.url);
  }
}

/**
 * A failure while a response's body was arriving (the connection closed or
 * reset, silence, a malformed body) as the network error it is: exit 6,
 * naming the host and the request, e.g. `network error: connection to
 * 127.0.0.1:5000 closed before the end of the response (GET
 * /v2/x/blobs/sha256:…)`. ContainetErrors (a digest refused, a full disk)
 * pass unchanged.
 */
/** An error's message without `http://`/`https://` before hosts: `connection to 127.0.0.1:5000 closed …`. */
export function messageOf(err: unknown): string {
  return String((err as Error).message ?? err).replace(/\bhttps?:\/\//g, '');
}

export function transferError(err: unknown, method: string, url: string): ContainetError {
  if (err instanceof ContainetError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.name === 'AbortError') return new ContainetError('MOCKER_INTERRUPTED', 'interrupted', { exitCode: 130, cause: err });
  const u = new URL(url);
  const detail = messageOf(err);
  return new RegistryError('MOCKER_NETWORK', `network error: ${detail} (${method} ${redactUrl(url).slice(u.origin.length)})`, {
    exitCode: EXIT.network,
    cause: err,
    exchange: { request: { method, url: redactUrl(url), headers: {} } },
    hint: `the transfer from ${u.host} failed after retries; run the command again (a pull resumes where it stopped)`,
  });
}

function parseChallenges(header: string | undefined): Challenge | null {
  if (!header) return null;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return null;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  if (!params['realm']) return null;
  return { scheme: 'bearer', realm: params['realm'], service: params['service'], scope: params['scope'] };
}

function plainRateLimit(h: HttpHeaders, host: string): string {
  // Docker Hub: `ratelimit-limit: 100;w=21600`, `ratelimit-remaining: 0;w=21600`.
  const parse = (v: string | string[] | undefined): { n: string; w?: number } | null => {
    const s = Array.isArray(v) ? v[0] : v;
    if (!s) return null;
    const m = /^\s*(\d+)(?:\s*;\s*w=(\d+))?/.exec(s);
    return m ? { n: m[1]!, w: m[2] === undefined ? undefined : Number(m[2]) } : null;
  };
  const limit = parse(h['ratelimit-limit']);
  const left = parse(h['ratelimit-remaining']);
  const window = limit?.w ?? left?.w;
  const per = window === undefined ? '' : window % 3600 === 0 ? ` per ${window / 3600} hour${window === 3600 ? '' : 's'}` : ` per ${window} seconds`;
  let s = `too many requests to ${host}`;
  if (limit) s += `: ${left ? left.n : '?'} of ${limit.n} pulls left${per}`;
  const retry = h['retry-after'];
  if (retry) s += `; retry after ${/^\d+$/.test(String(retry)) ? `${retry} s` : String(retry)}`;
  return s;
}

// Node's codes for a certificate that does not verify (OpenSSL's X509 errors, and the name check).
const CERT_CODES = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME)/;

function networkHint(e: NodeJS.ErrnoException, secure: boolean, host: string, domain: string): string {
  if (secure && CERT_CODES.test(e.code ?? '')) {
    return `the certificate of ${host} does not verify; if your own CA signed it, add it to the system's CA certificates (update-ca-certificates) or point NODE_EXTRA_CA_CERTS at its PEM file`;
  }
  if (secure && /EPROTO|SSL|wrong version/i.test(String(e.message))) return `if ${host} speaks plain HTTP, pass --insecure ${domain}`;
  return 'check the registry address and your network';
}

export class RegistryClient {
  readonly domain: string;
  readonly base: string;
  #opts: Required<Omit<ClientOptions, 'signal' | 'credentials'>> & { signal: AbortSignal | undefined; credentials: Credentials | null };
  #http: Http1Client;
  #challenge: Challenge | null = null;
  #tokens = new Map<string, { token: string; expires: number }>();
  #closed = false;

  constructor(domain: string, opts: ClientOptions = {}) {
    this.domain = domain;
    const host = apiHost(domain);
    const plain = opts.insecure === true || isLoopbackHost(host);
    this.base = `${plain ? 'http' : 'https'}://${host}`;
    this.#opts = {
      insecure: plain,
      attempts: opts.attempts ?? 4,
      backoffMs: opts.backoffMs ?? 250,
      timeoutMs: opts.timeoutMs ?? 30_000,
      signal: opts.signal,
      credentials: opts.credentials ?? null,
    };
    this.#http = new Http1Client({ timeoutMs: this.#opts.timeoutMs, signal: opts.signal, secureContext, proxyFor: proxyFromEnvironment() });
  }

  /** Idle connections are closed; safe to call twice; requests after it fail. */
  close(): void {
    this.#closed = true;
    this.#http.close();
  }

  /**
   * A request to `path` (under /v2/) that ends in a 2xx response whose body
   * the caller consumes. Anything else becomes a RegistryError.
   */
  async request(path: string, opts: RequestOptions): Promise<RegistryResponse> {
    if (this.#closed) throw new ContainetError('MOCKER_CLOSED', `registry client for ${this.domain} is closed`);
    const method = opts.method ?? 'GET';
    let authTries = 0;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': 'containet-mocker/0.1', ...opts.headers };
      const auth = await this.#authorization(opts.scope, opts.what);
      if (auth) headers['authorization'] = auth;
      let res: RegistryResponse;
      try {
        res = await this.#follow(new URL(path, this.base), method, headers, opts.body);
      } catch (err) {
        if (isTransientError(err) && attempt < this.#opts.attempts) {
          const delayMs = backoffDelay(attempt, this.#opts.backoffMs);
          opts.onRetry?.({ reason: messageOf(err), delayMs, attempt });
          await sleep(delayMs, this.#opts.signal);
          continue;
        }
        throw this.#networkError(err, method, new URL(path, this.base).toString(), headers, opts.what);
      }
      if (res.status === 401 && authTries === 0) {
        const ch = parseChallenges(res.headers['www-authenticate'] as string | undefined);
        if (ch && (ch.scheme === 'bearer' || this.#opts.credentials)) {
          res.body.discard();
          authTries++;
          this.#challenge = ch;
          if (ch.scheme === 'bearer') this.#tokens.delete(opts.scope);
          attempt--;
          continue;
        }
      }
      // 429 and 503 may say when to come back (RFC 9110 §10.2.3, RFC 6585 §4):
      // waited for when it is within MAX_RETRY_AFTER_MS, else reported at
      // once (Docker Hub's pull limit asks for hours). A 429 without it is
      // reported at once too; other 5xx back off.
      if ((res.status === 429 || TRANSIENT_STATUS.has(res.status)) && attempt < this.#opts.attempts) {
        const after = res.status === 429 || res.status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined;
        const tooLong = after !== undefined && after > MAX_RETRY_AFTER_MS;
        if (!tooLong && (res.status !== 429 || after !== undefined)) {
          res.body.discard();
          const delayMs = after ?? backoffDelay(attempt, this.#opts.backoffMs);
          const host = new URL(res.url).host;
          opts.onRetry?.({ reason: `${host} answered ${res.status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${after !== undefined ? ` (Retry-After ${Math.ceil(after / 1000)} s)` : ''}`, delayMs, attempt });
          await sleep(delayMs, this.#opts.signal);
          continue;
        }
      }
      if (res.status >= 200 && res.status < 300) return res;
      throw await this.#statusError(res, method, headers, opts.what);
    }
  }

  async #authorization(scope: string, what: string): Promise<string | undefined> {
    const ch = this.#challenge;
    if (!ch) return undefined;
    const creds = this.#opts.credentials;
    if (ch.scheme === 'basic') return creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    const cached = this.#tokens.get(scope);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const url = new URL(ch.realm);
    if (ch.service) url.searchParams.set('service', ch.service);
    if (scope) url.searchParams.append('scope', scope);
    if (ch.scope && ch.scope !== scope) url.searchParams.append('scope', ch.scope);
    if (creds) url.searchParams.set('account', creds.username);
    const headers: Record<string, string> = { 'user-agent': 'containet-mocker/0.1' };
    if (creds) headers['authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    let res: RegistryResponse;
    try {
      res = await this.#follow(url, 'GET', headers);
    } catch (err) {
      throw this.#networkError(err, 'GET', url.toString(), headers, `a token for ${what}`);
    }
    if (res.status !== 200) throw await this.#statusError(res, 'GET', headers, what);
    const text = (await readBody(res, 1 << 20)).toString('utf8');
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RegistryError('MOCKER_BAD_TOKEN', `token endpoint ${redactUrl(url.toString())} did not answer JSON`, { exitCode: EXIT.auth });
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('MOCKER_BAD_TOKEN', `token endpoint ${redactUrl(url.toString())} gave no token`, { exitCode: EXIT.auth });
    // Docker's token spec: expires_in defaults to 60 s; renew a little early.
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    const from = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 600_000 ? issued : Date.now();
    const life = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.#tokens.set(scope, { token, expires: from + life * 1000 - Math.min(10_000, life * 100) });
    return `Bearer ${token}`;
  }

  /** One request, following redirects; Authorization only ever goes to the first origin. */
  async #follow(first: URL, method: HttpMethod, headers: Record<string, string>, body?: RequestBody): Promise<RegistryResponse> {
    let url = first;
    let h = { ...headers };
    for (let hop = 0; hop <= 10; hop++) {
      const res = await this.#http.request({ url, method, headers: h, body });
      const location = res.headers['location'];
      if (!REDIRECTS.has(res.status) || !location) return { status: res.status, statusMessage: res.statusMessage, headers: res.headers, body: res, url: url.toString() };
      res.discard();
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RegistryError('MOCKER_REDIRECT', `registry redirected to ${redactUrl(next.toString())}`, { exitCode: EXIT.failure });
      if (next.protocol === 'http:' && url.protocol === 'https:' && !isLoopbackHost(next.host)) {
        throw new RegistryError('MOCKER_REDIRECT', `registry redirected from HTTPS to plain HTTP (${redactUrl(next.toString())}); refused`, { exitCode: EXIT.failure });
      }
      h = { ...headers };
      if (next.origin !== first.origin) delete h['authorization'];
      url = next;
    }
    throw new RegistryError('MOCKER_REDIRECT', `more than 10 redirects from ${redactUrl(first.toString())}`, { exitCode: EXIT.failure });
  }

  #networkError(err: unknown, method: string, url: string, headers: Record<string, string>, what: string): ContainetError {
    if (err instanceof ContainetError) return err;
    const e = err as NodeJS.ErrnoException;
    if (e.name === 'AbortError' || this.#opts.signal?.aborted) return new ContainetError('MOCKER_INTERRUPTED', 'interrupted', { exitCode: 130, cause: err });
    const host = new URL(url).host;
    const exchange: HttpExchange = { request: { method, url: redactUrl(url), headers: redactHeaders(headers) } };
    return new RegistryError('MOCKER_NETWORK', `cannot reach ${host} for ${what}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`.replace(/ +$/, ''), {
      exitCode: EXIT.network,
      cause: err,
      exchange,
      hint: networkHint(e, this.base.startsWith('https:'), host, this.domain),
    });
  }

  async #statusError(res: RegistryResponse, method: string, headers: Record<string, string>, what: string): Promise<RegistryError> {
    let text = '';
    try {
      text = (await readBody(res, 64 << 10)).toString('utf8');
    } catch {}
    const exchange: HttpExchange = {
      request: { method, url: redactUrl(res.url), headers: redactHeaders(headers) },
      response: { status: res.status, headers: redactHeaders(res.headers), body: text.slice(0, 2000) },
    };
    let regCode = '';
    let regMessage = '';
    try {
      const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
      regCode = j.errors?.[0]?.code ?? '';
      regMessage = j.errors?.[0]?.message ?? '';
    } catch {}
    const words = (c: string): string => c.toLowerCase().replace(/_/g, ' ');
    const host = new URL(res.url).host;
    if (res.status === 429) return new RegistryError('MOCKER_RATE_LIMITED', plainRateLimit(res.headers, host), { exitCode: EXIT.network, exchange, hint: 'wait, or log in (mocker login) for a higher limit' });
    if (res.status === 401) {
      return new RegistryError('MOCKER_UNAUTHORIZED', `unauthorized: ${what}${regMessage ? ` (${regMessage})` : ''}`, { exitCode: EXIT.auth, exchange, hint: `the repository may not exist, or needs credentials: mocker login ${this.domain}` });
    }
    if (res.status === 403) return new RegistryError('MOCKER_DENIED', `denied: ${what}${regMessage ? ` (${regMessage})` : ''}`, { exitCode: EXIT.auth, exchange, hint: `these credentials may not pull it: mocker login ${this.domain}` });
    if (res.status === 404) {
      const code = regCode || (/\/manifests\//.test(res.url) ? 'MANIFEST_UNKNOWN' : /\/blobs\//.test(res.url) ? 'BLOB_UNKNOWN' : 'NOT_FOUND');
      return new RegistryError(`MOCKER_${code}`, `${words(code)}: ${what}`, { exitCode: EXIT.notFound, exchange, hint: code === 'MANIFEST_UNKNOWN' ? 'check the tag or digest (OCI registries list tags at /v2/NAME/tags/list)' : undefined });
    }
    if (res.status >= 500) return new RegistryError('MOCKER_REGISTRY_DOWN', `${host} answered ${res.status} ${res.statusMessage} for ${what}`.replace(/ +for/, ' for'), { exitCode: EXIT.network, exchange, hint: 'the registry is failing; try again later' });
    return new RegistryError('MOCKER_REGISTRY', `${host} answered ${res.status}${regCode ? ` ${words(regCode)}` : ''} for ${what}${regMessage ? `: ${regMessage}` : ''}`, { exitCode: EXIT.failure, exchange });
  }
}
