import { readFileSync } from 'node:fs';
import { ContainetError, UsageError } from '@containet/common';
import { EXIT } from '../errors.js';
import { DOCKER_HUB, parseReference } from '../reference.js';
import { RegistryClient } from '../registry/client.js';
import { storeCredentials, removeCredentials, dockerConfigPath } from '../registry/credentials.js';
import { out } from './common.js';
import { login as texts } from './help.js';

export const help = texts.help;
export const logoutHelp = texts.logoutHelp;


/** `registry.example:5000`, or docker.io when none is given. */
export function serverDomain(server: string | undefined): string {
  if (server === undefined) return DOCKER_HUB;
  const bare = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (bare === 'index.docker.io' || bare === 'registry-1.docker.io' || bare === DOCKER_HUB) return DOCKER_HUB;
  return parseReference(`${bare}/x`).domain;
}

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecure?: string[];
}

export async function handler(opts: LoginOptions, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError('mocker login takes at most one registry');
  const domain = serverDomain(args[0]);
  if (!opts.username) throw new UsageError('mocker login needs --username', 'mocker login -u NAME --password-stdin [REGISTRY]');
  let password = opts.password;
  if (opts.passwordStdin) {
    if (password !== undefined) throw new UsageError('--password and --password-stdin are exclusive');
    password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  }
  if (!password) throw new UsageError('mocker login needs a password', 'pipe it in with --password-stdin');
  const creds = { username: opts.username, password };
  const client = new RegistryClient(domain, { credentials: creds, insecure: opts.insecure?.includes(domain) ?? false });
  try {
    const res = await client.request('/v2/', { scope: '', what: `login to ${domain}` });
    res.body.discard();
  } catch (err) {
    if (err instanceof ContainetError && err.code === 'MOCKER_UNAUTHORIZED') {
      throw new ContainetError('MOCKER_LOGIN_FAILED', `login to ${domain} failed: wrong username or password`, { exitCode: EXIT.auth });
    }
    throw err;
  } finally {
    client.close();
  }
  storeCredentials(domain, creds);
  out(`Login Succeeded (credentials saved in ${dockerConfigPath()})`);
  return 0;
}

export async function logoutHandler(_opts: object, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError('mocker logout takes at most one registry');
  const domain = serverDomain(args[0]);
  out(removeCredentials(domain) ? `Removing login credentials for ${domain}` : `Not logged in to ${domain}`);
  return 0;
}
