/**
 * Run options from an image's config (Docker's rules for Entrypoint, Cmd,
 * Env, WorkingDir, User) and user lookup in a root's /etc/passwd and
 * /etc/group.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainetError } from '@containet/common';
import { parseRunOptions, resolveUser, type ImageDefaults } from '@containet/containode';

const IMAGE: ImageDefaults = {
  name: 'registry.test/app:1',
  digest: `sha256:${'a'.repeat(64)}`,
  config: { Entrypoint: ['/entry', '--flag'], Cmd: ['serve'], Env: ['PATH=/img/bin', 'A=1', 'noequals'], WorkingDir: 'srv', User: 'app' },
};
const STORE = '/tmp/store-unit';

function env(list: string[], key: string): string | undefined {
  return list.find((kv) => kv.startsWith(`${key}=`))?.slice(key.length + 1);
}

test('the image\'s Entrypoint + Cmd by default; PROGRAM replaces Cmd; --entrypoint replaces Entrypoint and drops Cmd', () => {
  const o = parseRunOptions({ image: IMAGE.name, store: STORE, identity: 'unit1' }, [], IMAGE);
  assert.equal(o.args, ['/entry', '--flag', 'serve']);
  assert.is(o.workdir, '/srv');
  assert.is(o.user, 'app');
  assert.is(o.top, join(STORE, 'containers', 'unit1'));
  assert.is(o.root, undefined, 'known only after unpacking');
  assert.equal(o.image, { name: IMAGE.name, digest: IMAGE.digest, store: STORE });
  assert.equal(parseRunOptions({ image: IMAGE.name, store: STORE }, ['other', 'x'], IMAGE).args, ['/entry', '--flag', 'other', 'x']);
  assert.equal(parseRunOptions({ image: IMAGE.name, store: STORE, entrypoint: '/bin/sh' }, [], IMAGE).args, ['/bin/sh']);
  assert.equal(parseRunOptions({ image: IMAGE.name, store: STORE, entrypoint: '' }, ['ls', '/'], IMAGE).args, ['ls', '/']);
  assert.equal(parseRunOptions({ root: `image:${IMAGE.name}`, store: STORE }, [], IMAGE).args, ['/entry', '--flag', 'serve']);
});

test('Env: defaults < image < -e; PATH from the image; -w and -u override', () => {
  const o = parseRunOptions({ image: IMAGE.name, store: STORE, env: ['A=2', 'HOME=/h'], workdir: '/w', user: '5:6', identity: 'unit2' }, [], IMAGE);
  assert.is(env(o.env, 'PATH'), '/img/bin');
  assert.is(env(o.env, 'A'), '2');
  assert.is(env(o.env, 'HOSTNAME'), 'unit2');
  assert.is(env(o.env, 'HOME'), '/h');
  assert.ok(o.explicitHome);
  assert.not.ok(o.env.includes('noequals'));
  assert.is(o.workdir, '/w');
  assert.is(o.user, '5:6');
});

test('bad combinations are usage errors', () => {
  const usage = (fn: () => unknown, re: RegExp) => {
    try {
      fn();
      assert.unreachable('no error');
    } catch (err) {
      assert.instance(err, ContainetError);
      assert.is((err as ContainetError).code, 'CN_USAGE');
      assert.match((err as Error).message, re);
    }
  };
  const noCmd: ImageDefaults = { ...IMAGE, config: {} };
  usage(() => parseRunOptions({ image: 'x', store: STORE }, [], noCmd), /has no Entrypoint or Cmd/);
  usage(() => parseRunOptions({ image: 'x', root: '/' }, ['sh'], IMAGE), /--image and -r/);
  usage(() => parseRunOptions({ image: '' }, ['sh'], IMAGE), /empty image name/);
  usage(() => parseRunOptions({ entrypoint: '/bin/sh' }, ['x']), /--entrypoint needs --image/);
  usage(() => parseRunOptions({ store: STORE }, ['x']), /--store needs --image/);
  usage(() => parseRunOptions({ image: 'x', store: STORE, top: join(STORE, 'rootfs', 'abc', 't') }, ['sh'], IMAGE), /outside the image store's root/);
  usage(() => parseRunOptions({ user: 'a:b:c' }, ['x']), /invalid -u/);
  usage(() => parseRunOptions({ user: 'app' }, ['x']), /names need a root filesystem/);
  usage(() => parseRunOptions({ mtu: '67', socket: '/s' }, ['x']), /invalid --mtu/);
  usage(() => parseRunOptions({ mtu: '65536', socket: '/s' }, ['x']), /invalid --mtu/);
  assert.is(parseRunOptions({ mtu: '68', socket: '/s' }, ['x']).interfaces[0]!.mtu, 68);
  assert.is(parseRunOptions({ mtu: '65535', socket: '/s' }, ['x']).interfaces[0]!.mtu, 65535);
});

test('users: uid[:gid], names from /etc/passwd and /etc/group, supplementary groups, symlinked files ignored', () => {
  const root = mkdtempSync(join(tmpdir(), 'cnode-users-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001:App:/home/app:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nwheel:x:10:root,app\napps:x:1001:\naudio:x:29:app\n');
    assert.equal(resolveUser(root, 'app'), { uid: 1000, gid: 1001, additionalGids: [10, 29], home: '/home/app' });
    assert.equal(resolveUser(root, '1000'), { uid: 1000, gid: 1001, additionalGids: [10, 29], home: '/home/app' });
    assert.equal(resolveUser(root, 'app:wheel'), { uid: 1000, gid: 10, additionalGids: [29], home: '/home/app' });
    assert.equal(resolveUser(root, '4242:7'), { uid: 4242, gid: 7, additionalGids: [], home: undefined });
    assert.equal(resolveUser(undefined, '3'), { uid: 3, gid: 0, additionalGids: [], home: undefined });
    assert.throws(() => resolveUser(root, 'nobody'), (e: ContainetError) => e.code === 'CN_USER_UNKNOWN' && /user nobody is not in/.test(e.message));
    assert.throws(() => resolveUser(root, 'app:nogroup'), (e: ContainetError) => e.code === 'CN_USER_UNKNOWN' && /group nogroup/.test(e.message));
    assert.throws(() => resolveUser(root, '4294967295'), /not in/);
    // An image's /etc/passwd pointing at the host's is not read.
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('/etc/passwd', join(root, 'etc/passwd'));
    assert.throws(() => resolveUser(root, 'root'), /user root is not in/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
