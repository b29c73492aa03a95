import { chmod, mkdir, symlink, writeFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './exec.js';

/** Where Debian's busybox-static installs its binary. */
export const BUSYBOX = '/bin/busybox';

/**
 * A minimal root filesystem from Debian's busybox-static: one static binary,
 * its applet links, /etc/passwd and /etc/group, and empty mount points.
 */
export async function makeBusyboxRoot(dir: string): Promise<string> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing: apt-get install -y busybox-static`);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'run']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const applets = (await sh(BUSYBOX, '--list-full')).split('\n').filter(Boolean);
  for (const applet of applets) {
    const path = join(dir, applet);
    if (applet === 'bin/busybox' || existsSync(path)) continue;
    await symlink('/bin/busybox', path);
  }
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(join(dir, 'etc/hostname'), 'busybox\n');
  return dir;
}
