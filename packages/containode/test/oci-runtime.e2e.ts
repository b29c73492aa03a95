/**
 * containode-oci against the parts of the runtime spec that podman and
 * containerd lean on: a process user other than root (the init opens
 * exec.fifo before it drops to that user), the container's own cgroup view
 * for a `cgroup` mount, exec under the container's seccomp filter, the
 * spawner's warnings kept out of the container's output (they go to --log),
 * and a failure of the init between create and start named by `start`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { baseConfig, deleteLater, makeBundle, oci, ociState, tempDir } from './oci-fixtures.js';

const noRoot = whyNoRoot();
const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

function statusField(pid: number, name: string): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '';
}

testIf(test, noRoot, 'process.user 1000:1000: run prints its ids; create + start runs it as that user (exec.fifo opened before the drop)', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, { ...baseConfig(['sh', '-c', 'echo $(id -u):$(id -g)']), process: { ...baseConfig([]).process, args: ['sh', '-c', 'echo $(id -u):$(id -g)'], user: { uid: 1000, gid: 1000 } } });
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('usr')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, '1000:1000\n');

    const cfg = baseConfig(['sleep', '60']);
    cfg['process'].user = { uid: 1000, gid: 1000, additionalGids: [5] };
    const b2 = await makeBundle(cleanup, cfg);
    const id = uniqueName('usr');
    deleteLater(cleanup, b2, id);
    const c = await oci(b2, ['create', '--bundle', b2.dir, id]);
    assert.is(c.code, 0, c.stderr);
    const st = await oci(b2, ['start', id]);
    assert.is(st.code, 0, st.stderr);
    const s = await ociState(b2, id);
    assert.is(s['status'], 'running');
    await waitFor(() => readFileSync(`/proc/${s['pid']}/comm`, 'utf8').trim() === 'sleep', 'sleep to run');
    assert.is(statusField(s['pid'], 'Uid').split('\t')[0], '1000');
    assert.is(statusField(s['pid'], 'Gid').split('\t')[0], '1000');
    assert.is(statusField(s['pid'], 'Groups').trim(), '5');
    assert.is(statusField(s['pid'], 'CapEff'), '0000000000000000');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a failure of the init after create (cwd the process user may not enter) is named by start with step and errno', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['true']);
    cfg['process'].user = { uid: 1000, gid: 1000 };
    cfg['process'].cwd = '/root';
    const b = await makeBundle(cleanup, cfg);
    const { mkdirSync, chmodSync } = await import('node:fs');
    mkdirSync(join(b.rootfs, 'root'), { recursive: true });
    chmodSync(join(b.rootfs, 'root'), 0o700);
    const id = uniqueName('cwd');
    deleteLater(cleanup, b, id);
    const c = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is(c.code, 0, c.stderr);
    const st = await oci(b, ['start', id]);
    assert.is.not(st.code, 0);
    assert.match(st.stderr, 'chdir(/root): Permission denied');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a cgroup mount shows the container its own limits (memory 64 MiB, pids 20), not the host root\'s', async () => {
  const cleanup = new Cleanup();
  try {
    const memFile = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
    const pidsFile = v2 ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max';
    const cfg = baseConfig(['sh', '-c', `cat ${memFile} ${pidsFile}`]);
    // As podman sends it (runc's `spec` too).
    cfg['mounts'].push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro'] });
    cfg['linux'].cgroupsPath = `/${uniqueName('ocicg')}`;
    cfg['linux'].resources = { memory: { limit: 67108864 }, pids: { limit: 20 } };
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('cgv')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, '67108864\n20\n');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'exec runs under the container\'s linux.seccomp as the init does', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('sec');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['run', '--bundle', b.dir, '--detach', id])).code, 0);
    const e = await oci(b, ['exec', id, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?']);
    assert.is(e.code, 0, e.stderr);
    assert.match(e.stdout, /Seccomp:\s+2/);
    assert.match(e.stdout, 'rc=1');
    assert.match(e.stdout + e.stderr, 'Operation not permitted');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'the spawner\'s warnings go to --log, never into the container\'s output', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['echo', 'hello']);
    cfg['linux'].seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['no_such_call_in_libseccomp'], action: 'SCMP_ACT_ERRNO' }],
    };
    const b = await makeBundle(cleanup, cfg);
    const log = join(tempDir(cleanup, 'ocilog'), 'log.json');
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('warn')], { global: ['--log', log, '--log-format', 'json'] });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'hello\n');
    assert.is(r.stderr, '');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.ok(lines.some((l) => l.level === 'warning' && l.msg.includes('no_such_call_in_libseccomp')), JSON.stringify(lines));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'mount options as podman sends them: tmpcopyup on a read-only root, rprivate and rbind binds, copy-symlink', async () => {
  const cleanup = new Cleanup();
  try {
    const host = tempDir(cleanup, 'ocimnt');
    const { mkdirSync, symlinkSync, writeFileSync, chmodSync, chownSync } = await import('node:fs');
    writeFileSync(join(host, 'data'), 'from the host\n');
    symlinkSync('/usr/share/zoneinfo/Etc/UTC', join(host, 'localtime'));
    const cfg = baseConfig(['sh', '-c', [
      'cat /run/seed/file; stat -c "%a %u:%g" /run/seed /run/seed/file; readlink /run/seed/link',
      'grep -c " /run tmpfs " /proc/mounts',
      'touch /run/new && echo run-writable',
      'touch /x 2>/dev/null || echo root-read-only',
      'cat /mnt/host/data; readlink /etc/localtime',
    ].join('; ')]);
    cfg['root'].readonly = true;
    cfg['mounts'].push(
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] },
      { destination: '/mnt/host', type: 'bind', source: host, options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/etc/localtime', type: 'bind', source: join(host, 'localtime'), options: ['bind', 'copy-symlink', 'ro'] },
    );
    const b = await makeBundle(cleanup, cfg);
    mkdirSync(join(b.rootfs, 'run/seed'), { recursive: true });
    writeFileSync(join(b.rootfs, 'run/seed/file'), 'from the image\n');
    chmodSync(join(b.rootfs, 'run/seed'), 0o750);
    chmodSync(join(b.rootfs, 'run/seed/file'), 0o640);
    chownSync(join(b.rootfs, 'run/seed/file'), 1000, 1001);
    symlinkSync('file', join(b.rootfs, 'run/seed/link'));
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('mnt')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'from the image\n750 0:0\n640 1000:1001\nfile\n1\nrun-writable\nroot-read-only\nfrom the host\n/usr/share/zoneinfo/Etc/UTC\n');
    // The image's directory itself is untouched.
    assert.not.ok(existsSync(join(b.rootfs, 'run/new')));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'idmap is refused clearly; an option the kernel refuses is named in the error', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['true']);
    cfg['mounts'].push({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] });
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('idm')]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, 'mounts[4].options: idmap: idmapped mounts are not supported');

    const cfg2 = baseConfig(['true']);
    cfg2['mounts'].push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'nosuchoption', 'size=1m'] });
    const b2 = await makeBundle(cleanup, cfg2);
    const r2 = await oci(b2, ['run', '--bundle', b2.dir, uniqueName('opt')]);
    assert.is.not(r2.code, 0);
    assert.match(r2.stderr, '/run: option nosuchoption');
    assert.match(r2.stderr, 'Invalid argument');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'rootfsPropagation shared and unbindable: the container\'s root has it (pivot_root works)', async () => {
  const cleanup = new Cleanup();
  try {
    for (const [prop, word] of [['shared', 'shared:'], ['rshared', 'shared:'], ['unbindable', 'unbindable'], ['slave', '']] as const) {
      const cfg = baseConfig(['awk', '$5 == "/"', '/proc/self/mountinfo']);
      cfg['linux'].rootfsPropagation = prop;
      const b = await makeBundle(cleanup, cfg);
      const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('prop')]);
      assert.is(r.code, 0, `${prop}: ${r.stderr}`);
      if (word) assert.match(r.stdout, word, `${prop}: ${r.stdout}`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'namespaces by path: a joined mount namespace is the other container\'s files; a joined uts namespace takes the hostname; no mount namespace: chroot, nothing mounted', async () => {
  const cleanup = new Cleanup();
  try {
    const a = await makeBundle(cleanup, baseConfig(['sh', '-c', 'echo from-a > /tmp/marker; exec sleep 60']));
    const idA = uniqueName('nsa');
    deleteLater(cleanup, a, idA);
    assert.is((await oci(a, ['run', '--bundle', a.dir, '--detach', idA])).code, 0);
    const pidA = (await ociState(a, idA))['pid'] as number;
    await waitFor(() => existsSync(join(a.rootfs, 'tmp/marker')), 'a to write its marker');

    const cfg = baseConfig(['sh', '-c', 'cat /tmp/marker; hostname']);
    delete cfg['mounts'];
    cfg['hostname'] = 'joined-name';
    cfg['linux'].namespaces = [{ type: 'pid' }, { type: 'mount', path: `/proc/${pidA}/ns/mnt` }, { type: 'uts', path: `/proc/${pidA}/ns/uts` }];
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('nsb')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'from-a\njoined-name\n');
    const e = await oci(a, ['exec', idA, 'hostname']);
    assert.is(e.stdout, 'joined-name\n', 'the name was set in the joined namespace');

    const none = baseConfig(['sh', '-c', 'cat /only-in-rootfs; ls /proc | wc -l']);
    delete none['mounts'];
    delete none['hostname'];
    none['linux'].namespaces = [{ type: 'pid' }];
    const c = await makeBundle(cleanup, none);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(c.rootfs, 'only-in-rootfs'), 'chrooted\n');
    const rc = await oci(c, ['run', '--bundle', c.dir, uniqueName('nsc')]);
    assert.is(rc.code, 0, rc.stderr);
    assert.is(rc.stdout, 'chrooted\n0\n', 'its root is root.path and nothing is mounted in it');
    assert.not.match(readFileSync('/proc/self/mountinfo', 'utf8'), c.rootfs, 'nothing was mounted on the host');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'poststart hooks get the state running with the pid, even for a program that ends at once', async () => {
  const cleanup = new Cleanup();
  try {
    const out = join(tempDir(cleanup, 'ocihk'), 'state.json');
    const cfg = baseConfig(['true']);
    cfg['hooks'] = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}`] }] };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('hk');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    const pid = (await ociState(b, id))['pid'] as number;
    const st = await oci(b, ['start', id]);
    assert.is(st.code, 0, st.stderr);
    const state = JSON.parse(readFileSync(out, 'utf8')) as { status: string; pid: number; id: string };
    assert.is(state.status, 'running');
    assert.is(state.pid, pid);
    assert.is(state.id, id);
  } finally {
    await cleanup.run();
  }
});

test.run();
