/**
 * seccomp profiles without a container: Docker's format evaluated for
 * capabilities, architectures and kernels as dockerd does, OCI
 * linux.seccomp checked field by field, and the spawner lines they become.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContainetError } from '@containet/common';
import { serializeSpec, type SeccompFilter } from '@containet/containode';
import { defaultOciSeccomp, defaultSeccompFilter, parseDockerProfile, seccompFeatures, seccompFromOci } from '../src/security/seccomp.js';

const AMD64 = { arch: 'amd64', kernel: '6.1.0-18-amd64' };

function rulesFor(f: SeccompFilter, name: string) {
  return f.rules.filter((r) => r.names.includes(name));
}

/** The error a bad profile gives: CN_SECCOMP_PROFILE, exit 2, one line. */
function refusal(fn: () => unknown): ContainetError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ContainetError);
    const e = err as ContainetError;
    assert.is(e.code, 'CN_SECCOMP_PROFILE');
    assert.is(e.exitCode, 2);
    assert.not.match(e.message, /\n/);
    return e;
  }
  throw new assert.Assertion({ message: 'expected a refusal', generated: false, operator: 'throws', expects: 'throw', actual: 'returned' });
}

test("Docker's default for Docker's capabilities: EPERM by default, x86_64 with x86 and x32, mount and keyctl not allowed, clone only without namespace flags", () => {
  const f = defaultSeccompFilter(['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_SETUID'], AMD64);
  assert.is(f.defaultAction, 'errno');
  assert.is(f.defaultErrno, 1);
  assert.equal(f.architectures, ['x86_64', 'x86', 'x32']);
  assert.is(f.quietUnknown, true);
  assert.equal(rulesFor(f, 'mount'), []);
  assert.equal(rulesFor(f, 'unshare'), []);
  assert.equal(rulesFor(f, 'keyctl'), []);
  assert.equal(rulesFor(f, 'bpf'), []);
  assert.ok(rulesFor(f, 'read').some((r) => r.action === 'allow' && !r.args));
  assert.ok(rulesFor(f, 'arch_prctl').length === 1, 'amd64-only rule kept');
  assert.equal(rulesFor(f, 'riscv_flush_icache'), [], 'riscv64-only rule dropped');
  // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET = 0x7e020000
  assert.equal(rulesFor(f, 'clone'), [{ names: ['clone'], action: 'allow', args: [{ index: 0, op: 'masked_eq', value: 2114060288n }] }]);
  assert.equal(rulesFor(f, 'clone3'), [{ names: ['clone3'], action: 'errno', errno: 38 }]);
  assert.equal(rulesFor(f, 'socket').map((r) => r.args), [[{ index: 0, op: 'lt', value: 38n }], [{ index: 0, op: 'eq', value: 39n }], [{ index: 0, op: 'gt', value: 40n }]]);
  assert.is(rulesFor(f, 'personality').length, 5);
});

test('includes.caps/excludes.caps follow the bounding set: CAP_SYS_ADMIN allows mount, unshare and any clone; CAP_SYS_PTRACE allows ptrace; names without CAP_ count', () => {
  const f = defaultSeccompFilter(['SYS_ADMIN', 'sys_ptrace'], AMD64);
  for (const n of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'bpf', 'perf_event_open']) {
    assert.ok(rulesFor(f, n).some((r) => r.action === 'allow' && !r.args), `${n} allowed`);
  }
  assert.not.ok(rulesFor(f, 'clone').some((r) => r.args), 'the masked clone rule is excluded with CAP_SYS_ADMIN');
  assert.not.ok(rulesFor(f, 'clone3').some((r) => r.action === 'errno'), 'clone3 ENOSYS excluded with CAP_SYS_ADMIN');
  assert.ok(rulesFor(f, 'ptrace').some((r) => r.action === 'allow'));
  assert.equal(rulesFor(f, 'reboot'), []);
});

