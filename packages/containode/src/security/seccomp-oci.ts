/**
 * OCI `linux.seccomp` (runtime-spec config-linux.md, "Seccomp") checked and
 * turned into the spawner's SeccompFilter. Everything is checked before a
 * container exists; a bad field is one line naming it. There is no seccomp
 * agent, so SCMP_ACT_NOTIFY and listenerPath are refused rather than run
 * without the filter they ask for.
 */
import { ContainetError } from '@containet/common';
import type { SeccompAction, SeccompCondition, SeccompFilter, SeccompRule } from '../runtime/spec.js';
import { dockerSyscallNames } from './seccomp-default.js';

/** The OCI form, also what Docker's profiles become once evaluated. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

/** Where a document came from, for messages: `config.json: linux.seccomp...`. */
export interface SeccompSource {
  /** `config.json`, a profile's path. */
  file: string;
  /** The field path of the seccomp object inside it ('' for a whole file). */
  field: string;
}

const ACTIONS: Record<string, SeccompAction> = {
  SCMP_ACT_KILL: 'kill_thread',
  SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_LOG: 'log',
};

const OPS: Record<string, SeccompCondition['op']> = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked_eq',
};

/** OCI architecture names and libseccomp's for them (seccomp_arch_resolve_name). */
export const ARCHITECTURES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
};

const FLAGS: Record<string, 'tsync' | 'log' | 'spec_allow'> = {
  SECCOMP_FILTER_FLAG_TSYNC: 'tsync',
  SECCOMP_FILTER_FLAG_LOG: 'log',
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 'spec_allow',
};

/**
 * What `containode-oci features` says about seccomp (features-linux.md,
 * "Seccomp"): the actions, operators, architectures and flags accepted
 * here. Architectures are those Debian 12's libseccomp 2.5 knows (2.6 adds
 * LoongArch, m68k and SuperH: configs naming them are refused by the
 * spawner when its library does not know them).
 */
