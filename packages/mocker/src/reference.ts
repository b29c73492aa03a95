/**
 * Image references as Docker writes them (distribution/reference grammar):
 * `alpine`, `alpine:3.20`, `library/alpine`, `user/repo@sha256:…`,
 * `registry.example:5000/team/app:tag`. Bare names belong to Docker Hub,
 * and one-component Hub names to its `library/` namespace.
 */
import { UsageError } from '@containet/common';

export interface ImageReference {
  /** Registry as written in names: `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/alpine`. */
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's registry API host (`docker.io` is only a name). */
export const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;

function bad(text: string, why: string): UsageError {
  return new UsageError(`invalid reference format: ${JSON.stringify(text)}: ${why}`, 'write NAME[:TAG][@sha256:DIGEST], e.g. alpine:3.20 or 127.0.0.1:5000/team/app:1');
}

export function parseReference(text: string): ImageReference {
  if (text.length === 0) throw bad(text, 'empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(text, 'a digest is sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(text, 'a tag is up to 128 letters, digits, _ . -, not starting with . or -');
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry when it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!DOMAIN.test(first)) throw bad(text, `${JSON.stringify(first)} is not a registry host[:port]`);
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (path.length === 0) throw bad(text, 'no repository name');
  for (const c of path.split('/')) {
    if (c !== c.toLowerCase() && COMPONENT.test(c.toLowerCase())) throw bad(text, 'repository name must be lowercase');
    if (!COMPONENT.test(c)) throw bad(text, `${JSON.stringify(c)} is not a repository name component`);
  }
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (domain.length + 1 + path.length > 255) throw bad(text, 'repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, tag, digest };
}

/** `docker.io/library/alpine` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full canonical form: `docker.io/library/alpine:latest[@sha256:…]`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker's short form for listings: `alpine`, `user/app`, `host:5000/x`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain === DOCKER_HUB) return ref.path.startsWith('library/') ? ref.path.slice(8) : ref.path;
  return repositoryName(ref);
}

/** Host (and port) to speak the registry API to. */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB ? DOCKER_HUB_API : domain;
}

/** Where a URL connects: its host as connect() takes it (an IPv6 literal without brackets) and its port, the scheme's default when none is written. */
export function endpointOf(url: URL): { host: string; port: number } {
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/** Registries Docker reaches over plain HTTP without being told: loopback. */
export function isLoopbackHost(hostport: string): boolean {
  let host = hostport;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'));
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