test("archMap picks the host's entry; arches and minKernel conditions as moby: s390x gets clone's flags in argument 1", () => {
  const f = defaultSeccompFilter([], { arch: 's390x', kernel: '5.10.0' });
  assert.equal(f.architectures, ['s390x', 's390']);
  assert.equal(rulesFor(f, 'clone').map((r) => r.args?.[0]?.index), [1]);
  const old = parseDockerProfile(
    JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } }, { names: ['uname'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '4.8' } }] }),
    [],
    'p.json',
    { arch: 'amd64', kernel: '4.4.0-generic' },
  );
  assert.equal(old.rules.map((r) => r.names[0]), ['uname']);
  const recent = parseDockerProfile(
    { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } }, { name: 'uname', action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '4.8' } }] },
    [],
    'p.json',
    { arch: 'amd64', kernel: '4.8.0' },
  );
  assert.equal(recent.rules.map((r) => r.names[0]), ['ptrace']);
});

test('the default profile in OCI form (containode-oci spec): OCI names, evaluated for the given capabilities, and it reads back as the same filter', () => {
  const o = defaultOciSeccomp(['CAP_KILL'], AMD64);
  assert.is(o.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(o.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const s of o.syscalls ?? []) {
    assert.equal(Object.keys(s).filter((k) => !['names', 'action', 'errnoRet', 'args'].includes(k)), [], 'no Docker-only fields');
  }
  const back = seccompFromOci(JSON.parse(JSON.stringify(o)));
  const direct = defaultSeccompFilter(['CAP_KILL'], AMD64);
  assert.equal(back.rules, direct.rules);
});

test('OCI linux.seccomp: actions, errnoRet defaults (EPERM), flags and architectures as the spawner names them', () => {
  const f = seccompFromOci({
    defaultAction: 'SCMP_ACT_KILL',
    architectures: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' },
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }, { index: 1, value: 15, op: 'SCMP_CMP_EQ' }] },
      { names: ['ioctl'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 0xff00, valueTwo: 0x5400, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  assert.is(f.defaultAction, 'kill_thread');
  assert.is(f.defaultErrno, undefined);
  assert.equal(f.architectures, ['aarch64', 'arm']);
  assert.equal(f.flags, ['log', 'spec_allow', 'tsync']);
  assert.equal(f.rules[1], { names: ['mkdir'], action: 'errno', errno: 1 });
  assert.equal(f.rules[2], { names: ['ptrace'], action: 'trace', errno: 7 });
  assert.is(f.rules[3]!.args!.length, 2);
  assert.equal(f.rules[4]!.args, [{ index: 1, op: 'masked_eq', value: 0xff00n, valueTwo: 0x5400n }]);
});

test("unknown names are reported only when a profile names a call outside Docker's list (a typo, not a call newer than libseccomp)", () => {
  const real = seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mseal', 'statmount'], action: 'SCMP_ACT_ERRNO' }] });
  assert.is(real.quietUnknown, true);
  const typo = seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdri'], action: 'SCMP_ACT_ERRNO' }] });
  assert.is(typo.quietUnknown, undefined);
  assert.is(defaultSeccompFilter([], AMD64).quietUnknown, true);
  assert.is(parseDockerProfile({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'frobnicate'], action: 'SCMP_ACT_ALLOW' }] }, []).quietUnknown, undefined);
});

