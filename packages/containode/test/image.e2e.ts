/**
 * containode --image: an image pushed to Debian's docker-registry on
 * 127.0.0.1 (mocker's own test fixtures), pulled by the mocker CLI into a
 * temporary store, run with its config as defaults, its root unpacked once
 * and shared by two containers that keep separate changes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerStateDir } from '@containet/common';
import { Cleanup, run, testIf, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containode, recordIds, startContainode, tempDir } from './helpers.js';

type Fixtures = typeof import('../../mocker/test/fixtures.js');

const MOCKER = fileURLToPath(new URL('../../../mocker/bin/mocker.cjs', import.meta.url));
const reason = whyNoRoot() ?? whyMissing('docker-registry', 'busybox');
const BUSYBOX = '/bin/busybox';

/** mocker's registry helpers, from its compiled tests (not part of its public API). */
async function fixtures(): Promise<Fixtures> {
  return (await import(new URL('../../../mocker/dist/test/fixtures.js', import.meta.url).href)) as Fixtures;
}

const APPLETS = ['sh', 'cat', 'echo', 'id', 'pwd', 'ls', 'sleep', 'env', 'touch'];

async function busyboxImage(fx: Fixtures, registry: string, repo: string, config: Record<string, unknown>): Promise<void> {
  await fx.pushImage(registry, repo, 'v1', {
    layers: [
      {
        entries: [
          { name: 'bin/', type: 'directory' },
          { name: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
          ...APPLETS.map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
          { name: 'etc/', type: 'directory' },
          { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' },
          { name: 'etc/group', data: 'root:x:0:\nstaff:x:50:app\napp:x:1000:\n' },
          { name: 'tmp/', type: 'directory', mode: 0o1777 },
        ],
      },
      {
        entries: [
          { name: 'data/', type: 'directory', mode: 0o777 },
          { name: 'data/hello.txt', data: 'hello from the image\n' },
          { name: 'home/', type: 'directory' },
          { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
        ],
      },
    ],
    config,
  });
}

interface World {
  c: Cleanup;
  store: string;
  image: string;
  env: NodeJS.ProcessEnv;
}

/** A registry with the test image, pulled by the mocker CLI into a fresh store through CONTAINET_IMAGES. */
async function withImage(config: Record<string, unknown>, fn: (w: World) => Promise<void>): Promise<void> {
  const c = new Cleanup();
  try {
    const fx = await fixtures();
    const reg = await fx.startRegistry();
    c.add('registry', () => reg.stop());
    await busyboxImage(fx, reg.url, 'test/busy', config);
    const store = tempDir(c, 'cnode-store');
    const env = { ...process.env, CONTAINET_IMAGES: store };
    const image = `${reg.host}/test/busy:v1`;
    const pulled = await run(process.execPath, [MOCKER, 'pull', '-q', image], { env, timeoutMs: 60_000 });
    assert.is(pulled.code, 0, pulled.stderr);
    await fn({ c, store, image, env });
  } finally {
    await c.run();
  }
}

const SCRIPT = 'cat /data/hello.txt; echo "cwd=$(pwd) uid=$(id -u) gid=$(id -g) groups=$(id -G) A=$A B=$B HOME=$HOME PATH=$PATH"';
const CONFIG = {
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: [SCRIPT],
  Env: ['PATH=/bin:/opt/image', 'A=from-image', 'B=kept'],
  WorkingDir: '/data',
  User: 'app',
};

testIf(test, reason, '--image runs the image\'s default command with its Env, WorkingDir and User; the command line overrides each', async () => {
  await withImage(CONFIG, async ({ image, env }) => {
    const r = await containode(['--rm', '--image', image], { env });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `hello from the image\ncwd=/data uid=1000 gid=1000 groups=1000 50 A=from-image B=kept HOME=/home/app PATH=/bin:/opt/image\n`);

    // PROGRAM replaces Cmd (the Entrypoint stays); -e, -w, -u override.
    const o = await containode(['--rm', '-r', `image:${image}`, '-e', 'A=cli', '-w', '/tmp', '-u', '0:50', SCRIPT.replace('cat /data/hello.txt; ', 'echo replaced; ')], { env });
    assert.is(o.code, 0, o.stderr);
    assert.is(o.stdout, 'replaced\ncwd=/tmp uid=0 gid=50 groups=50 A=cli B=kept HOME=/root PATH=/bin:/opt/image\n');

    // --entrypoint replaces the Entrypoint and drops the image's Cmd.
    const e = await containode(['--rm', '--image', image, '--entrypoint', '/bin/echo', 'via', 'echo'], { env });
    assert.is(e.code, 0, e.stderr);
    assert.is(e.stdout, 'via echo\n');
    const u = await containode(['--rm', '--image', image, '-u', 'app:staff', 'id -u; id -g'], { env });
    assert.is(u.stdout, '1000\n50\n', u.stderr);

    // A user the image does not know: refused, nothing left behind.
    const before = recordIds();
    const bad = await containode(['--rm', '--image', image, '-u', 'nobody-here'], { env });
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /user nobody-here is not in .*etc\/passwd/);
    assert.equal(recordIds(), before);
  });
});

/** The overlay lowerdir of a container's root, from its init's mountinfo. */
function lowerdirOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/' && l.includes(' - overlay '));
  assert.ok(line, `an overlay root in /proc/${pid}/mountinfo`);
  return /lowerdir=([^,]+)/.exec(line!)![1]!;
}

