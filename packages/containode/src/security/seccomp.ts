/**
 * The system-call filters a container can get: Docker's default profile
 * evaluated for the container's capabilities (confined by default), a
 * Docker JSON profile given by the user, or an OCI config's linux.seccomp.
 * All become a SeccompFilter for ContainerSpec.seccomp, which
 * containode-spawn compiles with libseccomp and installs just before execve.
 * The default profile's data and provenance: seccomp-default.ts.
 */
import { readFileSync } from 'node:fs';
import { ContainetError } from '@containet/common';
import type { SeccompFilter } from '../runtime/spec.js';
import type { SeccompChoice } from './security-opt.js';
import { dockerDefaultProfile } from './seccomp-default.js';
import { dockerProfileToOci, parseDockerProfile, type ProfileHost } from './seccomp-docker.js';
import type { OciSeccomp } from './seccomp-oci.js';

export { seccompFeatures, seccompFromOci, type OciSeccomp, type OciSyscall } from './seccomp-oci.js';
export { parseDockerProfile, dockerProfileToOci, type ProfileHost } from './seccomp-docker.js';

const DEFAULT_SOURCE = { file: 'seccomp-default.json (Docker default profile)', field: '' };

/**
 * Docker's default filter for a container with these bounding capabilities
 * (CAP_X or X): e.g. with CAP_SYS_ADMIN, mount(2), unshare(2) and clone(2)
 * with namespace flags are allowed, as under `docker run --cap-add SYS_ADMIN`.
 * System calls newer than the installed libseccomp are skipped quietly.
 */
export function defaultSeccompFilter(capabilities: readonly string[], host?: ProfileHost): SeccompFilter {
  return parseDockerProfile(dockerDefaultProfile(), capabilities, DEFAULT_SOURCE.file, host);
}

/** The default profile in OCI's linux.seccomp form, for config.json (`containode-oci spec`). */
export function defaultOciSeccomp(capabilities: readonly string[], host?: ProfileHost): OciSeccomp {
  return dockerProfileToOci(dockerDefaultProfile(), capabilities, DEFAULT_SOURCE, host);
}

/**
 * The filter a --security-opt seccomp choice means for a container with
 * these bounding capabilities: Docker's default, none (unconfined), or a
 * profile file in Docker's format. A file that cannot be read or parsed is
 * one line naming it (CN_SECCOMP_PROFILE, exit 2).
 */
export function seccompFilterFor(choice: SeccompChoice, capabilities: readonly string[]): SeccompFilter | undefined {
  if (choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'default') return defaultSeccompFilter(capabilities);
  let text: string;
  try {
    text = readFileSync(choice.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ContainetError('CN_SECCOMP_PROFILE', `cannot read seccomp profile ${choice.path}: ${code}`, {
      exitCode: 2,
      hint: "give a readable file in Docker's seccomp JSON format, or seccomp=unconfined",
    });
  }
  return parseDockerProfile(text, capabilities, choice.path);
}