test('serializeSpec: one seccomp_rule line per name, conditions as INDEX:OP:VALUE[:VALUE2], errno "-" when none', () => {
  const text = serializeSpec({
    namespaces: {},
    process: { args: ['true'], env: [] },
    seccomp: {
      defaultAction: 'errno',
      defaultErrno: 1,
      architectures: ['x86_64', 'x86'],
      flags: ['log'],
      quietUnknown: true,
      rules: [
        { names: ['read', 'write'], action: 'allow' },
        { names: ['clone'], action: 'allow', args: [{ index: 0, op: 'masked_eq', value: 2114060288n }] },
        { names: ['personality'], action: 'allow', args: [{ index: 0, op: 'eq', value: 4294967295 }] },
        { names: ['clone3'], action: 'errno', errno: 38 },
      ],
    },
  });
  const lines = text.split('\n').filter((l) => l.startsWith('seccomp_'));
  assert.equal(lines, [
    'seccomp_default\terrno\t1',
    'seccomp_arch\tx86_64',
    'seccomp_arch\tx86',
    'seccomp_flag\tlog',
    'seccomp_unknown\tquiet',
    'seccomp_rule\tallow\t-\tread',
    'seccomp_rule\tallow\t-\twrite',
    'seccomp_rule\tallow\t-\tclone\t0:masked_eq:2114060288:0',
    'seccomp_rule\tallow\t-\tpersonality\t0:eq:4294967295',
    'seccomp_rule\terrno\t38\tclone3',
  ]);
  assert.ok(text.endsWith('end\n'));
});

test('a Docker profile that is not JSON: one line naming the file', () => {
  const e = refusal(() => parseDockerProfile('{"defaultAction": ', [], '/etc/p.json'));
  assert.match(e.message, /^\/etc\/p\.json: \(top level\): not valid JSON: /);
});

test('bad Docker profiles: each refusal names its field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /^p\.json: \(top level\): must be a JSON object$/],
    [{}, /^p\.json: defaultAction: is required$/],
    [{ defaultAction: 'SCMP_ACT_BLOCK' }, /^p\.json: defaultAction: unknown action "SCMP_ACT_BLOCK"$/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /^p\.json: defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'x86_64'] }, /^p\.json: architectures\[1\]: unknown architecture "x86_64"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_PDP11'] }] }, /^p\.json: archMap\[0\]\.subArchitectures\[0\]: unknown architecture "SCMP_ARCH_PDP11"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', archMap: [], architectures: [] }, /^p\.json: archMap: both 'architectures' and 'archMap'/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['write'], action: 'ALLOW' }] }, /^p\.json: syscalls\[1\]\.action: unknown action "ALLOW"$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }, /^p\.json: syscalls\[0\]\.errnoRet: is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 5000 }] }, /^p\.json: syscalls\[0\]\.errnoRet: must be an integer from 0 to 4095$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'read', names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, /^p\.json: syscalls\[0\]: gives both 'name' and 'names'/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }, /^p\.json: syscalls\[0\]\.names: must name at least one system call$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /^p\.json: syscalls\[0\]\.args\[0\]\.index: must be an integer from 0 to 5$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /^p\.json: syscalls\[0\]\.args\[0\]\.value: must be an unsigned 64-bit integer$/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4' } }] }, /^p\.json: syscalls\[0\]\.includes\.minKernel: invalid kernel version "4"/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, /^p\.json: flags\[0\]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only applies to a seccomp agent/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x' }, /^p\.json: listenerPath: a seccomp agent/],
  ];
  for (const [profile, message] of cases) {
    const e = refusal(() => parseDockerProfile(JSON.stringify(profile), [], 'p.json', AMD64));
    assert.match(e.message, message);
  }
});

test('features: every action, operator, architecture and flag listed is accepted by seccompFromOci; NOTIFY is not listed', () => {
  const f = seccompFeatures();
  assert.ok(!f.actions.includes('SCMP_ACT_NOTIFY'));
  for (const action of f.actions) seccompFromOci({ defaultAction: action });
  for (const op of f.operators) seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, valueTwo: 1, op }] }] });
  assert.is(seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', architectures: f.archs, flags: f.supportedFlags }).architectures!.length, f.archs.length);
  assert.ok(f.archs.includes('SCMP_ARCH_X86_64') && !f.archs.includes('SCMP_ARCH_LOONGARCH64'));
});

test('OCI errors carry config.json and the linux.seccomp path', () => {
  const e = refusal(() => seccompFromOci({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }] }));
  assert.is(e.message, 'config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator "EQ"');
  assert.match(e.hint ?? '', /SCMP_CMP_EQ/);
});

test.run();