function recordOf(id: string): { pid: number; status: string; image?: string; imageDigest?: string } {
  return JSON.parse(readFileSync(join(containerStateDir(), id, 'state.json'), 'utf8'));
}

/** Every path under `dir` with its type and size, for "unchanged". */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = join(prefix, name);
    const st = lstatSync(join(dir, rel));
    out.push(`${rel} ${st.mode.toString(8)} ${st.size}`);
    if (st.isDirectory()) out.push(...tree(dir, rel));
  }
  return out;
}

testIf(test, reason, '--image containers are confined as -r ones: the filter on, /proc/sys and /sys read-only, masked files empty, the host unchanged', async () => {
  const before = readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8');
  await withImage(CONFIG, async ({ image, env }) => {
    // Each write puts back the value already there: a failed protection would still change nothing.
    const probe = [
      "grep '^Seccomp:' /proc/self/status",
      'for f in /proc/sys/kernel/printk_ratelimit /sys/module/printk/parameters/time; do v=$(cat $f); if (echo "$v" > $f) 2>/dev/null; then echo "$f=written"; else echo "$f=refused"; fi; done',
      'echo "keys=$(cat /proc/keys | wc -c)"',
      'unshare -U true 2>/dev/null && echo userns=made || echo userns=refused',
    ].join('; ');
    const r = await containode(['--rm', '-u', '0', '--image', image, '--entrypoint', '/bin/sh', '--', '-c', probe], { env });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, /^\/proc\/sys\/kernel\/printk_ratelimit=refused$/m);
    assert.match(r.stdout, /^\/sys\/module\/printk\/parameters\/time=refused$/m);
    assert.match(r.stdout, /^keys=0$/m);
    assert.match(r.stdout, /^userns=refused$/m);
  });
  assert.is(readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8'), before);
});

