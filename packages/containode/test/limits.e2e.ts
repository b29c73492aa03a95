/**
 * containode's limits as users run them: memory (OOM kill
 * reported), pids, CPU, the cgroup namespace, user namespaces, capabilities
 * and the COSO network hook, through the CLI in busybox roots; every bad
 * value refused with nothing left behind (cgroup, record, top directory).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup, inNetns, makeNetns, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { CGROUP_PARENT, detectCgroupLayout, planCgroup } from '../src/cgroup/index.js';
import { DEFAULT_CAPABILITIES, CAPABILITY_NAMES, defaultIdMapping } from '../src/limits/index.js';
import { busyboxRoot, containode, recordIds, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const layout = detectCgroupLayout();
const noCgroups = (['memory', 'cpu', 'pids'] as const).every((c) => layout.controllers[c]) ? null : `needs memory, cpu and pids cgroup controllers (found ${layout.kind})`;
const noRootCg = noRoot ?? noCgroups;

/** The container's cgroup directories, by identity. */
function cgroupDirs(id: string): string[] {
  return planCgroup(layout, `${CGROUP_PARENT}/${id}`, {}).dirs;
}

function assertNothingLeft(id: string, top?: string): void {
  const left = cgroupDirs(id).filter((d) => existsSync(d));
  assert.equal(left, [], `cgroups of ${id} left behind`);
  assert.not.ok(recordIds().includes(id), `record of ${id} left behind`);
  if (top) assert.not.ok(existsSync(top), `${top} left behind`);
}

function capMask(names: readonly string[]): bigint {
  return names.reduce((m, n) => m | (1n << BigInt(CAPABILITY_NAMES.indexOf(n))), 0n);
}

function statusField(text: string, field: string): string {
  const m = text.match(new RegExp(`^${field}:\\s*(\\S+)`, 'm'));
  return m ? m[1]! : '';
}

