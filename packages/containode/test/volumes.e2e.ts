/**
 * containode run -v: a host file and directory bound read-write (the
 * container writes, the host reads the bytes) and read-only (a write fails
 * with EROFS, the host's file is unchanged), on the host's files, in a -r
 * busybox root (the mount point made in the overlay's upper layer, never in
 * the root) and in an image pulled from a registry on 127.0.0.1; a symlink
 * in the container path that points out of the root lands inside it;
 * refusals with nothing started; a detached container keeps its volume
 * across a restart and inspect shows it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, makeBusyboxRoot, run, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { baseSpec, busyboxRoot, containode, recordIds, runSpec, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-vol-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

const EROFS = /Read-only file system/;

/** A host directory with a file and a directory to bind. */
function hostSources(c: Cleanup): { dir: string; file: string; sub: string } {
  const dir = tempDir(c, 'cnode-vol-src');
  const file = join(dir, 'file.txt');
  writeFileSync(file, 'from the host\n');
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  return { dir, file, sub };
}

/**
 * The four cases in one container root: FILE and DIR bound read-write at
 * /vol/rw-file and /vol/rw-dir, read-only at /vol/ro-file and /vol/ro-dir
 * (under `base`, the container paths' parent).
 */
async function checkBinds(c: Cleanup, base: string, runArgs: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  const s = hostSources(c);
  const roFile = join(s.dir, 'ro.txt');
  writeFileSync(roFile, 'read only\n');
  const roDir = join(s.dir, 'ro-dir');
  mkdirSync(roDir);
  writeFileSync(join(roDir, 'kept'), 'kept\n');
  const script = [
    `cat ${base}/rw-file`,
    `echo written-by-container > ${base}/rw-file`,
    `echo new-file > ${base}/rw-dir/made.txt`,
    `cat ${base}/ro-file`,
    `if echo x > ${base}/ro-file; then echo ro-file-writable; fi`,
    `if echo x > ${base}/ro-dir/new; then echo ro-dir-writable; fi`,
    `cat ${base}/ro-dir/kept`,
  ].join('; ');
  const r = await containode(
    [...runArgs, '-v', `${s.file}:${base}/rw-file`, '-v', `${s.sub}:${base}/rw-dir:rw`, '-v', `${roFile}:${base}/ro-file:ro`, '-v', `${roDir}:${base}/ro-dir:ro,rprivate`, '--', 'sh', '-c', script],
    { env },
  );
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'from the host\nread only\nkept\n');
  // Both writes to the read-only volumes failed with EROFS (sh's message).
  assert.is(r.stderr.split('\n').filter((l) => EROFS.test(l)).length, 2, r.stderr);
  assert.is(readFileSync(s.file, 'utf8'), 'written-by-container\n');
  assert.is(readFileSync(join(s.sub, 'made.txt'), 'utf8'), 'new-file\n');
  assert.is(readFileSync(roFile, 'utf8'), 'read only\n');
  assert.not.ok(existsSync(join(roDir, 'new')));
}

testIf(test, noRoot, 'host files: a file and a directory bound rw (the host sees the bytes) and ro (EROFS, the host file unchanged)', async () => {
  const c = new Cleanup();
  try {
    // The host's files are the container's: the mount points must exist (containode makes none there).
    const base = tempDir(c, 'cnode-vol-targets');
    writeFileSync(join(base, 'rw-file'), '');
    writeFileSync(join(base, 'ro-file'), '');
    mkdirSync(join(base, 'rw-dir'));
    mkdirSync(join(base, 'ro-dir'));
    const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base)).length;
    await checkBinds(c, base, ['run', '--rm', '-N']);
    // Nothing propagated to the host's mount namespace.
    assert.is(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base)).length, mountsBefore);

    // A missing container path on the host's files is refused, nothing made.
    const s = hostSources(c);
    const missing = join(base, 'not-there');
    const before = recordIds();
    const r = await containode(['run', '--rm', '-N', '-v', `${s.sub}:${missing}`, 'true']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /does not exist, and a container without -r or --image shares the host's files/);
    assert.not.ok(existsSync(missing));
    assert.equal(recordIds(), before);
  } finally {
    await c.run();
  }
});

testIf(test, noRoot, '-r busybox root: the binds work and their mount points are made in the upper layer, never in the root', async () => {
  const c = new Cleanup();
  try {
    const root = await busyboxRoot(c);
    const top = join(tempDir(c, 'cnode-vol-top'), 'top');
    await checkBinds(c, '/vol', ['run', '-N', '-r', root, '-t', top]);
    assert.not.ok(existsSync(join(root, 'vol')), 'the root is the lower layer: untouched');
    assert.ok(existsSync(join(top, 'upper', 'vol', 'rw-dir')), 'the directory mount point is in the upper layer');
    assert.is(readFileSync(join(top, 'upper', 'vol', 'rw-file'), 'utf8'), '', 'the file mount point is an empty file there');

    // A missing host directory is made, as Docker's -v does.
    const made = join(tempDir(c, 'cnode-vol-made'), 'a', 'b');
    const r = await containode(['run', '--rm', '-N', '-r', root, '-v', `${made}:/made`, 'sh', '-c', 'echo hi > /made/x']);
    assert.is(r.code, 0, r.stderr);
    assert.is(readFileSync(join(made, 'x'), 'utf8'), 'hi\n');
  } finally {
    await c.run();
  }
});