testIf(test, reason, 'two containers of one image share one unpacked lower layer (unpacked once) and keep separate changes', async () => {
  await withImage({ Cmd: ['/bin/sh'] }, async ({ c, store, image, env }) => {
    const ids = ['img-a-' + process.pid, 'img-b-' + process.pid];
    const topB = join(tempDir(c, 'cnode-topb'), 'top');
    const a = startContainode(c, ['--rm', '-i', ids[0]!, '--image', image, '--store', store, 'sh', '-c', 'echo A > /data/written-a; exec sleep 60']);
    await waitFor(() => existsSync(join(store, 'containers', ids[0]!, 'upper/data/written-a')), 'container A to write its file', 10_000);
    const rootfs = readdirSync(join(store, 'rootfs'));
    assert.is(rootfs.length, 1, 'one unpacked root filesystem');
    const lower = join(store, 'rootfs', rootfs[0]!);
    const born = statSync(lower).ino;
    const lowerBefore = tree(lower);

    const b = startContainode(c, ['-i', ids[1]!, '-t', topB, '--image', image, '--store', store, 'sh', '-c', 'echo B > /data/written-b; exec sleep 60']);
    await waitFor(() => existsSync(join(topB, 'upper/data/written-b')), 'container B to write its file', 10_000);

    const recA = recordOf(ids[0]!);
    const recB = recordOf(ids[1]!);
    assert.is(recA.image, image);
    assert.match(recA.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.is(recB.imageDigest, recA.imageDigest);
    assert.is(lowerdirOf(recA.pid), lower);
    assert.is(lowerdirOf(recB.pid), lower);
    assert.equal(readdirSync(join(store, 'rootfs')), rootfs, 'still one, not unpacked again');
    assert.is(statSync(lower).ino, born);

    const inA = await containode(['exec', ids[0]!, 'ls', '/data'], { env });
    const inB = await containode(['exec', ids[1]!, 'ls', '/data'], { env });
    assert.equal(inA.stdout.split(/\s+/).filter(Boolean), ['hello.txt', 'written-a'], inA.stderr);
    assert.equal(inB.stdout.split(/\s+/).filter(Boolean), ['hello.txt', 'written-b'], inB.stderr);
    assert.equal(tree(lower), lowerBefore, 'the lower layer is unchanged');

    const ps = await containode(['ps', '--json'], { env });
    const listed = (JSON.parse(ps.stdout) as Array<{ id: string; image?: string }>).filter((r) => ids.includes(r.id));
    assert.equal(listed.map((r) => r.image), [image, image]);
    const inspected = JSON.parse((await containode(['inspect', ids[1]!], { env })).stdout) as { image?: string; imageDigest?: string; root?: string };
    assert.equal([inspected.image, inspected.imageDigest, inspected.root], [image, recA.imageDigest, lower]);
    const table = (await containode(['ps'], { env })).stdout;
    assert.match(table, new RegExp(`${ids[0]}\\b.*${image.replace(/[.]/g, '\\.')}`));

    // `mocker rm` while containers use the image is refused, naming them;
    // with --force the name goes and the lower layer they have mounted (in
    // their own mount namespaces) stays.
    const refused = await run(process.execPath, [MOCKER, 'rm', image], { env });
    assert.is.not(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`used by running containers ${ids[0]}, ${ids[1]}`));
    const rm = await run(process.execPath, [MOCKER, 'rm', '--force', image], { env });
    assert.is(rm.code, 0, rm.stderr);
    assert.ok(existsSync(lower), 'a lower layer in use is not collected');
    assert.equal(tree(lower), lowerBefore);

    await containode(['kill', ids[0]!, 'KILL'], { env });
    await containode(['kill', ids[1]!, 'KILL'], { env });
    assert.is(await a.exit, 137);
    assert.is(await b.exit, 137);
    assert.not.ok(existsSync(join(store, 'containers', ids[0]!)), '--rm removed the default top directory');
    assert.is(readFileSync(join(topB, 'upper/data/written-b'), 'utf8'), 'B\n', '-t without --rm keeps the changes');
    assert.equal(tree(lower), lowerBefore);
  });
});

testIf(test, reason, 'a missing image: one-line error with the `mocker pull` hint, nothing created', async () => {
  const c = new Cleanup();
  try {
    const store = join(tempDir(c, 'cnode-nostore'), 'store');
    const before = recordIds();
    const r = await containode(['--image', 'example.test/nosuch:1', '--store', store, '-i', `nosuch-${process.pid}`, '/bin/sh']);
    assert.is(r.code, 1);
    assert.match(r.stderr, /no image example\.test\/nosuch:1/);
    assert.match(r.stderr, /mocker pull example\.test\/nosuch:1/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(recordIds(), before);
    assert.not.ok(existsSync(join(store, 'containers')), 'no top directory');
    const both = await containode(['--image', 'a', '-r', '/', '/bin/sh']);
    assert.is(both.code, 2);
    const entry = await containode(['--entrypoint', '/bin/sh', '/bin/true']);
    assert.is(entry.code, 2);
  } finally {
    await c.run();
  }
});

test.run();
