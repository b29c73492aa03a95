/**
 * containode-oci as the OCI runtime of a real client: Debian's podman 4.3
 * (conmon drives the runtime as it drives runc), started privately by the
 * test (its own containers.conf, storage root, run root, tmp directory; vfs
 * storage; cgroupfs), against an image built here from busybox-static. The
 * same scenario runs with runc and with containode-oci, and the outputs are
 * compared: exit codes, -d, exec, logs, top, pause/unpause, stop, rm,
 * --user, --read-only, --memory/--pids-limit read from inside, --cap-drop
 * all, --network none and -it under script(1). Every container runs with
 * --network none: the test makes no host network changes (podman's default
 * network would add a bridge and firewall rules to the host).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, makeBusyboxRoot, run, sh, testIf, uniqueName, whyMissing, whyNoRoot, type ExecResult } from '@containet/common/testing';
import { detectCgroupLayout, hierarchyOf } from '../src/cgroup/index.js';
import { OCI } from './oci-fixtures.js';

const reason = whyNoRoot() ?? whyMissing('podman', 'runc', 'conmon', 'script');
const layout = detectCgroupLayout();

/** Unmount whatever podman may have left mounted under `dir`, deepest first. */
function unmountUnder(dir: string): Promise<unknown> {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  return Promise.all(points.map((p) => run('umount', ['-l', p])));
}

interface Step {
  step: string;
  code: number;
  out: string;
}

/** Where the container reads its limits: its own cgroup view (runc's layout). */
function limitFiles(): [string, string] {
  const mem = hierarchyOf(layout, 'memory');
  const pids = hierarchyOf(layout, 'pids');
  return [
    mem?.version === 1 ? '/sys/fs/cgroup/memory/memory.limit_in_bytes' : '/sys/fs/cgroup/memory.max',
    pids?.version === 1 ? '/sys/fs/cgroup/pids/pids.max' : '/sys/fs/cgroup/pids.max',
  ];
}