export function seccompFeatures(): { enabled: true; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] } {
  const newer = new Set(['SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB']);
  return {
    enabled: true,
    actions: Object.keys(ACTIONS).sort(),
    operators: Object.keys(OPS).sort(),
    archs: Object.keys(ARCHITECTURES).filter((a) => !newer.has(a)).sort(),
    knownFlags: [...Object.keys(FLAGS), 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    supportedFlags: Object.keys(FLAGS),
  };
}

const EPERM = 1;
/** The kernel keeps 16 bits of data (SECCOMP_RET_DATA); an errno above MAX_ERRNO would not read as an error. */
const MAX_ERRNO = 4095;
const U64_MAX = 2n ** 64n - 1n;

/** A profile or config that cannot become a filter: exit 2, nothing created. */
export function seccompError(src: SeccompSource, field: string, what: string, hint?: string): ContainetError {
  const at = [src.field, field].filter((s) => s !== '').join('.').replace(/\.\[/g, '[');
  return new ContainetError('CN_SECCOMP_PROFILE', `${src.file}: ${at || '(top level)'}: ${what}`, {
    exitCode: 2,
    hint: hint ?? 'see the OCI runtime spec, config-linux.md "Seccomp", or Docker\'s seccomp profile documentation',
  });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uint(src: SeccompSource, v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw seccompError(src, field, `must be an integer from 0 to ${max}`);
  return v;
}

/** uint64 from JSON: a number beyond 2^53 has already been rounded by JSON.parse; 2^64 and up are taken as 2^64-1. */
function u64(src: SeccompSource, v: unknown, field: string): bigint {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw seccompError(src, field, 'must be an unsigned 64-bit integer');
  const b = BigInt(v);
  return b > U64_MAX ? U64_MAX : b;
}

function strings(src: SeccompSource, v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw seccompError(src, field, 'must be an array of strings');
  return v as string[];
}

function action(src: SeccompSource, v: unknown, field: string): SeccompAction {
  if (v === 'SCMP_ACT_NOTIFY') {
    throw seccompError(src, field, 'SCMP_ACT_NOTIFY needs a seccomp agent, which this runtime does not support', 'use SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS or SCMP_ACT_LOG instead');
  }
  const a = typeof v === 'string' ? ACTIONS[v] : undefined;
  if (!a) throw seccompError(src, field, `unknown action ${JSON.stringify(v)}`, `one of ${Object.keys(ACTIONS).join(' ')}`);
  return a;
}

/** errnoRet: only for actions that carry one (runtime-spec: "the runtime MUST print an error and fail"). */
function errnoRet(src: SeccompSource, v: unknown, act: SeccompAction, field: string): number | undefined {
  if (v === undefined) return act === 'errno' ? EPERM : undefined;
  if (act !== 'errno' && act !== 'trace') throw seccompError(src, field, `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE`);
  return uint(src, v, field, act === 'errno' ? MAX_ERRNO : 0xffff);
}

/** A libseccomp architecture name for an OCI one, or an error naming the field. */
export function architecture(src: SeccompSource, v: unknown, field: string): string {
  const a = typeof v === 'string' ? ARCHITECTURES[v] : undefined;
  if (!a) throw seccompError(src, field, `unknown architecture ${JSON.stringify(v)}`, `one of ${Object.keys(ARCHITECTURES).join(' ')}`);
  return a;
}

function condition(src: SeccompSource, raw: unknown, field: string): SeccompCondition {
  if (!isObject(raw)) throw seccompError(src, field, 'must be an object (index, value, valueTwo, op)');
  const index = uint(src, raw['index'], `${field}.index`, 5);
  const op = typeof raw['op'] === 'string' ? OPS[raw['op']] : undefined;
  if (!op) throw seccompError(src, `${field}.op`, `unknown operator ${JSON.stringify(raw['op'])}`, `one of ${Object.keys(OPS).join(' ')}`);
  const c: SeccompCondition = { index, op, value: u64(src, raw['value'], `${field}.value`) };
  if (raw['valueTwo'] !== undefined) c.valueTwo = u64(src, raw['valueTwo'], `${field}.valueTwo`);
  return c;
}

function syscall(src: SeccompSource, raw: unknown, field: string): SeccompRule {
  if (!isObject(raw)) throw seccompError(src, field, 'must be an object (names, action, errnoRet, args)');
  const names = strings(src, raw['names'], `${field}.names`);
  if (names.length === 0) throw seccompError(src, `${field}.names`, 'must name at least one system call');
  names.forEach((n, i) => {
    if (!/^[a-z0-9_]+$/.test(n)) throw seccompError(src, `${field}.names[${i}]`, `${JSON.stringify(n)} is not a system call name`);
  });
  const act = action(src, raw['action'], `${field}.action`);
  const rule: SeccompRule = { names, action: act };
  const e = errnoRet(src, raw['errnoRet'], act, `${field}.errnoRet`);
  if (e !== undefined) rule.errno = e;
  if (raw['args'] !== undefined && raw['args'] !== null) {
    if (!Array.isArray(raw['args'])) throw seccompError(src, `${field}.args`, 'must be an array');
    if (raw['args'].length > 6) throw seccompError(src, `${field}.args`, 'a system call has at most 6 arguments to test');
    const args = raw['args'].map((a, i) => condition(src, a, `${field}.args[${i}]`));
    if (args.length) rule.args = args;
  }
  return rule;
}

/**
 * A checked OCI seccomp object as the spawner's filter. `src` names where
 * it came from for messages (default: `config.json`, `linux.seccomp`).
 */
export function seccompFromOci(raw: unknown, src: SeccompSource = { file: 'config.json', field: 'linux.seccomp' }): SeccompFilter {
  if (!isObject(raw)) throw seccompError(src, '', 'must be an object');
  if (raw['listenerPath'] !== undefined && raw['listenerPath'] !== '') {
    throw seccompError(src, 'listenerPath', 'a seccomp agent (SCMP_ACT_NOTIFY listener) is not supported', 'remove listenerPath and the SCMP_ACT_NOTIFY rules');
  }
  if (raw['defaultAction'] === undefined) throw seccompError(src, 'defaultAction', 'is required');
  const defaultAction = action(src, raw['defaultAction'], 'defaultAction');
  const filter: SeccompFilter = { defaultAction, rules: [] };
  const defErrno = errnoRet(src, raw['defaultErrnoRet'], defaultAction, 'defaultErrnoRet');
  if (defErrno !== undefined) filter.defaultErrno = defErrno;
  if (raw['architectures'] !== undefined && raw['architectures'] !== null) {
    filter.architectures = strings(src, raw['architectures'], 'architectures').map((a, i) => architecture(src, a, `architectures[${i}]`));
  }
  if (raw['flags'] !== undefined && raw['flags'] !== null) {
    filter.flags = strings(src, raw['flags'], 'flags').map((f, i) => {
      if (f === 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV') {
        throw seccompError(src, `flags[${i}]`, `${f} only applies to a seccomp agent's listener, which is not supported`);
      }
      const flag = FLAGS[f];
      if (!flag) throw seccompError(src, `flags[${i}]`, `unknown flag ${JSON.stringify(f)}`, `one of ${Object.keys(FLAGS).join(' ')}`);
      return flag;
    });
  }
  const calls = raw['syscalls'];
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls)) throw seccompError(src, 'syscalls', 'must be an array');
    filter.rules = calls.map((c, i) => syscall(src, c, `syscalls[${i}]`));
  }
  // Names libseccomp does not know are skipped either way. When every name
  // is a real call (one Docker's profile names), those are only newer than
  // the library, and a warning at every start would say nothing; a name
  // outside that list may be a typo: then the spawner's warning lists them.
  const known = dockerSyscallNames();
  if (filter.rules.every((r) => r.names.every((n) => known.has(n)))) filter.quietUnknown = true;
  return filter;
}
