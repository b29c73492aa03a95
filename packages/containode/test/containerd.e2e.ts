/**
 * containode-oci as the runtime of a real client: Debian's containerd 1.6
 * and ctr, through containerd's own runc shim (io.containerd.runc.v2 with
 * `ctr run --runc-binary`). containerd is started privately by the test
 * (its own config, root, state, opt directory and sockets; the native
 * snapshotter; no CRI) against an image built here with umoci from
 * busybox-static, and stopped and removed afterwards, also on failure. The
 * same scenario runs with runc and with containode-oci and the outputs are
 * compared: exit codes, -d, exec, ps, pause/resume, kill, delete, a memory
 * limit read back from the container's cgroup, -t under script(1).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, makeBusyboxRoot, run, sh, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot, type ExecResult } from '@containet/common/testing';
import { detectCgroupLayout, hierarchyOf } from '../src/cgroup/index.js';
import { OCI } from './oci-fixtures.js';

const reason = whyNoRoot() ?? whyMissing('containerd', 'ctr', 'containerd-shim-runc-v2', 'runc', 'umoci', 'script');
const memory = hierarchyOf(detectCgroupLayout(), 'memory');

interface Step {
  step: string;
  code: number;
  out: string;
}

/** pids of processes whose command line mentions `text` (the shims of our containerd). */
function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

function unmountUnder(dir: string): Promise<unknown> {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  return Promise.all(points.map((p) => run('umount', ['-l', p])));
}

type Ctr = (args: string[]) => Promise<ExecResult>;

async function taskStatus(ctr: Ctr, id: string): Promise<string> {
  const r = await ctr(['task', 'ls']);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[0] === id)?.[2] ?? 'NONE';
}

async function scenario(ctr: Ctr, ctrLine: string, runtime: string, image: string, namespace: string): Promise<Step[]> {
  const steps: Step[] = [];
  const runArgs = ['run', '--snapshotter', 'native', '--runc-binary', runtime];
  const rec = async (step: string, args: string[], shape: (out: string) => string = (o) => o.trim()) => {
    const r = await ctr(args);
    steps.push({ step, code: r.code, out: shape(r.stdout) });
    return r;
  };
  await rec('exit code', [...runArgs, '--rm', image, uniqueName('cte'), 'sh', '-c', 'exit 3']);
  await rec('echo', [...runArgs, '--rm', image, uniqueName('cte'), 'echo', 'hello']);

  const id = uniqueName('ctd');
  await rec('run -d', [...runArgs, '-d', '--memory-limit', '67108864', image, id, 'sh', '-c', 'echo started; exec sleep 300'], () => '');
  steps.push({ step: 'status', code: 0, out: await taskStatus(ctr, id) });
  // ctr puts the task's cgroup at /NAMESPACE/ID in every hierarchy.
  const limitFile = memory ? join(memory.path, namespace, id, memory.version === 1 ? 'memory.limit_in_bytes' : 'memory.max') : '';
  steps.push({ step: 'memory limit', code: 0, out: limitFile && existsSync(limitFile) ? readFileSync(limitFile, 'utf8').trim() : 'no memory controller' });
  await rec('exec', ['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in-exec; exit 4']);
  await rec('ps', ['task', 'ps', id], (o) => String(o.trim().split('\n').length - 1));
  await rec('pause', ['task', 'pause', id], () => '');
  steps.push({ step: 'paused', code: 0, out: await taskStatus(ctr, id) });
  await rec('resume', ['task', 'resume', id], () => '');
  steps.push({ step: 'resumed', code: 0, out: await taskStatus(ctr, id) });
  await rec('kill', ['task', 'kill', '-s', 'SIGKILL', id], () => '');
  await waitFor(async () => (await taskStatus(ctr, id)) === 'STOPPED', `task ${id} to stop`, 10_000);
  steps.push({ step: 'killed', code: 0, out: await taskStatus(ctr, id) });
  await rec('task delete', ['task', 'delete', id], () => '');
  await rec('container delete', ['container', 'delete', id], () => '');
  steps.push({ step: 'gone', code: 0, out: await taskStatus(ctr, id) });

  const tty = await run('script', ['-qec', `${ctrLine} run -t --rm --snapshotter native --runc-binary ${runtime} ${image} ${uniqueName('ctt')} sh -c 'tty; echo in-tty; exit 5'`, '/dev/null'], { timeoutMs: 60_000 });
  steps.push({ step: '-t', code: tty.code, out: tty.stdout.replace(/\r/g, '').replace(/\0/g, '').trim() });
  return steps;
}

