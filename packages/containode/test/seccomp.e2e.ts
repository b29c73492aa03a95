/**
 * The system-call filter in real containers (spawnContainer, a busybox
 * root): Docker's default profile refuses what it refuses and nothing a
 * plain program needs, its capability conditions follow the container's
 * capabilities, an OCI-style profile's errno reaches the program, and
 * unknown names come back as one warning. Each refusal is checked against
 * the same call in the same container without the filter, so the EPERM is
 * the filter's and not the kernel's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, testIf, uniqueName, whyMissing, whyNoRoot } from '@containet/common/testing';
import { spawnContainer, type ContainerSpec } from '@containet/containode';
import { defaultSeccompFilter, seccompFromOci } from '../src/security/seccomp.js';
import { baseSpec, busyboxRoot, runSpec, tempDir } from './helpers.js';
import { baseConfig, makeBundle, oci, writeConfig } from './oci-fixtures.js';

const PROBE_SRC = fileURLToPath(new URL('../../test/fixtures/seccomp-probe.c', import.meta.url));
const noRoot = whyNoRoot() ?? whyMissing('gcc');

/** Docker's default capabilities (moby's oci/caps/defaults.go). */
const DOCKER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
const capSets = (caps: string[]) => ({ bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] });

/** The probe, static (the root is busybox only), in a directory bound read-only into containers. */
function buildProbe(cleanup: Cleanup): string {
  const dir = tempDir(cleanup, 'cnode-probe');
  const r = spawnSync('gcc', ['-static', '-O1', '-o', join(dir, 'probe'), PROBE_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc: ${r.stderr}`);
  return dir;
}

function probeSpec(root: string, probeDir: string, args: string[], extra: Parameters<typeof baseSpec>[1] = {}): ContainerSpec {
  const spec = baseSpec(args, { rootfs: { path: root }, ...extra });
  spec.mounts = [
    { source: probeDir, destination: '/probe', type: 'bind', options: ['bind', 'ro'] },
    { source: 'tmpfs', destination: '/tmp', type: 'tmpfs', options: ['size=1m'] },
    ...(extra.mounts ?? []),
  ];
  return spec;
}

/** `NAME=RESULT` lines of the probe as a map. */
function results(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=') as [string, string]));
}

const REFUSED = ['keyctl', 'add_key', 'bpf', 'perf_event_open', 'mount', 'unshare_user', 'clone_newns', 'socket_vsock', 'personality_other'];
const ALLOWED = ['fork', 'socket_unix', 'personality_linux'];

testIf(test, noRoot, "Docker's default filter: Seccomp 2; keyctl, add_key, bpf, perf_event_open, mount, unshare/clone with namespace flags, AF_VSOCK refused with EPERM; the same calls unfiltered are not", async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const probe = buildProbe(cleanup);
    const calls = [...REFUSED, ...ALLOWED, 'beyond'];
    // Full root capabilities in both runs: a refusal can only come from
    // the filter, which is Docker's default evaluated for Docker's caps.
    const filtered = await runSpec(cleanup, probeSpec(root, probe, ['sh', '-c', `grep '^Seccomp:' /proc/self/status; /probe/probe ${calls.join(' ')}`], { seccomp: defaultSeccompFilter(DOCKER_CAPS) }));
    const open = await runSpec(cleanup, probeSpec(root, probe, ['sh', '-c', `grep '^Seccomp:' /proc/self/status; /probe/probe ${calls.join(' ')}`]));
    assert.is(filtered.status, 0, filtered.err);
    assert.is(open.status, 0, open.err);
    assert.match(filtered.out, /^Seccomp:\s+2$/m);
    assert.match(open.out, /^Seccomp:\s+0$/m);
    const f = results(filtered.out);
    const o = results(open.out);
    for (const c of REFUSED) {
      assert.is(f[c], 'EPERM', `${c} under the filter: ${filtered.out}`);
      assert.is.not(o[c], 'EPERM', `${c} without the filter must not be EPERM: ${open.out}`);
    }
    for (const c of ALLOWED) assert.is(f[c], 'OK', `${c} under the filter: ${filtered.out}`);
    // Newer than every call the profile names: ENOSYS as from a kernel
    // without it (runc's patchbpf stub), so a program's fallback runs.
    assert.is(f['beyond'], 'ENOSYS', filtered.out);
    assert.is(o['beyond'], 'ENOSYS', open.out);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'default filter: unshare -U and unshare -Ur id fail with EPERM, ordinary programs work (sh, ls, ping on loopback, a fork, a pipe)', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const script = [
      'unshare -U true; echo "unshare-U=$?"',
      'unshare -Ur id; echo "unshare-Ur=$?"',
      'ls / >/dev/null && echo ls=ok',
      'ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping=ok',
      '(sleep 0 & wait $!) && echo fork=ok',
      'echo piped | cat | grep -q piped && echo pipe=ok',
    ].join('; ');
    const r = await runSpec(cleanup, baseSpec(['sh', '-c', script], {
      rootfs: { path: root },
      seccomp: defaultSeccompFilter(DOCKER_CAPS),
      process: { capabilities: capSets(DOCKER_CAPS) },
    }));
    assert.is(r.status, 0, r.err);
    assert.match(r.out, /unshare-U=1/);
    assert.match(r.out, /unshare-Ur=1/);
    assert.match(r.err, /unshare.*Operation not permitted/);
    for (const ok of ['ls', 'ping', 'fork', 'pipe']) assert.match(r.out, new RegExp(`${ok}=ok`), `${ok}: ${r.out} ${r.err}`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'default filter with CAP_SYS_ADMIN in the bounding set (--cap-add SYS_ADMIN): mount -t tmpfs works, keyctl stays refused', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const probe = buildProbe(cleanup);
    const caps = [...DOCKER_CAPS, 'CAP_SYS_ADMIN'];
    const r = await runSpec(cleanup, probeSpec(root, probe, ['sh', '-c', 'mount -t tmpfs none /tmp && echo mounted; grep " /tmp tmpfs" /proc/mounts | tail -1; /probe/probe keyctl unshare_user'], {
      seccomp: defaultSeccompFilter(caps),
      process: { capabilities: capSets(caps) },
    }));
    assert.is(r.status, 0, r.err);
    assert.match(r.out, /^mounted$/m);
    assert.match(r.out, /^unshare_user=OK$/m);
    assert.match(r.out, /^keyctl=EPERM$/m);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'the filter is in force for a non-root user, with and without no_new_privs (installed before the capability drop when it is off)', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    for (const noNewPrivileges of [true, false]) {
      const r = await runSpec(cleanup, baseSpec(['sh', '-c', "grep -E '^(Seccomp|NoNewPrivs|Uid):' /proc/self/status"], {
        rootfs: { path: root },
        seccomp: defaultSeccompFilter([]),
        process: { user: { uid: 65534, gid: 65534 }, capabilities: capSets([]), noNewPrivileges },
      }));
      assert.is(r.status, 0, r.err);
      assert.match(r.out, /^Seccomp:\s+2$/m);
      assert.match(r.out, new RegExp(`^NoNewPrivs:\\s+${noNewPrivileges ? 1 : 0}$`, 'm'));
      assert.match(r.out, /^Uid:\s+65534\s/m);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'an OCI linux.seccomp that denies mkdir with errnoRet ENOSPC: the program sees ENOSPC; arguments select (socket AF_INET allowed, AF_INET6 refused with EAFNOSUPPORT)', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const filter = seccompFromOci({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 10, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    const script = 'mkdir /tmp/x; echo "mkdir=$?"; ping -c 1 -W 2 127.0.0.1 >/dev/null; echo "ping4=$?"; ping6 -c 1 -W 2 ::1; echo "ping6=$?"';
    const r = await runSpec(cleanup, baseSpec(['sh', '-c', script], {
      rootfs: { path: root },
      mounts: [{ source: 'tmpfs', destination: '/tmp', type: 'tmpfs', options: [] }],
      seccomp: filter,
    }));
    assert.match(r.out, /mkdir=1/);
    assert.match(r.err, /mkdir: can't create directory '\/tmp\/x': No space left on device/);
    assert.match(r.out, /ping4=0/);
    assert.match(r.out, /ping6=1/);
    assert.match(r.err, /Address family not supported by protocol/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'names libseccomp does not know are skipped with one warning naming each once; the container runs', async () => {
  const cleanup = new Cleanup();
  const dir = tempDir(cleanup, 'cnode-out');
  const out = openSync(join(dir, 'out'), 'w');
  try {
    const root = await busyboxRoot(cleanup);
    const filter = seccompFromOci({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['nosuchcall_one', 'mkdir', 'nosuchcall_two'], action: 'SCMP_ACT_ERRNO' },
        { names: ['nosuchcall_one'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    });
    const warnings: string[] = [];
    const c = await spawnContainer(baseSpec(['sh', '-c', 'echo ran'], { rootfs: { path: root }, seccomp: filter }), {
      stdio: ['ignore', out, 'inherit'],
      onWarning: (m) => warnings.push(m),
    });
    await c.release();
    assert.is(await c.exited, 0);
    assert.is(readFileSync(join(dir, 'out'), 'utf8'), 'ran\n');
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /^seccomp: system calls unknown to libseccomp on this architecture were skipped: nosuchcall_one, nosuchcall_two$/);
    // The built-in default names calls newer than libseccomp on purpose: no warning.
    const quiet: string[] = [];
    const d = await spawnContainer(baseSpec(['true'], { rootfs: { path: root }, seccomp: defaultSeccompFilter(DOCKER_CAPS) }), { stdio: ['ignore', out, 'inherit'], onWarning: (m) => quiet.push(m) });
    await d.release();
    assert.is(await d.exited, 0);
    assert.equal(quiet, []);
  } finally {
    closeSync(out);
    await cleanup.run();
  }
});

testIf(test, noRoot, 'containode-oci spec writes Docker\'s default profile into linux.seccomp; a container from it is confined (Seccomp 2, unshare -Ur and mount refused)', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, {});
    rmSync(join(b.dir, 'config.json'));
    const s = await oci(b, ['spec', '--bundle', b.dir]);
    assert.is(s.code, 0, s.stderr);
    const cfg = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
    assert.is(cfg.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
    assert.is(cfg.linux.seccomp.defaultErrnoRet, 1);
    assert.ok(cfg.linux.seccomp.syscalls.some((c: { names: string[] }) => c.names.includes('read')));
    // Evaluated for runc's spec capabilities: no CAP_SYS_ADMIN, so no mount.
    assert.not.ok(cfg.linux.seccomp.syscalls.some((c: { names: string[]; action: string }) => c.names.includes('mount') && c.action === 'SCMP_ACT_ALLOW'));
    cfg.process.terminal = false;
    cfg.process.args = ['sh', '-c', "grep '^Seccomp:' /proc/self/status; unshare -Ur id; echo \"unshare=$?\"; mount -t tmpfs none /tmp; echo \"mount=$?\""];
    writeConfig(b, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('scspec')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, /^unshare=1$/m);
    assert.match(r.stdout, /^mount=(1|255)$/m);
    assert.match(r.stderr, /Operation not permitted/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'containode-oci: linux.seccomp denying mkdir with errnoRet 28 makes mkdir fail with ENOSPC; without linux.seccomp the program is unfiltered', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh', '-c', "grep '^Seccomp:' /proc/self/status; mkdir /tmp/made; echo \"mkdir=$?\""]);
    const b = await makeBundle(cleanup, cfg);
    const open = await oci(b, ['run', '--bundle', b.dir, uniqueName('scopen')]);
    assert.is(open.code, 0, open.stderr);
    assert.match(open.stdout, /^Seccomp:\s+0$/m);
    assert.match(open.stdout, /^mkdir=0$/m);
    cfg.linux.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }],
    };
    cfg.process.args = ['sh', '-c', "grep '^Seccomp:' /proc/self/status; mkdir /tmp/again; echo \"mkdir=$?\""];
    writeConfig(b, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('scdeny')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, /^mkdir=1$/m);
    assert.match(r.stderr, /No space left on device/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'containode-oci: a linux.seccomp with an unknown action, architecture, operator, SCMP_ACT_NOTIFY or listenerPath: exit 2, one line naming the field, nothing created', async () => {
  const cleanup = new Cleanup();
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ defaultAction: 'SCMP_ACT_NOPE' }, /^containode-oci: config\.json: linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"$/m],
      [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /^containode-oci: config\.json: linux\.seccomp\.architectures\[0\]: unknown architecture "SCMP_ARCH_VAX"$/m],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }] }, /^containode-oci: config\.json: linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_ABOUT"$/m],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] }, /^containode-oci: config\.json: linux\.seccomp\.syscalls\[0\]\.action: SCMP_ACT_NOTIFY needs a seccomp agent/m],
      [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' }, /^containode-oci: config\.json: linux\.seccomp\.listenerPath: a seccomp agent/m],
    ];
    const cfg = baseConfig(['true']);
    const b = await makeBundle(cleanup, cfg);
    for (const [seccomp, message] of cases) {
      const id = uniqueName('scbad');
      writeConfig(b, { ...cfg, linux: { ...cfg.linux, cgroupsPath: `/containode-oci/${id}`, resources: { pids: { limit: 10 } }, seccomp } });
      const r = await oci(b, ['create', '--bundle', b.dir, id]);
      assert.is(r.code, 2, `${JSON.stringify(seccomp)}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.is(r.stderr.split('\n').filter((l) => l && !l.includes(': hint: ')).length, 1, r.stderr);
      assert.equal(readdirSync(b.state).filter((n) => !n.startsWith('.')), [], 'no container record');
      for (const cg of [`/sys/fs/cgroup/containode-oci/${id}`, `/sys/fs/cgroup/pids/containode-oci/${id}`]) assert.not.ok(existsSync(cg), `${cg} was made`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'compiled filters are kept in the cache directory and reused; a cache file that differs by one byte or that others may write is not trusted', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const cacheDir = join(tempDir(cleanup, 'cnode-bpf'), 'cache');
    const filter = { ...seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }] }), cacheDir };
    const start = () => runSpec(cleanup, baseSpec(['sh', '-c', 'mkdir /tmp/x; echo "mkdir=$?"'], {
      rootfs: { path: root },
      mounts: [{ source: 'tmpfs', destination: '/tmp', type: 'tmpfs', options: [] }],
      seccomp: filter,
    }));
    const denied = async (why: string) => {
      const r = await start();
      assert.match(r.out, /^mkdir=1$/m, `${why}: ${r.out}`);
      assert.match(r.err, /No space left on device/, why);
    };
    await denied('compiled');
    const files = readdirSync(cacheDir);
    assert.is(files.length, 1);
    assert.is(statSync(cacheDir).mode & 0o777, 0o700);
    const file = join(cacheDir, files[0]!);
    assert.is(statSync(file).mode & 0o777, 0o600);
    const first = readFileSync(file);
    assert.ok(first.includes('seccomp_rule\terrno\t28\tmkdir'), 'the file holds the lines it was compiled from');
    await denied('from the cache');
    assert.equal(readFileSync(file), first, 'reused, not rewritten');
    // One byte of the lines changed (errno 28 -> 29): not the same filter.
    const forged = Buffer.from(first);
    forged[forged.indexOf('errno\t28') + 7] = '9'.charCodeAt(0);
    writeFileSync(file, forged);
    await denied('after a forged cache file');
    assert.equal(readFileSync(file), first, 'compiled again and stored over the forged one');
    chmodSync(file, 0o666);
    await denied('with a world-writable cache file');
    assert.is(statSync(file).mode & 0o777, 0o600, 'replaced by a fresh one');
  } finally {
    await cleanup.run();
  }
});

test.run();
