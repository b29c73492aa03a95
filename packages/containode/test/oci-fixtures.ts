/**
 * Fixtures for the containode-oci tests: busybox bundles with a config.json
 * made for each test, a private --root state directory, and the CLI run as
 * callers run it (a separate process per command).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRoot, type Cleanup, type ExecResult } from '@containet/common/testing';

export const OCI = fileURLToPath(new URL('../../bin/containode-oci.cjs', import.meta.url));
export const CONTAINET = fileURLToPath(new URL('../../../containet/bin/containet.js', import.meta.url));

export interface Bundle {
  dir: string;
  rootfs: string;
  /** --root of this test. */
  state: string;
}

export function tempDir(cleanup: Cleanup, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanup.add(`rm -r ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A config.json as a test wants it: no terminal, writable root, runc's mounts. */
export function baseConfig(args: string[]): Record<string, any> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      cwd: '/',
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'ocitest',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
    },
  };
}

/** A busybox bundle with `config` (object) as config.json. */
export async function makeBundle(cleanup: Cleanup, config: Record<string, any>): Promise<Bundle> {
  const dir = tempDir(cleanup, 'ocib');
  const rootfs = await makeBusyboxRoot(join(dir, 'rootfs'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 1));
  const state = tempDir(cleanup, 'ocis');
  return { dir, rootfs, state };
}

export function writeConfig(b: Bundle, config: Record<string, any>): void {
  writeFileSync(join(b.dir, 'config.json'), JSON.stringify(config, null, 1));
}

/**
 * Run `containode-oci --root STATE ARGS...`. Its stdout and stderr are
 * files, not pipes: after `create`, the container's init holds the stdio
 * it was given (terminal: false), so a pipe would only reach end of file
 * when the container ends.
 */
export async function oci(b: Pick<Bundle, 'state'>, args: string[], opts: { input?: string; timeoutMs?: number; global?: string[] } = {}): Promise<ExecResult> {
  const io = mkdtempSync(join(tmpdir(), 'ocio-'));
  try {
    const fds = ['in', 'out', 'err'].map((n, i) => {
      const path = join(io, n);
      if (i === 0) writeFileSync(path, opts.input ?? '');
      return openSync(path, i === 0 ? 'r' : 'w');
    });
    let code: number;
    try {
      const child = spawn(process.execPath, [OCI, '--root', b.state, ...(opts.global ?? []), ...args], { stdio: fds });
      code = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`containode-oci ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30_000} ms`));
        }, opts.timeoutMs ?? 30_000);
        child.once('exit', (c, sig) => {
          clearTimeout(timer);
          resolve(c ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0));
        });
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    return { code, stdout: readFileSync(join(io, 'out'), 'utf8'), stderr: readFileSync(join(io, 'err'), 'utf8') };
  } finally {
    rmSync(io, { recursive: true, force: true });
  }
}

/** `state ID` parsed; throws with stderr when it fails. */
export async function ociState(b: Bundle, id: string): Promise<Record<string, any>> {
  const r = await oci(b, ['state', id]);
  if (r.code !== 0) throw new Error(`state ${id} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

/** Remove a container whatever its status, at cleanup. */
export function deleteLater(cleanup: Cleanup, b: Bundle, id: string): void {
  cleanup.add(`delete ${id}`, async () => {
    const r = await oci(b, ['delete', '--force', id]);
    if (r.code !== 0) throw new Error(r.stderr);
  });
}

export type { ExecResult };
