/**
 * `--security-opt` values as docker run takes them (moby's
 * daemon/oci_linux.go parseSecurityOpt): KEY=VALUE, or the older KEY:VALUE.
 * A pure parser: it reads no profile and touches nothing; seccompFilterFor
 * (seccomp.ts) turns the seccomp choice into a filter.
 *
 * Options that would ask for a protection this runtime cannot apply
 * (an AppArmor profile, an SELinux label) are refused rather than ignored:
 * the container would run without what the user asked for. Their "off"
 * forms (apparmor=unconfined, label=disable) are accepted: there is
 * nothing to turn off.
 */
import { UsageError } from '@containet/common';

export type SeccompChoice =
  | { kind: 'default' }
  | { kind: 'unconfined' }
  /** A profile in Docker's JSON format, read when the container is made. */
  | { kind: 'profile'; path: string };

export interface SecurityOptions {
  seccomp: SeccompChoice;
  /** no-new-privileges[=true|false]; undefined when not given. */
  noNewPrivileges?: boolean;
  /** systempaths=unconfined: no masked or read-only /proc and /sys paths. */
  unconfinedSystemPaths?: boolean;
}

const SUPPORTED = 'seccomp=unconfined|builtin|PROFILE.json, no-new-privileges[=true|false], systempaths=unconfined';

function refuse(opt: string, what: string, hint?: string): UsageError {
  return new UsageError(`--security-opt ${opt}: ${what}`, hint ?? `supported: ${SUPPORTED}`);
}

/** KEY and VALUE of one option; VALUE undefined for a bare KEY. */
function split(opt: string): [string, string | undefined] {
  const eq = opt.indexOf('=');
  const colon = opt.indexOf(':');
  // moby splits on '=' and falls back to ':' (deprecated), whichever comes first.
  const at = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
  return at < 0 ? [opt, undefined] : [opt.slice(0, at), opt.slice(at + 1)];
}

function bool(opt: string, v: string | undefined): boolean {
  if (v === undefined || v === 'true') return true;
  if (v === 'false') return false;
  throw refuse(opt, `${JSON.stringify(v)} is not true or false`);
}

/**
 * Every --security-opt value, in order (a later one wins, as in docker).
 * Throws UsageError (exit 2) naming the option for anything unknown or
 * unsupported.
 */
export function parseSecurityOpts(values: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: { kind: 'default' } };
  for (const opt of values) {
    const [key, value] = split(opt);
    switch (key) {
      case 'seccomp':
        if (value === undefined || value === '') throw refuse(opt, 'needs a value', 'seccomp=unconfined, seccomp=builtin (the default) or seccomp=PATH to a profile in Docker\'s JSON format');
        if (value === 'unconfined') out.seccomp = { kind: 'unconfined' };
        else if (value === 'builtin') out.seccomp = { kind: 'default' };
        else out.seccomp = { kind: 'profile', path: value };
        break;
      case 'no-new-privileges':
        out.noNewPrivileges = bool(opt, value);
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw refuse(opt, 'the only value is unconfined');
        out.unconfinedSystemPaths = true;
        break;
      case 'apparmor':
        if (value !== 'unconfined') throw refuse(opt, 'AppArmor is not supported: no AppArmor profile can be applied', 'remove it (containers run without AppArmor), or use apparmor=unconfined');
        break;
      case 'label':
        if (value !== 'disable') throw refuse(opt, 'SELinux is not supported: no label can be applied', 'remove it (containers run without SELinux labels), or use label=disable');
        break;
      default:
        throw refuse(opt, 'unknown security option');
    }
  }
  return out;
}
