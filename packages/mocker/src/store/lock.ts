/**
 * A lock between processes sharing the store: a file created with O_EXCL
 * holding the owner's pid. A lock whose owner is gone (the pull was killed)
 * is taken over, so an interrupted mocker never wedges the store.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { ContainetError } from '@containet/common';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const started = Date.now();
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    // An empty file is a lock being written right now; a dead pid is stale.
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() - started > timeoutMs) throw new ContainetError('MOCKER_LOCKED', `${path} is held by process ${owner || '?'}`, { hint: 'wait for the other mocker to finish' });
    await new Promise((r) => setTimeout(r, wait));
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => {});
  }
}
