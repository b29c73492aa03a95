/**
 * Unit tests of security/: the namespaced --sysctl rules (Docker's and
 * runc's), and what confine() adds to a spec with and without privileged,
 * down to the spawner's lines.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContainetError } from '@containet/common';
import { serializeSpec, type ContainerSpec } from '@containet/containode';
import type { SeccompFilter } from '../src/runtime/spec.js';
import { cgroupViewMount, confine } from '../src/security/confine.js';
import { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from '../src/security/paths.js';
import { ALLOWED_SYSCTLS, checkSysctls, parseSysctlOptions, sysctlNamespace } from '../src/security/sysctl.js';

const OWN = { newNet: true, newIpc: true };

function spec(extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true },
    defaultMounts: true,
    defaultDevices: true,
    process: { args: ['sh'], env: [] },
    ...extra,
  };
}

function refusal(fn: () => unknown): ContainetError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ContainetError);
    return err as ContainetError;
  }
  assert.unreachable('expected a refusal');
  throw new Error('unreachable');
}

test('sysctl: net.* belongs to the network namespace, the IPC limits to the IPC one, the rest to the host', () => {
  assert.is(sysctlNamespace('net.ipv4.ip_forward'), 'net');
  assert.is(sysctlNamespace('net.core.somaxconn'), 'net');
  for (const k of ['kernel.shmmax', 'kernel.shmall', 'kernel.shm_rmid_forced', 'kernel.msgmax', 'kernel.msgmnb', 'kernel.sem', 'fs.mqueue.msg_max']) {
    assert.is(sysctlNamespace(k), 'ipc', k);
  }
  for (const k of ['kernel.core_pattern', 'kernel.printk_ratelimit', 'kernel.semaphores', 'fs.file-max', 'vm.overcommit_memory', 'network.x', 'kernel.hostname']) {
    assert.is(sysctlNamespace(k), undefined, k);
  }
  assert.is(ALLOWED_SYSCTLS, 'net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*');
});

test('sysctl: a host-wide key is refused in one line listing the allowed prefixes, exit status 2', () => {
  const err = refusal(() => parseSysctlOptions(['kernel.core_pattern=|/x'], OWN));
  assert.is(err.code, 'CN_SYSCTL');
  assert.is(err.exitCode, 2);
  assert.not.match(err.message, /\n/);
  assert.match(err.message, /kernel\.core_pattern/);
  assert.match(err.message, /net\.\*, kernel\.shm\*, kernel\.msg\*, kernel\.sem, fs\.mqueue\.\*/);
});

test('sysctl: each needs its own namespace', () => {
  const net = refusal(() => checkSysctls({ 'net.ipv4.ip_forward': '1' }, { newNet: false, newIpc: true }));
  assert.is(net.code, 'CN_SYSCTL');
  assert.match(net.message, /own network namespace/);
  const ipc = refusal(() => checkSysctls({ 'kernel.msgmax': '1' }, { newNet: true, newIpc: false }));
  assert.match(ipc.message, /own IPC namespace/);
  assert.equal(checkSysctls({ 'kernel.msgmax': '9000', 'net.ipv4.ip_forward': '1' }, OWN), { 'kernel.msgmax': '9000', 'net.ipv4.ip_forward': '1' });
});

test('sysctl: malformed options and keys are refused with CN_SYSCTL', () => {
  for (const bad of ['net.ipv4.ip_forward', '=1', 'net..x=1', 'net/ipv4/ip_forward=1', 'net.ipv4.ip_forward=', '.net.x=1', 'net.x.=1']) {
    const err = refusal(() => parseSysctlOptions([bad], OWN));
    assert.is(err.code, 'CN_SYSCTL', bad);
    assert.is(err.exitCode, 2, bad);
  }
  // A later value for the same key wins; a value may hold '='.
  assert.equal(parseSysctlOptions(['net.ipv4.ip_forward=0', 'net.ipv4.ip_forward=1', 'net.core.x=a=b'], OWN), { 'net.ipv4.ip_forward': '1', 'net.core.x': 'a=b' });
});

