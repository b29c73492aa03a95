/**
 * `-u` / the image's User: `uid[:gid]` or names, looked up in the root
 * filesystem's /etc/passwd and /etc/group as Docker does (passwd(5),
 * group(5)). The files belong to the image, not the host: a symlink on the
 * way is not followed (it could point anywhere on the host), the file then
 * counts as absent.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The passwd entry's home directory, when there is one. */
  home: string | undefined;
}

function readDbFile(root: string | undefined, name: string): string[][] {
  if (!root) return [];
  try {
    for (const p of [join(root, 'etc'), join(root, 'etc', name)]) if (lstatSync(p).isSymbolicLink()) return [];
    return readFileSync(join(root, 'etc', name), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const ID_MAX = 0xfffffffe; // (uid_t)-1 means "unchanged" to setresuid(2)

function numeric(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= ID_MAX ? n : undefined;
}

function unknown(what: string, name: string, root: string | undefined): ContainetError {
  return new ContainetError('CN_USER_UNKNOWN', `${what} ${name} is not in ${root ? `${join(root, 'etc', what === 'user' ? 'passwd' : 'group')}` : 'the root filesystem'}`, {
    hint: `give a numeric id (-u UID[:GID]) or a ${what} the image defines`,
  });
}

export function resolveUser(root: string | undefined, spec: string): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = readDbFile(root, 'passwd');
  const groups = readDbFile(root, 'group');
  const asUid = numeric(userPart);
  const entry = passwd.find((f) => (asUid !== undefined ? numeric(f[2] ?? '') === asUid : f[0] === userPart));
  if (asUid === undefined && !entry) throw unknown('user', userPart, root);
  const uid = asUid ?? numeric(entry![2] ?? '');
  if (uid === undefined) throw unknown('user', userPart, root);
  let gid = entry ? numeric(entry[3] ?? '') ?? 0 : 0;
  if (groupPart !== undefined) {
    const asGid = numeric(groupPart);
    if (asGid !== undefined) gid = asGid;
    else {
      const g = groups.find((f) => f[0] === groupPart);
      const n = g ? numeric(g[2] ?? '') : undefined;
      if (n === undefined) throw unknown('group', groupPart, root);
      gid = n;
    }
  }
  // Supplementary groups: those listing the user's name as a member (as
  // initgroups(3) does); only a named passwd entry has a name to list.
  const additional = new Set<number>();
  if (entry?.[0]) {
    for (const g of groups) {
      const n = numeric(g[2] ?? '');
      if (n !== undefined && n !== gid && (g[3] ?? '').split(',').includes(entry[0])) additional.add(n);
    }
  }
  return { uid, gid, additionalGids: [...additional], home: entry?.[5] || undefined };
}
