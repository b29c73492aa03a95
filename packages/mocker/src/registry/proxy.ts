/**
 * Which proxy a registry request goes through, from the environment, read
 * as skopeo and docker (Go's net/http) read it: HTTPS_PROXY or https_proxy
 * for https URLs, HTTP_PROXY or http_proxy for http ones, the upper-case
 * name first; NO_PROXY or no_proxy lists what is reached directly. Loopback
 * hosts never go through a proxy. Only http:// proxies are spoken to (a
 * value without a scheme means http://); HTTPS is tunnelled with CONNECT.
 */
import { BlockList, isIP } from 'node:net';
import { ContainetError } from '@containet/common';
import { EXIT } from '../errors.js';
import { endpointOf, isLoopbackHost } from '../reference.js';

/** The proxy for a URL, or null to connect directly. */
export type ProxyChoice = (url: URL) => URL | null;

const first = (env: NodeJS.ProcessEnv, ...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');

function proxyUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new ContainetError('MOCKER_BAD_PROXY', `${name}=${value} is not a proxy URL`, { exitCode: EXIT.usage, hint: 'write it as http://HOST:PORT, or unset it' });
  }
  if (url.protocol !== 'http:') {
    throw new ContainetError('MOCKER_BAD_PROXY', `${name}=${value}: only http:// proxies are supported, not ${url.protocol.replace(/:$/, '')}`, { exitCode: EXIT.usage, hint: 'point it at an HTTP proxy, or unset it' });
  }
  return url;
}

/** A NO_PROXY entry: a host name (with its subdomains), `.domain` (subdomains only), an IP, a CIDR block or `*`; each may carry a port. */
interface Exemption {
  host?: string;
  subdomainsOnly?: boolean;
  ips?: BlockList;
  port?: string;
}

function parseNoProxy(list: string): Exemption[] | 'all' {
  const out: Exemption[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return 'all';
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1]!)) {
      const ips = new BlockList();
      try {
        ips.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4');
      } catch {
        continue;
      }
      out.push({ ips });
      continue;
    }
    // host, host:port, [v6], [v6]:port, v6
    let host = entry;
    let port: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) [host, port] = [bracketed[1]!, bracketed[2]];
    else if (!isIP(entry) && /:\d+$/.test(entry)) [host, port] = [entry.slice(0, entry.lastIndexOf(':')), entry.slice(entry.lastIndexOf(':') + 1)];
    if (isIP(host)) {
      const ips = new BlockList();
      ips.addAddress(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
      out.push({ ips, port });
      continue;
    }
    if (host.startsWith('*.')) host = host.slice(1);
    out.push(host.startsWith('.') ? { host: host.slice(1), subdomainsOnly: true, port } : { host, port });
  }
  return out;
}

function exempt(rules: Exemption[], url: URL): boolean {
  const end = endpointOf(url);
  const host = end.host.toLowerCase();
  const port = String(end.port);
  return rules.some((r) => {
    if (r.port !== undefined && r.port !== port) return false;
    if (r.ips) return isIP(host) !== 0 && r.ips.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
    return (!r.subdomainsOnly && host === r.host) || host.endsWith(`.${r.host}`);
  });
}

/** The proxy choice the environment describes; bad proxy values fail here, once. */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): ProxyChoice {
  const httpsValue = first(env, 'HTTPS_PROXY', 'https_proxy');
  const httpValue = first(env, 'HTTP_PROXY', 'http_proxy');
  const https = httpsValue === undefined ? null : proxyUrl('HTTPS_PROXY', httpsValue);
  const http = httpValue === undefined ? null : proxyUrl('HTTP_PROXY', httpValue);
  if (!https && !http) return () => null;
  const rules = parseNoProxy(first(env, 'NO_PROXY', 'no_proxy') ?? '');
  return (url) => {
    const proxy = url.protocol === 'https:' ? https : http;
    if (!proxy || rules === 'all' || isLoopbackHost(url.host) || exempt(rules, url)) return null;
    return proxy;
  };
}

/** `Proxy-Authorization` for a proxy URL with user:password in it. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  return `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
}