test('confine: Docker\'s masked and read-only paths, the read-only cgroup view first among the mounts, sysctls checked', () => {
  const s = confine(spec({ mounts: [{ source: '/data', destination: '/data', type: 'bind', options: ['rbind'] }], maskedPaths: ['/proc/extra'] }), {
    privileged: false,
    sysctls: { 'net.ipv4.ip_forward': '1' },
  });
  assert.equal(s.maskedPaths, ['/proc/extra', ...DOCKER_MASKED_PATHS]);
  assert.equal(s.readonlyPaths, [...DOCKER_READONLY_PATHS]);
  assert.equal(s.mounts?.[0], cgroupViewMount(false));
  assert.equal(s.mounts?.[0]?.options, ['ro', 'nosuid', 'noexec', 'nodev']);
  assert.is(s.mounts?.[1]?.destination, '/data');
  assert.equal(s.sysctl, { 'net.ipv4.ip_forward': '1' });
  assert.is(s.sysfsWritable, undefined);
  for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi']) assert.ok(s.maskedPaths?.includes(p), p);
  for (const p of ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs']) assert.ok(s.readonlyPaths?.includes(p), p);

  const lines = serializeSpec(s).split('\n');
  assert.ok(lines.includes('masked\t/proc/kcore'));
  assert.ok(lines.includes('readonly\t/proc/sys'));
  assert.ok(lines.includes('mount\tcgroup\t/sys/fs/cgroup\tcgroup\tro,nosuid,noexec,nodev'));
  assert.ok(lines.includes('sysctl\tnet.ipv4.ip_forward\t1'));
  assert.not.ok(lines.some((l) => l.startsWith('sysfs\t')), '/sys read-only is the spawner\'s default');
});

test('confine: privileged adds no masks and no read-only paths, /sys and the cgroup view writable, no filter', () => {
  const filter: SeccompFilter = { defaultAction: 'errno', rules: [] };
  const s = confine(spec(), { privileged: true, sysctls: { 'kernel.shmmax': '1000' }, seccomp: filter });
  assert.is(s.maskedPaths, undefined);
  assert.is(s.readonlyPaths, undefined);
  assert.is(s.sysfsWritable, true);
  assert.equal(s.mounts?.[0]?.options, ['nosuid', 'noexec', 'nodev']);
  assert.equal(s.sysctl, { 'kernel.shmmax': '1000' });
  assert.is(s.seccomp, undefined);
  assert.ok(serializeSpec(s).split('\n').includes('sysfs\trw'));
  // Unprivileged, the filter goes into the spec.
  assert.is(confine(spec(), { privileged: false, seccomp: filter }).seccomp, filter);
});

test('confine: sysctls follow the spec\'s namespaces unless the policy says; refused before anything is added', () => {
  const hostNet = spec({ namespaces: { pid: true, mount: true, ipc: true } });
  const err = refusal(() => confine(hostNet, { privileged: false, sysctls: { 'net.ipv4.ip_forward': '1' } }));
  assert.match(err.message, /own network namespace/);
  assert.is(hostNet.maskedPaths, undefined, 'nothing added on refusal');
  // A network namespace joined by path: the caller says whose it is.
  const joined = spec({ namespaces: { pid: true, mount: true, net: '/run/netns/x' } });
  assert.equal(confine(joined, { privileged: false, newNet: true, sysctls: { 'net.core.somaxconn': '100' } }).sysctl, { 'net.core.somaxconn': '100' });
});

test('confine: no cgroup view without default mounts (an OCI config lists its own) or when asked not to; an existing one is kept', () => {
  assert.is(confine(spec({ defaultMounts: false }), { privileged: false }).mounts, undefined);
  assert.is(confine(spec(), { privileged: false, cgroupView: false }).mounts, undefined);
  const own = { source: 'cgroup', destination: '/sys/fs/cgroup', type: 'cgroup', options: ['rw'] };
  assert.equal(confine(spec({ mounts: [own] }), { privileged: false }).mounts, [own]);
  // Without a mount namespace there is nothing to mask or mount.
  const noMnt = confine(spec({ namespaces: { pid: true }, defaultMounts: false }), { privileged: false });
  assert.is(noMnt.maskedPaths, undefined);
});

test.run();