testIf(test, noRoot, 'a symlink in the container path that points out of the root is resolved inside it: nothing is bound onto the host', async () => {
  const c = new Cleanup();
  try {
    const root = tempDir(c, 'cnode-vol-linkroot');
    await makeBusyboxRoot(root);
    const victim = tempDir(c, 'cnode-vol-victim');
    // Absolute and relative links that would reach the host's `victim` from the host's view.
    symlinkSync(victim, join(root, 'abs'));
    symlinkSync(`../../../../../../..${victim}`, join(root, 'rel'));
    // The same path inside the root: where the links lead when resolved there.
    mkdirSync(join(root, victim), { recursive: true });
    const s = hostSources(c);
    const r = await containode(['run', '--rm', '-N', '-r', root, '-v', `${s.sub}:/abs/in`, '-v', `${s.file}:/rel/f`, '--', 'sh', '-c', `echo via-link > /abs/in/w; cat /rel/f; ls ${victim}`]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'from the host\nf\nin\n', 'both links landed in the root');
    assert.is(readFileSync(join(s.sub, 'w'), 'utf8'), 'via-link\n');
    assert.not.ok(existsSync(join(victim, 'in')), 'no mount point made on the host');
    assert.not.ok(existsSync(join(victim, 'f')));
    assert.not.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(victim), 'nothing mounted on the host');
    assert.not.ok(existsSync(join(root, victim, 'in')), 'the mount point was made in the upper layer (gone with --rm), not in the root');

    // A link to a place only the host has: refused by the spawner (nothing to make it in), the host untouched.
    const elsewhere = tempDir(c, 'cnode-vol-elsewhere');
    symlinkSync(elsewhere, join(root, 'dangling'));
    const d = await containode(['run', '--rm', '-N', '-r', root, '-v', `${s.sub}:/dangling/in`, 'true']);
    assert.is(d.code, 1, d.stderr);
    assert.match(d.stderr, /mkdir\(\/dangling\/in, mount point\): No such file or directory/);
    assert.not.ok(existsSync(join(elsewhere, 'in')));
  } finally {
    await c.run();
  }
});

