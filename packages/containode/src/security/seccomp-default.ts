/**
 * Docker's default seccomp profile, read from seccomp-default.json: moby's
 * profile, unchanged, from github.com/moby/moby at
 * b985e2313a8676e18072b442911fc8f64f17d440,
 * vendor/github.com/moby/profiles/seccomp/default.json
 * (github.com/moby/profiles/seccomp v0.2.3), Apache License 2.0,
 * Copyright The Moby Authors.
 */
import { readFileSync } from 'node:fs';

let profile: unknown;
let names: Set<string> | undefined;

/**
 * The profile as parsed JSON. The file is data next to this module's
 * source (tsc does not copy JSON): from dist/src/security/ that is
 * ../../../src/security/. The containode-oci bundle keeps this module's URL.
 */
export function dockerDefaultProfile(): unknown {
  profile ??= JSON.parse(readFileSync(new URL('../../../src/security/seccomp-default.json', import.meta.url), 'utf8'));
  return profile;
}

/**
 * Every system call the default profile names, on any architecture: real
 * calls, some newer than the installed libseccomp. A profile naming only
 * these has nothing worth a warning when libseccomp skips some.
 */
export function dockerSyscallNames(): Set<string> {
  if (!names) {
    const p = dockerDefaultProfile() as { syscalls?: { names?: string[]; name?: string }[] };
    names = new Set((p.syscalls ?? []).flatMap((s) => [...(s.names ?? []), ...(s.name ? [s.name] : [])]));
  }
  return names;
}
