/**
 * Confined by default, seen from the command line: containers made by
 * `containode -r ROOT`, by `containode` without a root (the host's files)
 * and by `containode-oci` from the config `containode-oci spec` writes
 * cannot change the host's kernel settings or sysfs, cannot make new user
 * namespaces, keys, mounts or BPF programs, read empty masked files, and
 * see their own cgroup limits; --privileged lifts each. Every write a test
 * attempts on a host-global setting writes the value it already has, so a
 * protection that failed would still change nothing; the host's values
 * are read before and compared after.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, makeBusyboxRoot, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containode, startContainode, tempDir } from './helpers.js';
import { makeBundle, oci } from './oci-fixtures.js';

const PROBE_SRC = fileURLToPath(new URL('../../test/fixtures/seccomp-probe.c', import.meta.url));
const reason = whyNoRoot() ?? whyMissing('gcc');

/** Host-global settings a container must not change. */
const HOST_FILES = ['/proc/sys/kernel/printk_ratelimit', '/proc/sys/kernel/core_pattern', '/sys/module/printk/parameters/time'];

function hostValues(): Record<string, string> {
  return Object.fromEntries(HOST_FILES.filter(existsSync).map((f) => [f, readFileSync(f, 'utf8')]));
}

/**
 * A script that tries each write (with the value already there) and
 * prints `PATH=written` or `PATH=refused`, then the probe's calls, the
 * masked files' sizes and the container's own cgroup limits.
 */
function script(probe: string): string {
  const writes = HOST_FILES.map((f) => `if [ -e ${f} ]; then v=$(cat ${f}); if (echo "$v" > ${f}) 2>/dev/null; then echo ${f}=written; else echo ${f}=refused; fi; fi`);
  return [
    "grep '^Seccomp:' /proc/self/status",
    ...writes,
    `${probe} keyctl add_key bpf mount unshare_user`,
    'for f in /proc/keys /proc/timer_list /proc/kcore; do [ -e $f ] && echo "$f=$(cat $f | wc -c)"; done',
    'for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do [ -e $f ] && echo "$f=$(cat $f)"; done',
    'true',
  ].join('\n');
}