testIf(test, reason, 'containerd and ctr with containode-oci as the runc binary give what they give with runc', async () => {
  const cleanup = new Cleanup();
  const base = mkdtempSync(join(tmpdir(), 'oci-ctrd-'));
  const namespace = uniqueName('ocins');
  const hadRunDir = existsSync('/run/containerd');
  cleanup.add(`rm -r ${base}`, async () => {
    await unmountUnder(base);
    rmSync(base, { recursive: true, force: true });
  });
  // The runc shim keeps its sockets under /run/containerd/s and passes
  // --root /run/containerd/runc/NAMESPACE to the runtime, whatever our state dir.
  cleanup.add('/run/containerd', () => {
    rmSync(join('/run/containerd/runc', namespace), { recursive: true, force: true });
    if (!hadRunDir) rmSync('/run/containerd', { recursive: true, force: true });
  });
  try {
    const sock = join(base, 'containerd.sock');
    writeFileSync(
      join(base, 'config.toml'),
      [
        'version = 2',
        `root = "${join(base, 'root')}"`,
        `state = "${join(base, 'state')}"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${sock}"`,
        '[ttrpc]',
        `  address = "${sock}.ttrpc"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${join(base, 'opt')}"`,
        '',
      ].join('\n'),
    );
    const log = createWriteStream(join(base, 'containerd.log'));
    const daemon = start('containerd', ['--config', join(base, 'config.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout?.pipe(log);
    daemon.stderr?.pipe(log);
    cleanup.add('stop containerd and its shims', async () => {
      await killAndWait(daemon, 'SIGTERM', 5000);
      // A shim outlives containerd by design; ours go with the test.
      for (const pid of pidsMentioning(sock)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    await waitFor(() => existsSync(sock), 'containerd to listen', 20_000);

    const ctrLine = `ctr -a ${sock} -n ${namespace}`;
    const ctr: Ctr = (args) => run('ctr', ['-a', sock, '-n', namespace, ...args], { timeoutMs: 60_000 });
    cleanup.add('remove our tasks and containers', async () => {
      const ids = (await ctr(['container', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
      for (const id of ids) {
        await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
        await ctr(['task', 'delete', '-f', id]);
        await ctr(['container', 'delete', id]);
      }
    });

    // An OCI image made here: busybox-static as the one layer (umoci).
    const rootfs = join(base, 'rootfs');
    mkdirSync(rootfs);
    await makeBusyboxRoot(rootfs);
    const layout = join(base, 'image');
    await sh('umoci', 'init', '--layout', layout);
    await sh('umoci', 'new', '--image', `${layout}:latest`);
    await sh('umoci', 'unpack', '--image', `${layout}:latest`, join(base, 'bundle'));
    await sh('cp', '-a', `${rootfs}/.`, join(base, 'bundle', 'rootfs'));
    await sh('umoci', 'repack', '--image', `${layout}:latest`, join(base, 'bundle'));
    await sh('tar', '-C', layout, '-cf', join(base, 'image.tar'), '.');
    const image = `localhost/${namespace}:latest`;
    const imp = await ctr(['images', 'import', '--snapshotter', 'native', '--all-platforms', '--index-name', image, join(base, 'image.tar')]);
    assert.is(imp.code, 0, imp.stderr);

    const ours = await scenario(ctr, ctrLine, OCI, image, namespace);
    const theirs = await scenario(ctr, ctrLine, 'runc', image, namespace);
    for (let i = 0; i < theirs.length; i++) assert.equal(ours[i], theirs[i], `step ${theirs[i]!.step}`);
    const by = (s: string) => ours.find((x) => x.step === s)!;
    assert.is(by('exit code').code, 3);
    assert.is(by('echo').out, 'hello');
    assert.is(by('status').out, 'RUNNING');
    if (memory) assert.is(by('memory limit').out, '67108864');
    assert.is(by('exec').code, 4);
    assert.is(by('exec').out, 'in-exec');
    assert.is(by('paused').out, 'PAUSED');
    assert.is(by('resumed').out, 'RUNNING');
    assert.is(by('killed').out, 'STOPPED');
    assert.is(by('gone').out, 'NONE');
    assert.is(by('-t').code, 5);
    assert.match(by('-t').out, /\/dev\/pts\/\d+\nin-tty/);
  } finally {
    await cleanup.run();
  }
  assert.not.ok(existsSync(base));
});

test.run();
