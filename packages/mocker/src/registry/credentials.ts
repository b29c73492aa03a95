/**
 * Credentials in Docker's client configuration (`$DOCKER_CONFIG/config.json`
 * or `~/.docker/config.json`, `auths` entries with base64 `user:password`),
 * read and written as `docker login` does: other keys are kept, the file is
 * replaced atomically and is mode 0600.
 */
import { readFileSync, writeFileSync, renameSync, mkdirSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { ContainetError } from '@containet/common';
import { DOCKER_HUB } from '../reference.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Docker keeps Hub credentials under its v1 index address. */
const HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(): string {
  const dir = process.env['DOCKER_CONFIG'] ?? join(homedir(), '.docker');
  return join(dir, 'config.json');
}

type DockerConfig = { auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }> } & Record<string, unknown>;

function readConfig(path: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ContainetError('MOCKER_CONFIG', `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfig;
  } catch (err) {
    throw new ContainetError('MOCKER_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`, { hint: 'fix or remove the file' });
  }
}

/** `https://host:5000/v1/` → `host:5000`, as docker's ConvertToHostname. */
function keyHost(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0]!;
}

function hostKeys(domain: string): string[] {
  return domain === DOCKER_HUB ? [HUB_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io'] : [domain];
}

export function findCredentials(domain: string, path = dockerConfigPath()): Credentials | null {
  const auths = readConfig(path).auths ?? {};
  const wanted = hostKeys(domain).map(keyHost);
  for (const [key, entry] of Object.entries(auths)) {
    if (!wanted.includes(keyHost(key))) continue;
    if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    }
  }
  return null;
}

function writeConfig(path: string, config: DockerConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw new ContainetError('MOCKER_CONFIG', `cannot write ${path}: ${(err as Error).message}`);
  }
}

export function storeCredentials(domain: string, creds: Credentials, path = dockerConfigPath()): void {
  const config = readConfig(path);
  const auths = { ...(config.auths ?? {}) };
  for (const key of Object.keys(auths)) if (hostKeys(domain).map(keyHost).includes(keyHost(key))) delete auths[key];
  auths[domain === DOCKER_HUB ? HUB_KEY : domain] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  writeConfig(path, { ...config, auths });
}

/** Returns whether an entry was there to remove. */
export function removeCredentials(domain: string, path = dockerConfigPath()): boolean {
  const config = readConfig(path);
  const auths = { ...(config.auths ?? {}) };
  let removed = false;
  for (const key of Object.keys(auths)) {
    if (hostKeys(domain).map(keyHost).includes(keyHost(key))) {
      delete auths[key];
      removed = true;
    }
  }
  if (removed) writeConfig(path, { ...config, auths });
  return removed;
}