/** podman in a private world under `base`. */
function privatePodman(base: string, cleanup: Cleanup): (args: string[], opts?: { timeoutMs?: number }) => Promise<ExecResult> {
  mkdirSync(join(base, 'tmp'), { recursive: true });
  // podman asks for RLIMIT_NOFILE 1048576 (and a large RLIMIT_NPROC), above
  // this machine's hard limits: the containers get smaller ones.
  writeFileSync(
    join(base, 'containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "none"',
      `tmp_dir = "${join(base, 'tmp')}"`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: join(base, 'containers.conf') };
  const podman = (args: string[], opts: { timeoutMs?: number } = {}) =>
    run('podman', ['--root', join(base, 'root'), '--runroot', join(base, 'runroot'), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', ...args], {
      env,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  cleanup.add('podman rm -af', () => podman(['rm', '-af', '-t', '0']));
  return podman;
}

/**
 * The scenario, with `runtime` (a path or name) as podman's --runtime.
 * Returns each step's exit code and output, normalised where runs differ
 * by nature (container ids).
 */
async function scenario(podman: (args: string[], opts?: { timeoutMs?: number }) => Promise<ExecResult>, runtime: string, image: string): Promise<Step[]> {
  const steps: Step[] = [];
  const p = (args: string[], opts?: { timeoutMs?: number }) => podman(['--runtime', runtime, ...args], opts);
  const rec = async (step: string, args: string[], shape: (out: string) => string = (o) => o.trim()) => {
    const r = await p(args);
    steps.push({ step, code: r.code, out: shape(r.stdout) });
    return r;
  };
  const net = ['--network', 'none'];
  await rec('exit code', ['run', '--rm', ...net, image, 'sh', '-c', 'exit 3']);
  await rec('echo', ['run', '--rm', ...net, image, 'echo', 'hello']);
  await rec('missing program', ['run', '--rm', ...net, image, '/no/such/program'], () => '');

  const name = uniqueName('pdc');
  await rec('run -d', ['run', '-d', ...net, '--name', name, image, 'sh', '-c', 'echo started; exec sleep 300'], (o) => (/^[0-9a-f]{64}$/.test(o.trim()) ? 'ID' : o));
  // The runtime podman recorded for it is the one asked for (not a default).
  await rec('runtime', ['inspect', name, '--format', '{{.OCIRuntime}}'], (o) => (o.trim() === runtime ? 'RUNTIME' : o.trim()));
  await rec('exec', ['exec', name, 'sh', '-c', 'echo in-exec; id -u']);
  await rec('exec exit code', ['exec', name, 'sh', '-c', 'exit 7']);
  await rec('logs', ['logs', name]);
  await rec('top', ['top', name, 'args'], (o) => o.split('\n').map((l) => l.trim()).filter((l) => l.includes('sleep')).join('\n'));
  await rec('pause', ['pause', name], () => '');
  await rec('paused state', ['inspect', name, '--format', '{{.State.Status}}']);
  await rec('unpause', ['unpause', name], () => '');
  await rec('running state', ['inspect', name, '--format', '{{.State.Status}}']);
  await rec('stop', ['stop', '-t', '1', name], () => '');
  await rec('stopped state', ['inspect', name, '--format', '{{.State.Status}} {{.State.ExitCode}}']);
  await rec('rm', ['rm', name], () => '');

  await rec('--user 1000:1000', ['run', '--rm', ...net, '--user', '1000:1000', image, 'id']);
  await rec('--read-only', ['run', '--rm', ...net, '--read-only', image, 'sh', '-c', 'touch /x 2>/dev/null || echo root-read-only; touch /tmp/y && echo tmp-writable; ls -d /run /var/tmp']);
  const [mem, pids] = limitFiles();
  await rec('--memory --pids-limit', ['run', '--rm', ...net, '--memory', '64m', '--pids-limit', '20', image, 'cat', mem, pids]);
  await rec('--cap-drop all', ['run', '--rm', ...net, '--cap-drop', 'all', image, 'sh', '-c', 'grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status']);
  await rec('--network none', ['run', '--rm', ...net, image, 'ls', '/sys/class/net']);
  // -it needs a terminal: script(1) gives podman one.
  const cmd = ['podman', '--root', '"$R"', '--runroot', '"$RR"', '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--runtime', runtime, 'run', '-it', '--rm', ...net, image, 'sh', '-c', '"tty; echo in-tty; exit 5"'].join(' ');
  const tty = await podman(['__script__', cmd]);
  steps.push({ step: '-it', code: tty.code, out: tty.stdout.replace(/\r/g, '').trim() });
  return steps;
}

testIf(test, reason, 'podman with containode-oci as its runtime gives what it gives with runc', async () => {
  const cleanup = new Cleanup();
  const base = mkdtempSync(join(tmpdir(), 'oci-podman-'));
  cleanup.add(`rm -r ${base}`, async () => {
    await unmountUnder(base);
    rmSync(base, { recursive: true, force: true });
  });
  try {
    const inner = privatePodman(base, cleanup);
    const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: join(base, 'containers.conf'), R: join(base, 'root'), RR: join(base, 'runroot') };
    const podman = (args: string[], opts?: { timeoutMs?: number }) =>
      args[0] === '__script__' ? run('script', ['-qec', args[1]!, '/dev/null'], { env, timeoutMs: 60_000 }) : inner(args, opts);

    const rootfs = join(base, 'rootfs');
    mkdirSync(rootfs);
    await makeBusyboxRoot(rootfs);
    mkdirSync(join(rootfs, 'run'), { recursive: true });
    mkdirSync(join(rootfs, 'var/tmp'), { recursive: true });
    await sh('tar', '-C', rootfs, '-cf', join(base, 'rootfs.tar'), '.');
    const image = `localhost/${uniqueName('ocipd')}:latest`;
    const imp = await podman(['import', join(base, 'rootfs.tar'), image]);
    assert.is(imp.code, 0, imp.stderr);

    const ours = await scenario(podman, OCI, image);
    if (process.env['OCI_PODMAN_SHOW']) console.log(JSON.stringify(ours, null, 1));
    const theirs = await scenario(podman, 'runc', image);
    for (let i = 0; i < theirs.length; i++) {
      assert.equal(ours[i], theirs[i], `step ${theirs[i]!.step}`);
    }
    // What the scenario must show in the first place (runc agrees, above).
    const by = (s: string) => ours.find((x) => x.step === s)!;
    assert.is(by('exit code').code, 3);
    assert.is(by('missing program').code, 127);
    assert.is(by('runtime').out, 'RUNTIME');
    assert.is(by('exec').out, 'in-exec\n0');
    assert.is(by('exec exit code').code, 7);
    assert.is(by('logs').out, 'started');
    assert.is(by('paused state').out, 'paused');
    assert.is(by('running state').out, 'running');
    assert.match(by('--user 1000:1000').out, /^uid=1000(\(\d+\))? gid=1000/);
    assert.match(by('--read-only').out, 'root-read-only\ntmp-writable');
    assert.is(by('--memory --pids-limit').out, '67108864\n20');
    assert.match(by('--cap-drop all').out, /CapEff:\s+0000000000000000/);
    assert.is(by('--network none').out, 'lo');
    assert.is(by('-it').code, 5);
    assert.match(by('-it').out, /\/dev\/pts\/\d+\nin-tty/);
    await inner(['rmi', image]);
  } finally {
    await cleanup.run();
  }
  assert.not.ok(existsSync(base));
});

test.run();
