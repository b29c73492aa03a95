/**
 * Docker's seccomp profile format (moby's profiles/seccomp: the OCI fields
 * plus `archMap` and per-rule `includes`/`excludes`) evaluated for one
 * container the way dockerd does it (setupSeccomp): the native
 * architecture's archMap entry, rules kept or dropped by the host's
 * architecture and kernel and by the container's bounding capabilities,
 * so `--cap-add SYS_ADMIN` allows mount(2) as under Docker.
 */
import { release } from 'node:os';
import type { SeccompFilter } from '../runtime/spec.js';
import { architecture, isObject, seccompError, seccompFromOci, type OciSeccomp, type OciSyscall, type SeccompSource } from './seccomp-oci.js';

/** What a profile's conditions are tested against. */
export interface ProfileHost {
  /** moby's architecture name: amd64, arm64, x86, arm, ppc64le, s390x, riscv64, ... */
  arch: string;
  /** The kernel release, as uname -r (only major.minor count). */
  kernel: string;
}

/** Node's process.arch to moby's names (goToNative) and OCI's native architecture. */
const NATIVE: Record<string, { moby: string; oci: string }> = {
  x64: { moby: 'amd64', oci: 'SCMP_ARCH_X86_64' },
  ia32: { moby: 'x86', oci: 'SCMP_ARCH_X86' },
  arm64: { moby: 'arm64', oci: 'SCMP_ARCH_AARCH64' },
  arm: { moby: 'arm', oci: 'SCMP_ARCH_ARM' },
  ppc64: { moby: 'ppc64le', oci: 'SCMP_ARCH_PPC64LE' },
  s390x: { moby: 's390x', oci: 'SCMP_ARCH_S390X' },
  riscv64: { moby: 'riscv64', oci: 'SCMP_ARCH_RISCV64' },
  loong64: { moby: 'loongarch64', oci: 'SCMP_ARCH_LOONGARCH64' },
  mips64el: { moby: 'mipsel64', oci: 'SCMP_ARCH_MIPSEL64' },
};

const MOBY_TO_OCI: Record<string, string> = Object.fromEntries(Object.values(NATIVE).map((n) => [n.moby, n.oci]));

export function thisHost(): ProfileHost {
  return { arch: NATIVE[process.arch]?.moby ?? process.arch, kernel: release() };
}

