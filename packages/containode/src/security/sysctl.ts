/**
 * --sysctl KEY=VALUE as Docker allows it (moby opts.ValidateSysctl, runc's
 * config validator): only settings the kernel keeps per namespace, each in a
 * namespace the container has of its own. Anything else is the host's
 * setting: writing it from a container would change the machine.
 * net.* belong to the network namespace (network_namespaces(7)); the System
 * V IPC limits kernel.shm*, kernel.msg*, kernel.sem and the POSIX message
 * queue limits fs.mqueue.* to the IPC namespace (ipc_namespaces(7)).
 */
import { ContainetError } from '@containet/common';

export type SysctlNamespace = 'net' | 'ipc';

interface NamespacedSysctl {
  /** A key prefix, or the whole key when `exact`. */
  key: string;
  exact?: boolean;
  namespace: SysctlNamespace;
}

export const NAMESPACED_SYSCTLS: readonly NamespacedSysctl[] = [
  { key: 'net.', namespace: 'net' },
  { key: 'kernel.shm', namespace: 'ipc' },
  { key: 'kernel.msg', namespace: 'ipc' },
  { key: 'kernel.sem', exact: true, namespace: 'ipc' },
  { key: 'fs.mqueue.', namespace: 'ipc' },
];

/** "net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*", for messages. */
export const ALLOWED_SYSCTLS = NAMESPACED_SYSCTLS.map((s) => (s.exact ? s.key : `${s.key}*`)).join(', ');

/** Which namespaces the container has of its own. */
export interface SysctlNamespaces {
  newNet: boolean;
  newIpc: boolean;
}

const NAMESPACE_NAME: Record<SysctlNamespace, { what: string; hint: string }> = {
  net: { what: 'network', hint: 'give the container its own network namespace (it shares the host\'s now), or drop the setting' },
  ipc: { what: 'IPC', hint: 'give the container its own IPC namespace (it shares the host\'s now), or drop the setting' },
};

// Segments as /proc/sys names them: letters, digits, _ and - (interface
// names); the spawner turns the dots into slashes, so none may be empty.
const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_@:+-]+)+$/;

function refuse(message: string, hint?: string): ContainetError {
  return new ContainetError('CN_SYSCTL', message, { hint, exitCode: 2 });
}

/** The namespace `key` belongs to, or undefined for a host-wide setting. */
export function sysctlNamespace(key: string): SysctlNamespace | undefined {
  return NAMESPACED_SYSCTLS.find((s) => (s.exact ? key === s.key : key.startsWith(s.key)))?.namespace;
}

/**
 * Check settings (a map, as OCI linux.sysctl has them) against what the
 * container may change. Throws CN_SYSCTL (exit status 2) naming the first
 * bad key; returns a copy otherwise.
 */
export function checkSysctls(settings: Readonly<Record<string, string>>, ns: SysctlNamespaces): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (!KEY.test(key)) {
      throw refuse(`invalid --sysctl key ${JSON.stringify(key)}: expected dotted names such as net.ipv4.ip_forward`);
    }
    const namespace = sysctlNamespace(key);
    if (!namespace) {
      throw refuse(`--sysctl ${key} is not a namespaced setting and would change the host; allowed: ${ALLOWED_SYSCTLS}`);
    }
    if (!(namespace === 'net' ? ns.newNet : ns.newIpc)) {
      const { what, hint } = NAMESPACE_NAME[namespace];
      throw refuse(`--sysctl ${key} needs the container's own ${what} namespace`, hint);
    }
    if (/[\n\0]/.test(value) || value === '') {
      throw refuse(`invalid --sysctl ${key} value ${JSON.stringify(value)}: one non-empty line expected`);
    }
    out[key] = value;
  }
  return out;
}

/** `--sysctl KEY=VALUE` options (repeatable) into a checked map; a later KEY wins. */
export function parseSysctlOptions(values: readonly string[], ns: SysctlNamespaces): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw refuse(`invalid --sysctl ${JSON.stringify(v)}: expected KEY=VALUE, e.g. net.ipv4.ip_forward=1`);
    settings[v.slice(0, eq).trim()] = v.slice(eq + 1);
  }
  return checkSysctls(settings, ns);
}
