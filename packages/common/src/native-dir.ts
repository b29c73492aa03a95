/**
 * Where native/'s build is found: libcontainet.so, the helper executables,
 * mocker's digest.node. Apart from native.ts so that a program can find a
 * file there without loading koffi and the C library's declarations.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directories searched for the native build, in order. */
export function nativeDirCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list: string[] = [];
  if (process.env['CONTAINET_NATIVE_DIR']) list.push(resolve(process.env['CONTAINET_NATIVE_DIR']));
  // packages/common/dist/src -> repository root -> native/build
  list.push(resolve(here, '../../../../native/build'));
  list.push('/usr/local/lib/containet');
  return list;
}

/** native/build/NAME (an addon, a helper) from the first candidate directory that has it, or null. */
export function findNativeFile(name: string): string | null {
  for (const dir of nativeDirCandidates()) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