/** CAP_SYS_ADMIN for SYS_ADMIN, sys_admin or CAP_SYS_ADMIN. */
export function capabilityName(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function kernelVersion(src: SeccompSource, v: unknown, field: string): [number, number] {
  const m = typeof v === 'string' ? /^(\d{1,3})\.(\d{1,3})$/.exec(v) : null;
  if (!m || (m[1] === '0' && m[2] === '0')) throw seccompError(src, field, `invalid kernel version ${JSON.stringify(v)}, expected "<kernel>.<major>" such as "4.8"`);
  return [Number(m[1]), Number(m[2])];
}

/** moby's kernelGreaterEqualThan: only kernel and major revision count. */
function kernelAtLeast(host: ProfileHost, want: [number, number]): boolean {
  const m = /^(\d+)\.(\d+)/.exec(host.kernel);
  if (!m) return false;
  const have = [Number(m[1]), Number(m[2])] as const;
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

interface Filter {
  caps: string[];
  arches: string[];
  minKernel?: [number, number];
}

function ruleFilter(src: SeccompSource, v: unknown, field: string): Filter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw seccompError(src, field, 'must be an object (caps, arches, minKernel)');
  const list = (k: string) => {
    const x = v[k];
    if (x === undefined || x === null) return [];
    if (!Array.isArray(x) || x.some((s) => typeof s !== 'string')) throw seccompError(src, `${field}.${k}`, 'must be an array of strings');
    return x as string[];
  };
  const f: Filter = { caps: list('caps').map(capabilityName), arches: list('arches') };
  if (v['minKernel'] !== undefined && v['minKernel'] !== null && v['minKernel'] !== '') f.minKernel = kernelVersion(src, v['minKernel'], `${field}.minKernel`);
  return f;
}

/** moby's setupSeccomp: is the rule in for this container on this host? */
function applies(inc: Filter | undefined, exc: Filter | undefined, bounding: Set<string>, host: ProfileHost): boolean {
  if (exc) {
    if (exc.arches.includes(host.arch)) return false;
    if (exc.caps.some((c) => bounding.has(c))) return false;
    if (exc.minKernel && kernelAtLeast(host, exc.minKernel)) return false;
  }
  if (inc) {
    if (inc.arches.length && !inc.arches.includes(host.arch)) return false;
    if (inc.caps.some((c) => !bounding.has(c))) return false;
    if (inc.minKernel && !kernelAtLeast(host, inc.minKernel)) return false;
  }
  return true;
}

/**
 * A Docker profile (parsed JSON) evaluated into OCI's linux.seccomp form for
 * a container whose bounding set is `capabilities` (CAP_X or X names).
 */
export function dockerProfileToOci(raw: unknown, capabilities: readonly string[], src: SeccompSource, host: ProfileHost = thisHost()): OciSeccomp {
  return evaluate(raw, capabilities, src, host).oci;
}

/**
 * The profile checked once, entry by entry as OCI rules, then cut down to
 * the entries whose conditions hold: both as OCI's form and as the filter
 * (its rules are the checked entries', so nothing is checked twice).
 */
function evaluate(raw: unknown, capabilities: readonly string[], src: SeccompSource, host: ProfileHost): { oci: OciSeccomp; filter: SeccompFilter } {
  if (!isObject(raw)) throw seccompError(src, '', 'must be a JSON object');
  const calls = raw['syscalls'];
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) throw seccompError(src, 'syscalls', 'must be an array');
  const entries: unknown[] = Array.isArray(calls) ? calls : [];

  // Every entry as OCI sees it (name -> names), checked with the OCI rules
  // under its own index before any is dropped by its conditions.
  const asOci = entries.map((c, i): unknown => {
    if (!isObject(c)) return c;
    if (c['name'] !== undefined && c['names'] !== undefined) throw seccompError(src, `syscalls[${i}]`, "gives both 'name' and 'names': use 'names'");
    const { name, comment: _comment, includes: _inc, excludes: _exc, ...rest } = c;
    return name === undefined ? rest : { ...rest, names: [name] };
  });
  const archMap = raw['archMap'];
  if (archMap !== undefined && archMap !== null && raw['architectures'] !== undefined && raw['architectures'] !== null) {
    throw seccompError(src, 'archMap', "both 'architectures' and 'archMap' are given: use one");
  }
  const { archMap: _archMap, syscalls: _syscalls, ...top } = raw;
  const checked = seccompFromOci({ ...top, syscalls: asOci }, src);

  const out: OciSeccomp = { defaultAction: String(raw['defaultAction']) };
  if (typeof raw['defaultErrnoRet'] === 'number') out.defaultErrnoRet = raw['defaultErrnoRet'];
  if (Array.isArray(raw['architectures'])) out.architectures = raw['architectures'] as string[];
  if (Array.isArray(raw['flags'])) out.flags = raw['flags'] as string[];
  if (archMap !== undefined && archMap !== null) {
    if (!Array.isArray(archMap)) throw seccompError(src, 'archMap', 'must be an array');
    const native = MOBY_TO_OCI[host.arch];
    archMap.forEach((a, i) => {
      if (!isObject(a)) throw seccompError(src, `archMap[${i}]`, 'must be an object (architecture, subArchitectures)');
      architecture(src, a['architecture'], `archMap[${i}].architecture`);
      const subs = a['subArchitectures'] ?? [];
      if (!Array.isArray(subs)) throw seccompError(src, `archMap[${i}].subArchitectures`, 'must be an array');
      subs.forEach((s, j) => architecture(src, s, `archMap[${i}].subArchitectures[${j}]`));
      if (native !== undefined && a['architecture'] === native && out.architectures === undefined) out.architectures = [native, ...(subs as string[])];
    });
  }

  const bounding = new Set(capabilities.map(capabilityName));
  const syscalls: OciSyscall[] = [];
  const rules: SeccompFilter['rules'] = [];
  entries.forEach((c, i) => {
    const inc = ruleFilter(src, (c as Record<string, unknown>)['includes'], `syscalls[${i}].includes`);
    const exc = ruleFilter(src, (c as Record<string, unknown>)['excludes'], `syscalls[${i}].excludes`);
    if (!applies(inc, exc, bounding, host)) return;
    syscalls.push(asOci[i] as OciSyscall);
    rules.push(checked.rules[i]!);
  });
  out.syscalls = syscalls;
  const filter: SeccompFilter = { ...checked, rules };
  if (out.architectures) filter.architectures = out.architectures.map((a, i) => architecture(src, a, `architectures[${i}]`));
  return { oci: out, filter };
}

/**
 * Docker's JSON profile format (text or parsed) as the spawner's filter,
 * for a container with these bounding capabilities. A profile that does not
 * parse or names an unknown action, operator or architecture throws one
 * line naming the field (CN_SECCOMP_PROFILE, exit 2).
 */
export function parseDockerProfile(json: string | unknown, capabilities: readonly string[], file = 'seccomp profile', host?: ProfileHost): SeccompFilter {
  const src: SeccompSource = { file, field: '' };
  let raw = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw seccompError(src, '', `not valid JSON: ${(err as Error).message}`, "give a profile in Docker's seccomp JSON format");
    }
  }
  return evaluate(raw, capabilities, src, host ?? thisHost()).filter;
}