testIf(test, noRoot, 'refusals: relative path, named volume, missing colon, /proc and /sys targets, bad options: exit 2, nothing started or made', async () => {
  const c = new Cleanup();
  try {
    const base = tempDir(c, 'cnode-vol-refuse');
    const src = join(base, 'would-be-made');
    const cases: [string, RegExp][] = [
      [`rel/dir:/data`, /host path rel\/dir must be absolute/],
      [`${src}:data`, /container path data must be absolute/],
      ['mydata:/data', /named volumes \(mydata\) are not supported: use a host path/],
      ['mydata', /named volumes are not supported/],
      [src, /anonymous volumes are not supported/],
      [`${src}:/proc/sys/kernel`, /under \/proc, which holds the container's masked and read-only paths/],
      [`${src}:/sys`, /under \/sys/],
      [`${src}:/data:rx`, /unknown option "rx"/],
      [`${src}:/data:Z`, /Z \(an SELinux relabel\) is not supported/],
      [`${src}:/data:ro,rw`, /ro\/rw given twice/],
      [`${src}:/`, /cannot cover the container's root/],
    ];
    const before = recordIds();
    for (const [value, message] of cases) {
      const r = await containode(['run', '--rm', '-N', '-v', value, 'true']);
      assert.is(r.code, 2, `${value}: ${r.stderr}`);
      assert.match(r.stderr, message, value);
      assert.is(r.stderr.trim().split('\n').filter((l) => !l.startsWith('containode: hint:')).length, 1, r.stderr);
    }
    const twice = await containode(['run', '--rm', '-N', '-v', `${base}:/data`, '-v', `${base}:/data/`, 'true']);
    assert.is(twice.code, 2);
    assert.match(twice.stderr, /\/data is the container path of two volumes/);
    assert.not.ok(existsSync(src), 'no host directory made for a refused command line');
    assert.equal(recordIds(), before);
  } finally {
    await c.run();
  }
});

testIf(test, noRoot, 'run -d: the volume stays across a --restart restart; inspect shows it', async () => {
  const c = new Cleanup();
  const id = uniqueName('vol');
  try {
    const root = await busyboxRoot(c);
    const s = hostSources(c);
    const top = join(tempDir(c, 'cnode-vol-dtop'), 'top');
    // Run 1 writes a line and fails; run 2 (the restart) writes again and stays up.
    const script = 'echo run >> /data/runs; [ "$(wc -l < /data/runs)" -ge 2 ] && exec sleep 60; exit 1';
    const r = await containode(['run', '-d', '-i', id, '-N', '-r', root, '-t', top, '--restart', 'on-failure:3', '-v', `${s.sub}:/data`, '-v', `${s.file}:/etc/motd:ro`, 'sh', '-c', script]);
    c.add(`rm ${id}`, async () => void (await containode(['rm', '-f', id])));
    assert.is(r.code, 0, r.stderr);
    await waitFor(() => existsSync(join(s.sub, 'runs')) && readFileSync(join(s.sub, 'runs'), 'utf8') === 'run\nrun\n', 'two runs writing to the volume', 20_000, 100);
    const info = await waitFor(async () => {
      const i = await containode(['inspect', id]);
      if (i.code !== 0) return undefined;
      const j = JSON.parse(i.stdout) as { mounts?: unknown; supervisor?: { restarts: number } };
      return j.supervisor && j.supervisor.restarts >= 1 ? j : undefined;
    }, 'inspect after the restart', 20_000, 200);
    assert.equal(info!.mounts, [
      { type: 'bind', source: s.sub, destination: '/data', mode: 'rw', rw: true, propagation: 'rprivate' },
      { type: 'bind', source: s.file, destination: '/etc/motd', mode: 'ro', rw: false, propagation: 'rprivate' },
    ]);
    // The restarted init sees the host's file through the read-only volume.
    const e = await containode(['exec', id, '--', 'cat', '/etc/motd']);
    assert.is(e.code, 0, e.stderr);
    assert.is(e.stdout, 'from the host\n');
    const w = await containode(['exec', id, 'sh', '-c', 'echo x > /etc/motd']);
    assert.ok(w.code !== 0);
    assert.match(w.stderr, EROFS);
  } finally {
    await c.run();
  }
});

type Fixtures = typeof import('../../mocker/test/fixtures.js');
const MOCKER = fileURLToPath(new URL('../../../mocker/bin/mocker.cjs', import.meta.url));

testIf(test, noRoot ?? whyMissing('docker-registry', 'busybox'), '--image: the binds work and their mount points are made in the container\'s upper layer', async () => {
  const c = new Cleanup();
  try {
    const fx = (await import(new URL('../../../mocker/dist/test/fixtures.js', import.meta.url).href)) as Fixtures;
    const reg = await fx.startRegistry();
    c.add('registry', () => reg.stop());
    await fx.pushImage(reg.url, 'test/vol', 'v1', {
      layers: [
        {
          entries: [
            { name: 'bin/', type: 'directory' },
            { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
            ...['sh', 'cat', 'echo'].map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
            { name: 'etc/', type: 'directory' },
            { name: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' },
          ],
        },
      ],
      config: { Cmd: ['/bin/sh'] },
    });
    const store = tempDir(c, 'cnode-vol-store');
    const env = { ...process.env, CONTAINET_IMAGES: store };
    const image = `${reg.host}/test/vol:v1`;
    const pulled = await run(process.execPath, [MOCKER, 'pull', '-q', image], { env, timeoutMs: 60_000 });
    assert.is(pulled.code, 0, pulled.stderr);
    const id = uniqueName('volimg');
    const top = join(store, 'containers', id);
    await checkBinds(c, '/vol', ['run', '-N', '-i', id, '--image', image], env);
    assert.ok(existsSync(join(top, 'upper', 'vol', 'rw-dir')), 'the mount point is in the container\'s upper layer');
    await containode(['rm', id], { env });
  } finally {
    await c.run();
  }
});

testIf(test, whyNoRoot(), 'a nocreate mount whose target is missing fails the start and makes nothing on the host', async () => {
  const cleanup = new Cleanup();
  try {
    const src = tempDir(cleanup, 'cnode-vol-src');
    const parent = tempDir(cleanup, 'cnode-vol-gone');
    // What containode's check saw, gone by the time the spawner mounts: the
    // spawner alone stands between the volume and a new file on the host.
    const target = join(parent, 'gone', 'deeper');
    let failed = false;
    try {
      const r = await runSpec(cleanup, baseSpec(['true'], { mounts: [{ source: src, destination: target, type: 'bind', options: ['rbind', 'rw', 'rprivate', 'nocreate'] }] }));
      failed = r.status !== 0;
    } catch (err) {
      failed = true;
      assert.match(String((err as Error).message), /ENOENT|No such file|mount point/);
    }
    assert.ok(failed, 'the container did not start');
    assert.not.ok(existsSync(join(parent, 'gone')), 'nothing was made on the host');
  } finally {
    await cleanup.run();
  }
});

test.run();
