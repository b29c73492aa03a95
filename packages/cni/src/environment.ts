/**
 * The CNI parameters a runtime passes in the environment (SPEC.md, section
 * 2 "Parameters"): which operation, which attachment, where plugins are.
 */
import { CniError, CNI_ERR } from './errors.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnvironment {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs ("FOO=BAR;ABC=123"). */
  args: Map<string, string>;
  /** CNI_PATH split on ':'. */
  path: string[];
}

// SPEC.md: container ids start with an alphanumeric character, then
// alphanumerics, underscore, dot or hyphen.
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Which variables each operation requires (SPEC.md, section 2 per operation). */
const REQUIRED: Record<CniCommand, Array<'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH'>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

export function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(';')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'CNI_ARGS is not KEY=VALUE pairs separated by ";"', `CNI_ARGS=${text}`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/** Read and check the environment; throws CniError code 4 naming the variables. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CniEnvironment {
  const command = env['CNI_COMMAND'] ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, `CNI_COMMAND must be one of ${COMMANDS.join(', ')}`, `CNI_COMMAND=${JSON.stringify(command)}`);
  }
  const cmd = command as CniCommand;
  const missing = REQUIRED[cmd].filter((k) => !env[k]);
  if (missing.length) throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, `${cmd} needs ${missing.join(', ')}`, `missing or empty: ${missing.join(', ')}`);
  const containerId = env['CNI_CONTAINERID'] ?? '';
  if (containerId && !CONTAINER_ID.test(containerId)) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'CNI_CONTAINERID must start with a letter or digit, then letters, digits, "_", "." or "-"', `CNI_CONTAINERID=${JSON.stringify(containerId)}`);
  }
  const ifname = env['CNI_IFNAME'] ?? '';
  // Linux interface names: at most 15 bytes (IFNAMSIZ 16), no "/", ":" or white space, not "." or "..".
  if (ifname && (Buffer.byteLength(ifname) > 15 || /[/:\s]/.test(ifname) || ifname === '.' || ifname === '..')) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'CNI_IFNAME is not a valid Linux interface name (1-15 bytes, no "/", ":" or spaces)', `CNI_IFNAME=${JSON.stringify(ifname)}`);
  }
  return {
    command: cmd,
    containerId,
    netns: env['CNI_NETNS'] ?? '',
    ifname,
    args: parseCniArgs(env['CNI_ARGS'] ?? ''),
    path: (env['CNI_PATH'] ?? '').split(':').filter(Boolean),
  };
}