function results(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function assertConfined(out: string, label: string): void {
  const r = results(out);
  assert.match(out, /^Seccomp:\s+2$/m, `${label}: ${out}`);
  for (const f of HOST_FILES) if (existsSync(f)) assert.is(r[f], 'refused', `${label}: write to ${f}`);
  for (const call of ['keyctl', 'add_key', 'bpf', 'mount', 'unshare_user']) assert.is(r[call], 'EPERM', `${label}: ${call}: ${out}`);
  for (const f of ['/proc/keys', '/proc/timer_list', '/proc/kcore']) if (r[f] !== undefined) assert.is(r[f], '0', `${label}: ${f} must read empty`);
}

/** The container's own limits under /sys/fs/cgroup: 64 MiB and 20, v1 or v2. */
function assertOwnLimits(out: string, label: string): void {
  const r = results(out);
  const memory = r['/sys/fs/cgroup/memory/memory.limit_in_bytes'] ?? r['/sys/fs/cgroup/memory.max'];
  const pids = r['/sys/fs/cgroup/pids/pids.max'] ?? r['/sys/fs/cgroup/pids.max'];
  assert.is(memory, String(64 * 1024 * 1024), `${label}: memory limit seen inside: ${out}`);
  assert.is(pids, '20', `${label}: pids.max seen inside: ${out}`);
}

/** A static probe, and a busybox root with the probe in it. */
function buildProbe(cleanup: Cleanup): string {
  const dir = tempDir(cleanup, 'cnode-probe');
  const r = spawnSync('gcc', ['-static', '-O1', '-o', join(dir, 'probe'), PROBE_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc: ${r.stderr}`);
  return join(dir, 'probe');
}

testIf(test, reason, 'containode -r ROOT and containode without a root: confined by default, own cgroup limits seen, the host unchanged', async () => {
  const cleanup = new Cleanup();
  const before = hostValues();
  try {
    const probe = buildProbe(cleanup);
    const root = await makeBusyboxRoot(join(tempDir(cleanup, 'cnode-croot'), 'root'));
    copyFileSync(probe, join(root, 'bin', 'probe'));
    const limits = ['--memory', '64m', '--pids-limit', '20'];

    const withRoot = await containode(['--rm', '-i', uniqueName('cfr'), ...limits, '-r', root, 'sh', '-c', script('/bin/probe')]);
    assert.is(withRoot.code, 0, withRoot.stderr);
    assertConfined(withRoot.stdout, '-r ROOT');
    assertOwnLimits(withRoot.stdout, '-r ROOT');

    // No root: the host's files, but /proc/sys and /sys read-only all the same.
    const noRoot = await containode(['--rm', '-i', uniqueName('cfn'), ...limits, 'sh', '-c', script(probe)]);
    assert.is(noRoot.code, 0, noRoot.stderr);
    assertConfined(noRoot.stdout, 'no root');
    assertOwnLimits(noRoot.stdout, 'no root');

    // The host's network namespace (-N): its sysfs bound read-only.
    const hostNet = await containode(['--rm', '-N', '-i', uniqueName('cfh'), '-r', root, 'sh', '-c', script('/bin/probe')]);
    assert.is(hostNet.code, 0, hostNet.stderr);
    assertConfined(hostNet.stdout, '-N -r ROOT');
  } finally {
    await cleanup.run();
  }
  assert.equal(hostValues(), before, 'the host\'s settings are what they were');
});

testIf(test, reason, '--privileged lifts the filter, the masks and read-only /proc/sys; --security-opt seccomp=unconfined lifts only the filter', async () => {
  const cleanup = new Cleanup();
  const before = hostValues();
  try {
    const probe = buildProbe(cleanup);
    const root = await makeBusyboxRoot(join(tempDir(cleanup, 'cnode-proot'), 'root'));
    copyFileSync(probe, join(root, 'bin', 'probe'));
    // ip_forward of the container's own network namespace: writable when privileged, never the host's.
    const ownSetting = 'v=$(cat /proc/sys/net/ipv4/ip_forward); if (echo $v > /proc/sys/net/ipv4/ip_forward) 2>/dev/null; then echo own=written; else echo own=refused; fi';
    const masked = 'echo "keys-mount=$(grep -c " /proc/keys " /proc/self/mountinfo)"';
    const cmd = `grep '^Seccomp:' /proc/self/status; /bin/probe mount; ${ownSetting}; ${masked}`;

    const priv = await containode(['--rm', '--privileged', '-i', uniqueName('cfp'), '-r', root, 'sh', '-c', cmd]);
    assert.is(priv.code, 0, priv.stderr);
    assert.match(priv.stdout, /^Seccomp:\s+0$/m);
    const p = results(priv.stdout);
    assert.is(p['mount'], 'OK', priv.stdout);
    assert.is(p['own'], 'written', priv.stdout);
    assert.is(p['keys-mount'], '0', 'no mask over /proc/keys');

    const plain = await containode(['--rm', '-i', uniqueName('cfd'), '-r', root, 'sh', '-c', cmd]);
    const d = results(plain.stdout);
    assert.is(d['own'], 'refused', plain.stdout);
    assert.is(d['keys-mount'], '1', 'a mask over /proc/keys');

    const unconfined = await containode(['--rm', '--security-opt', 'seccomp=unconfined', '-i', uniqueName('cfu'), '-r', root, 'sh', '-c', cmd]);
    assert.is(unconfined.code, 0, unconfined.stderr);
    assert.match(unconfined.stdout, /^Seccomp:\s+0$/m);
    const u = results(unconfined.stdout);
    assert.is(u['mount'], 'EPERM', 'still without CAP_SYS_ADMIN');
    assert.is(u['keys-mount'], '1', 'masks stay');

    // --sysctl in the container's own network namespace, before /proc/sys goes read-only.
    const sysctl = await containode(['--rm', '--sysctl', 'net.ipv4.ip_forward=1', '-i', uniqueName('cfs'), '-r', root, 'cat', '/proc/sys/net/ipv4/ip_forward']);
    assert.is(sysctl.code, 0, sysctl.stderr);
    assert.is(sysctl.stdout, '1\n');
  } finally {
    await cleanup.run();
  }
  assert.equal(hostValues(), before, 'the host\'s settings are what they were');
});

testIf(test, reason, '`containode exec` into a confined container runs under the same filter; into a privileged one, under none', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await makeBusyboxRoot(join(tempDir(cleanup, 'cnode-xroot'), 'root'));
    for (const [flags, seccomp] of [[[], '2'], [['--privileged'], '0']] as const) {
      const id = uniqueName('cfx');
      const c = startContainode(cleanup, ['--rm', ...flags, '-i', id, '-r', root, 'sleep', '30']);
      await waitFor(async () => (await containode(['exec', id, 'true'])).code === 0, `${id} to run`, 10_000);
      const r = await containode(['exec', id, 'sh', '-c', "grep '^Seccomp:' /proc/self/status; unshare -U true 2>/dev/null && echo userns=made || echo userns=refused"]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Seccomp:\\s+${seccomp}$`, 'm'), `${flags.join(' ')}: ${r.stdout}`);
      if (seccomp === '2') assert.match(r.stdout, /^userns=refused$/m);
      await containode(['kill', id, 'KILL']);
      assert.is(await c.exit, 137);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, "the devices cgroup: Docker's allowlist, so a node of a device outside it (/dev/fuse, 10:229) cannot be opened; --privileged opens it", async () => {
  const cleanup = new Cleanup();
  try {
    const root = await makeBusyboxRoot(join(tempDir(cleanup, 'cnode-droot'), 'root'));
    // Opening /dev/fuse needs no capability: only the devices cgroup can refuse it.
    const cmd = 'mknod /dev/fuse c 10 229 && if head -c 0 /dev/fuse 2>/dev/null; then echo fuse=open; else echo fuse=refused; fi; echo ok > /dev/null && echo null=ok';
    const plain = await containode(['--rm', '-i', uniqueName('cfv'), '-r', root, 'sh', '-c', cmd]);
    assert.is(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^fuse=refused$/m);
    assert.match(plain.stdout, /^null=ok$/m);
    const priv = await containode(['--rm', '--privileged', '-i', uniqueName('cfw'), '-r', root, 'sh', '-c', cmd]);
    assert.is(priv.code, 0, priv.stderr);
    if (existsSync('/dev/fuse')) assert.match(priv.stdout, /^fuse=open$/m);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'bad confinement options: one line naming what was wrong, exit 2, no container made', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'cnode-badsec');
    const root = await makeBusyboxRoot(join(dir, 'root'));
    const badJson = join(dir, 'bad.json');
    const badAction = join(dir, 'action.json');
    writeFileSync(badJson, '{ not json');
    writeFileSync(badAction, JSON.stringify({ defaultAction: 'SCMP_ACT_EXPLODE', syscalls: [] }));
    const cases: [string[], RegExp][] = [
      [['--sysctl', 'kernel.core_pattern=|/tmp/x'], /kernel\.core_pattern.*allowed: net\.\*/],
      [['--sysctl', 'novalue'], /--sysctl/],
      [['--security-opt', 'seccomp=' + badJson], /bad\.json/],
      [['--security-opt', 'seccomp=' + badAction], /defaultAction/],
      [['--security-opt', 'apparmor=docker-default'], /AppArmor/],
      [['--security-opt', 'bogus=1'], /unknown security option/],
    ];
    for (const [flags, message] of cases) {
      const top = join(dir, `top-${flags[0]!.slice(2)}-${cases.findIndex((c) => c[0] === flags)}`);
      const r = await containode([...flags, '-r', root, '-t', top, 'true']);
      assert.is(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, flags.join(' '));
      assert.match(r.stderr.split('\n')[0]!, /^containode: /, 'one line first, no stack trace');
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
      assert.not.ok(existsSync(top), `${flags.join(' ')}: nothing created`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'containode-oci with the config `containode-oci spec` writes: the same confinement', async () => {
  const cleanup = new Cleanup();
  const before = hostValues();
  try {
    const probe = buildProbe(cleanup);
    const b = await makeBundle(cleanup, {});
    rmSync(join(b.dir, 'config.json'));
    const spec = await oci(b, ['spec', '--bundle', b.dir]);
    assert.is(spec.code, 0, spec.stderr);
    const config = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
    config.process.terminal = false;
    config.process.args = ['sh', '-c', script('/bin/probe')];
    config.linux.resources = { ...(config.linux.resources ?? {}), memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
    config.linux.cgroupsPath = `/containet-test/${uniqueName('cfo')}`;
    writeFileSync(join(b.dir, 'config.json'), JSON.stringify(config));
    copyFileSync(probe, join(b.rootfs, 'bin', 'probe'));
    const id = uniqueName('cfo');
    const r = await oci(b, ['run', '--bundle', b.dir, id], { timeoutMs: 30_000 });
    assert.is(r.code, 0, r.stderr);
    assertConfined(r.stdout, 'containode-oci');
  } finally {
    await cleanup.run();
  }
  assert.equal(hostValues(), before, 'the host\'s settings are what they were');
});

test.run();