testIf(test, noRootCg, 'allocating past --memory is OOM-killed and containode says so', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const id = uniqueName('oom');
    // awk doubles a string until the allocation fails or the OOM killer comes.
    const r = await containode(['--memory', '32m', '-r', root, '--rm', '-i', id, 'awk', 'BEGIN { s = "x"; while (1) s = s s }'], { timeoutMs: 60_000 });
    assert.is(r.code, 137, `status ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`containode: ${id}: out of memory: the OOM killer killed 1 process in the container \\(--memory 32m\\)`));
    assertNothingLeft(id);

    // The same program without a limit is not OOM-killed at 32 MiB: it gets past 64 MiB.
    const ok = await containode(['-r', root, '--rm', 'awk', 'BEGIN { s = "x"; while (length(s) < 64 * 1024 * 1024) s = s s; print length(s) }'], { timeoutMs: 60_000 });
    assert.is(ok.code, 0, ok.stderr);
    assert.is(ok.stdout.trim(), String(64 * 1024 * 1024));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRootCg, 'a fork loop stops at --pids-limit', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const id = uniqueName('pids');
    const loop = 'i=0; while [ $i -lt 50 ]; do sleep 30 & i=$((i+1)); echo $i; done';
    const r = await containode(['--pids-limit', '10', '-r', root, '--rm', '-i', id, 'sh', '-c', loop], { timeoutMs: 60_000 });
    const started = Number(r.stdout.trim().split('\n').pop());
    // sh itself is one of the 10: at most 9 children.
    assert.ok(started >= 5 && started <= 9, `started ${started} sleeps; stderr: ${r.stderr}`);
    assert.match(r.stderr, /can't fork/);
    assert.ok(r.code !== 0, 'the shell fails when fork fails');
    assertNothingLeft(id);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRootCg, '--cpus 0.5 holds a busy loop near half a core', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    // utime+stime of the loop (clock ticks, USER_HZ=100 as /proc reports them)
    // against the elapsed time from /proc/uptime, over about 2 s.
    const script = 'while :; do :; done & p=$!; a=$(cut -d" " -f1 /proc/uptime); sleep 2; b=$(cut -d" " -f1 /proc/uptime); t=$(cut -d" " -f14,15 /proc/$p/stat); kill $p; echo $a $b $t';
    const measure = async (extra: string[]) => {
      const r = await containode([...extra, '-r', root, '--rm', 'sh', '-c', script], { timeoutMs: 30_000 });
      assert.is(r.code, 0, r.stderr);
      const [a, b, ut, st] = r.stdout.trim().split(' ').map(Number);
      return (ut! + st!) / 100 / (b! - a!);
    };
    const limited = await measure(['--cpus', '0.5']);
    console.log(`  --cpus 0.5: the loop used ${limited.toFixed(2)} of a core`);
    assert.ok(limited > 0.25 && limited < 0.7, `--cpus 0.5 gave ${limited.toFixed(2)} cores`);
    // For comparison only: on a busy machine an unlimited loop gets less than a core too.
    console.log(`  no limit: the loop used ${(await measure([])).toFixed(2)} of a core`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRootCg, 'the cgroup holds the limits while the container runs and is gone after; the cgroup namespace hides its path', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const id = uniqueName('cgv');
    const c = startContainode(cleanup, ['--memory', '48m', '--cpus', '1.5', '--pids-limit', '33', '-r', root, '--rm', '-i', id, 'sh', '-c', 'cat /proc/self/cgroup; sleep 3']);
    const memory = layout.controllers.memory!;
    const memDir = join(memory.path, CGROUP_PARENT, id);
    await waitFor(() => c.out().includes('memory') || c.out().includes('0::/'), 'the container to start', 10_000);
    if (memory.version === 1) {
      assert.is(readFileSync(join(memDir, 'memory.limit_in_bytes'), 'utf8').trim(), String(48 << 20));
    } else {
      assert.is(readFileSync(join(memDir, 'memory.max'), 'utf8').trim(), String(48 << 20));
    }
    const cpu = layout.controllers.cpu!;
    const cpuDir = join(cpu.path, CGROUP_PARENT, id);
    const cpuLimit = cpu.version === 1 ? readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim() : readFileSync(join(cpuDir, 'cpu.max'), 'utf8').trim();
    assert.ok(cpuLimit === '150000' || cpuLimit === '150000 100000', cpuLimit);
    assert.is(readFileSync(join(layout.controllers.pids!.path, CGROUP_PARENT, id, 'pids.max'), 'utf8').trim(), '33');
    const procs = readFileSync(join(memDir, 'cgroup.procs'), 'utf8').trim().split('\n');
    assert.ok(procs.length >= 1, 'the container is in its cgroup');
    assert.is(await c.exit, 0, c.err());
    // In its own cgroup namespace the container's cgroup is the root in every hierarchy.
    for (const line of c.out().trim().split('\n')) assert.match(line, /^\d+:[^:]*:\/$/, line);
    assertNothingLeft(id);

    const plain = await containode(['--no-cgroupns', '--pids-limit', '50', '-i', id, 'cat', '/proc/self/cgroup']);
    assert.is(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`:pids:/${CGROUP_PARENT}/${id}$|^0::/${CGROUP_PARENT}/${id}$`, 'm'));
    assertNothingLeft(id);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'uid 0 inside -U is not uid 0 on the host: a file created in the container belongs to the mapped id in TOP', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    chmodSync(root, 0o755); // the mapped root must be able to reach its lower layer
    const dir = tempDir(cleanup);
    chmodSync(dir, 0o755);
    const top = join(dir, 'top');
    const r = await containode(['-U', '-r', root, '-t', top, 'sh', '-c', 'id -u; id -g; echo made-inside > /by-root; cat /proc/self/uid_map']);
    assert.is(r.code, 0, r.stderr);
    const [uid, gid] = r.stdout.trim().split('\n');
    assert.is(uid, '0', 'root inside');
    assert.is(gid, '0');
    const expected = defaultIdMapping('/etc/subuid');
    // In / (the overlay's upper root, owned by the mapped root): the image's
    // own directories belong to host root, an id the namespace doesn't map.
    const st = statSync(join(top, 'upper/by-root'));
    assert.is(st.uid, expected.hostID, `owner on the host: ${st.uid}`);
    assert.is(st.gid, defaultIdMapping('/etc/subgid').hostID);
    assert.is(readFileSync(join(top, 'upper/by-root'), 'utf8'), 'made-inside\n');

    const custom = await containode(['--uidmap', '0:200000:1000', '--rm', '-r', root, 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map']);
    assert.is(custom.code, 0, custom.stderr);
    assert.equal(custom.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(':')), ['0:200000:1000', '0:200000:1000']);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'default capabilities are docker\'s with no_new_privs; a dropped one is really missing', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const show = 'grep -E "^(CapEff|CapBnd|CapInh|NoNewPrivs)" /proc/self/status; mknod /tmp/null c 1 3 && echo mknod-ok; hostname changed && echo hostname-ok; true';
    const def = await containode(['-r', root, '--rm', 'sh', '-c', show]);
    assert.is(def.code, 0, def.stderr);
    assert.is(BigInt(`0x${statusField(def.stdout, 'CapEff')}`), capMask(DEFAULT_CAPABILITIES));
    assert.is(BigInt(`0x${statusField(def.stdout, 'CapBnd')}`), capMask(DEFAULT_CAPABILITIES));
    assert.is(BigInt(`0x${statusField(def.stdout, 'CapInh')}`), 0n);
    assert.is(statusField(def.stdout, 'NoNewPrivs'), '1');
    assert.match(def.stdout, /mknod-ok/, 'MKNOD is in the default set');
    assert.not.match(def.stdout, /hostname-ok/, 'SYS_ADMIN is not');
    assert.match(def.stderr, /sethostname: Operation not permitted/);

    const dropped = await containode(['--cap-drop', 'mknod', '-r', root, '--rm', 'sh', '-c', show]);
    assert.is(dropped.code, 0, dropped.stderr);
    assert.not.match(dropped.stdout, /mknod-ok/);
    assert.match(dropped.stderr, /mknod: \/tmp\/null: Operation not permitted/);

    const added = await containode(['--cap-add', 'CAP_SYS_ADMIN', '-r', root, '--rm', 'sh', '-c', `${show}; hostname`]);
    assert.is(added.code, 0, added.stderr);
    assert.match(added.stdout, /hostname-ok\nchanged/);

    const priv = await containode(['--privileged', '-r', root, '--rm', 'sh', '-c', show]);
    assert.is(priv.code, 0, priv.stderr);
    // Everything containode itself has (a test machine may lack some, e.g. SYS_RESOURCE).
    const mine = BigInt(`0x${statusField(readFileSync('/proc/self/status', 'utf8'), 'CapBnd')}`);
    assert.is(BigInt(`0x${statusField(priv.stdout, 'CapEff')}`), mine);
    assert.ok(mine > capMask(DEFAULT_CAPABILITIES));
    assert.is(statusField(priv.stdout, 'NoNewPrivs'), '0');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? whyMissing('ip', 'nsenter'), 'the network hook gets the init\'s pid; the veth it moves into the container works inside', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const peer = await makeNetns(cleanup, 'hookp');
    const dir = tempDir(cleanup);
    const hook = join(dir, 'cosonet');
    const host = uniqueName('hk');
    // As COSO's cosonet: a veth pair, one end into the container's network
    // namespace (named by the init's pid), the other into a peer namespace.
    writeFileSync(hook, `#!/bin/sh
set -e
[ "$1" = "-pid" ] && [ -n "$2" ] || { echo "usage: $0 -pid PID" >&2; exit 64; }
pid=$2
echo "$pid $CONTAINODE_ID" > ${dir}/args
grep NSpid /proc/$pid/status > ${dir}/nspid
ip link add ${host} type veth peer name ${host}p
ip link set ${host}p netns ${peer}
ip -n ${peer} addr add 10.213.7.1/24 dev ${host}p
ip -n ${peer} link set ${host}p up
ip link set ${host} netns $pid
nsenter -t $pid -n ip link set ${host} name hook0
nsenter -t $pid -n ip addr add 10.213.7.2/24 dev hook0
nsenter -t $pid -n ip link set hook0 up
`);
    chmodSync(hook, 0o755);
    const id = uniqueName('hook');
    const r = await containode(['--net-hook', hook, '-r', root, '--rm', '-i', id, 'sh', '-c', 'ip -o -4 addr show hook0; ping -c 1 -W 3 10.213.7.1 | grep -c "bytes from"']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /hook0\s+inet 10\.213\.7\.2\/24/);
    assert.is(r.stdout.trim().split('\n').pop(), '1', 'a ping reply from the peer through the hook\'s veth');
    const [pid, gotId] = readFileSync(join(dir, 'args'), 'utf8').trim().split(' ');
    assert.is(gotId, id);
    // The pid is the host pid of the container's init: PID 1 of its own namespace.
    assert.match(readFileSync(join(dir, 'nspid'), 'utf8'), new RegExp(`^NSpid:\\s+${pid}\\s+1\\s*$`));
    // The veth died with the container's network namespace.
    // The kernel tears a dead namespace down from a workqueue (cleanup_net),
    // so the device goes shortly after the last process, not at once.
    await waitFor(async () => (await inNetns(peer, 'ip', ['link', 'show', `${host}p`])).code === 1, 'the peer end to go with the container', 10_000);
    assertNothingLeft(id);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a failing hook aborts the start with its stderr shown; the program never runs', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const dir = tempDir(cleanup);
    const hook = join(dir, 'failing-hook');
    writeFileSync(hook, '#!/bin/sh\necho "cosonet: no bridge br-missing" >&2\nexit 3\n');
    chmodSync(hook, 0o755);
    const top = join(dir, 'top');
    mkdirSync(top);
    const id = uniqueName('hookf');
    const r = await containode(['--net-hook', hook, '--memory', '64m', '-r', root, '-t', top, '-i', id, 'sh', '-c', 'touch /tmp/ran']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /cosonet: no bridge br-missing/);
    assert.match(r.stderr, new RegExp(`containode: network hook \`${hook} -pid \\d+\` exited with status 3; the container was not started`));
    assert.not.ok(existsSync(join(top, 'upper/tmp/ran')), 'the program did not run');
    assertNothingLeft(id);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRootCg, 'the cgroup of a SIGKILLed containode is reused by its identity, or swept once stale', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const killed = async (id: string) => {
      // containode's --rm dies with it: the top directory stays.
      cleanup.add(`rm top of ${id}`, () => rmSync(`${root}-${id}`, { recursive: true, force: true }));
      const c = startContainode(cleanup, ['--pids-limit', '20', '-r', root, '--rm', '-i', id, 'sh', '-c', 'echo up; sleep 30']);
      await waitFor(() => c.out().includes('up'), 'the container to start', 10_000);
      c.child.kill('SIGKILL');
      await c.exit;
      // The spawner sees the control socket close, kills the container and
      // removes its cgroup (orphan_rmdir); one it could not
      // remove stays empty for the sweep below.
      const dirs = cgroupDirs(id);
      await waitFor(() => dirs.every((d) => !existsSync(d) || readFileSync(join(d, 'cgroup.procs'), 'utf8') === ''), 'the container to die', 10_000);
      return dirs;
    };
    const id = uniqueName('kill');
    await killed(id);
    const again = await containode(['--pids-limit', '5', '-r', root, '--rm', '-i', id, 'echo', 'again']);
    assert.is(again.code, 0, again.stderr);
    assert.is(again.stdout, 'again\n');
    assertNothingLeft(id);

    const stale = uniqueName('stale');
    const dirs = await killed(stale);
    const old = new Date(Date.now() - 120_000);
    for (const d of dirs) if (existsSync(d)) utimesSync(d, old, old);
    const other = await containode(['-r', root, '--rm', 'true']);
    assert.is(other.code, 0, other.stderr);
    assert.equal(dirs.filter((d) => existsSync(d)), [], 'swept by the next container');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'bad values are refused with a clear message and nothing is left behind', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const cases: Array<[string[], RegExp]> = [
      [['--memory', '-64m'], /containode: invalid --memory -64m: a size can't be negative/],
      [['--memory', 'lots'], /containode: invalid --memory lots: not a size/],
      [['--cpus', '0'], /containode: invalid --cpus 0: must be more than 0/],
      [['--pids-limit', '0'], /containode: invalid --pids-limit 0: must be at least 1/],
      [['--uidmap', '0:100000'], /containode: invalid --uidmap 0:100000: not CONTAINER:HOST:COUNT/],
      [['-U', '--gidmap', '0:x:1'], /containode: invalid --gidmap 0:x:1: not CONTAINER:HOST:COUNT/],
      [['--uidmap', '5:100000:10'], /containode: --uidmap must map container id 0/],
      [['--net-hook', '/nonexistent/cosonet'], /containode: --net-hook \/nonexistent\/cosonet: no such file/],
      [['--cap-add', 'FLY'], /containode: invalid --cap-add FLY: no such capability/],
    ];
    for (const [args, message] of cases) {
      const id = uniqueName('bad');
      const r = await containode([...args, '-r', root, '-i', id, 'sh', '-c', 'echo ran']);
      assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /containode: hint: /);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
      assert.is(r.stdout, '', 'the program did not run');
      assertNothingLeft(id, `${root}-${id}`);
    }

    // -U with a root the mapped root can't reach: refused before the start,
    // after the cgroup and the top directory were made: both are gone again.
    const dir = tempDir(cleanup);
    chmodSync(dir, 0o755);
    const closed = join(dir, 'closed');
    mkdirSync(join(closed, 'rootfs'), { recursive: true, mode: 0o700 });
    const id = uniqueName('badu');
    const r = await containode(['-U', '--memory', '64m', '-r', join(closed, 'rootfs'), '-i', id, 'true']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`containode: -U: the container's root \\(uid \\d+ on the host\\) can't reach .*rootfs: ${closed} is closed to it`));
    assertNothingLeft(id, join(closed, `rootfs-${id}`));
  } finally {
    await cleanup.run();
  }
});

test.run();
