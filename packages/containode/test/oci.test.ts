/**
 * containode-oci's pure parts: runc's argument forms, signal names,
 * config.json checks and warnings, and the spec handed to the spawner.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLOBAL_OPTIONS, parseOptions } from '../src/oci/args.js';
import { loadBundle, toContainerSpec } from '../src/oci/config.js';
import { parseSignal } from '../src/container/signals.js';
import { features } from '../src/oci/features.js';
import { CAPABILITY_NAMES } from '../src/limits/capabilities.js';
import { checkId } from '../src/container/engine.js';
import { procStat, processAlive, OCI_VERSION } from '../src/container/state.js';

test('global options in the forms urfave/cli accepts, stopping at the command', () => {
  const p = parseOptions(['--root=/r', '-log', '/l', '--log-format', 'json', '--debug', 'kill', '--all', 'id'], GLOBAL_OPTIONS, 'containode-oci');
  assert.equal(p.options, { root: '/r', log: '/l', 'log-format': 'json', debug: true });
  assert.equal(p.operands, ['kill', '--all', 'id']);
  assert.throws(() => parseOptions(['--nope', 'state'], GLOBAL_OPTIONS, 'containode-oci'), (e: { code: string; message: string }) => e.code === 'CN_USAGE' && e.message.includes('--nope'));
  assert.throws(() => parseOptions(['--root'], GLOBAL_OPTIONS, 'containode-oci'), /needs a value/);
  const rep = parseOptions(['-e', 'A=1', '--env=B=2', 'id', 'sh', '-c', 'x'], [{ name: 'env', short: 'e', value: true, repeat: true, help: 'an environment variable' }], 'exec');
  assert.equal(rep.options, { env: ['A=1', 'B=2'] });
  assert.equal(rep.operands, ['id', 'sh', '-c', 'x']);
});

test('signals: numbers, names with and without SIG, real-time forms; bad ones refused', () => {
  for (const s of ['15', 'TERM', 'SIGTERM', 'term']) assert.is(parseSignal(s), 15, s);
  assert.is(parseSignal('KILL'), 9);
  assert.is(parseSignal('SIGRTMIN+2'), 36);
  assert.is(parseSignal('RTMAX'), 64);
  for (const bad of ['0', '65', 'SIGNOPE', '', '-1']) assert.throws(() => parseSignal(bad), (e: { code: string }) => e.code === 'CN_USAGE', bad);
});

test('container ids: runc-like names accepted, paths refused', () => {
  for (const ok of ['a', 'web-1', 'x_y.z+1', 'A'.repeat(64)]) checkId(ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', '-a', 'a b']) assert.throws(() => checkId(bad), /invalid container id/, bad);
});

test('proc start time tells a live process from a reused pid', () => {
  const st = procStat(process.pid);
  assert.ok(st && Number.isInteger(st.start) && st.start > 0);
  assert.ok(processAlive(process.pid, st!.start));
  assert.not.ok(processAlive(process.pid, 1));
  assert.not.ok(processAlive(0, st!.start));
  assert.not.ok(processAlive(process.pid, undefined), 'without a start time a pid proves nothing');
});

function bundleWith(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'ociu-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const base = () => ({
  ociVersion: '1.0.2',
  root: { path: 'rootfs', readonly: true },
  process: { user: { uid: 1, gid: 2, additionalGids: [3] }, args: ['sh'], env: ['A=1'], cwd: '/w', rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: JSON.parse('18446744073709551615') as number }] },
  hostname: 'h',
  mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }],
  linux: {
    namespaces: [{ type: 'mount' }, { type: 'uts' }, { type: 'network', path: '/var/run/netns/x' }],
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
    sysctl: { 'net.ipv4.ip_forward': '1' },
    rootfsPropagation: 'rslave',
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o20666 }],
  },
});

test('config.json becomes the spawner spec field by field', () => {
  const dir = bundleWith(base());
  try {
    const b = loadBundle(dir);
    assert.equal(b.warnings, []);
    assert.is(b.rootfs, join(dir, 'rootfs'));
    const warned: string[] = [];
    const spec = toContainerSpec(b, { detached: true, execFifo: '/s/exec.fifo', warn: (m) => warned.push(m) });
    assert.equal(spec.namespaces, { mount: true, uts: true, net: '/var/run/netns/x' });
    assert.equal(spec.rootfs, { path: join(dir, 'rootfs'), readonly: true });
    assert.is(spec.hostname, 'h');
    assert.is(spec.propagation, 'rslave');
    assert.equal(spec.maskedPaths, ['/proc/kcore']);
    assert.equal(spec.readonlyPaths, ['/proc/sys']);
    assert.equal(spec.sysctl, { 'net.ipv4.ip_forward': '1' });
    assert.equal(spec.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
    // The container's own cgroup view (the spawner's `cgroup` mount), not a bind of the host's tree.
    assert.equal(spec.mounts?.[1], { source: 'cgroup', destination: '/sys/fs/cgroup', type: 'cgroup', options: ['ro'] });
    assert.equal(spec.process.user, { uid: 1, gid: 2, additionalGids: [3] });
    assert.equal(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 'unlimited' }]);
    assert.is(spec.process.cwd, '/w');
    assert.is(spec.execFifo, '/s/exec.fifo');
    assert.ok(spec.detached);
    assert.ok(spec.defaultDevices);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('fields the runtime does not honour are warned about by their path', () => {
  const cfg: Record<string, any> = base();
  cfg['linux'].personality = { domain: 'LINUX' };
  cfg['linux'].resources = { devices: [{ allow: false, access: 'rwm' }], blockIO: { weight: 10 }, rdma: { mlx4_0: { hcaHandles: 1 } } };
  cfg['process'].selinuxLabel = 'x';
  cfg['mounts'][0].uidMappings = [];
  cfg['extension'] = true;
  const dir = bundleWith(cfg);
  try {
    const w = loadBundle(dir).warnings.join('\n');
    // devices and blockIO are honoured now: no word about them.
    assert.not.match(w, 'linux.resources.devices');
    assert.not.match(w, 'linux.resources.blockIO');
    for (const field of ['linux.personality: not supported', 'linux.resources.rdma: not supported', 'process.selinuxLabel: not supported', 'mounts[0].uidMappings: not supported']) {
      assert.match(w, field);
    }
    assert.not.match(w, 'extension');
    assert.match(loadBundle(dir).ignored.join('\n'), 'extension: unknown field, ignored');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('ambient capabilities that cannot be raised are dropped with a warning', () => {
  const cfg: Record<string, any> = base();
  cfg['process'].capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_CHOWN'], ambient: ['CAP_KILL', 'CAP_CHOWN'] };
  const dir = bundleWith(cfg);
  try {
    const warned: string[] = [];
    const spec = toContainerSpec(loadBundle(dir), { detached: true, warn: (m) => warned.push(m) });
    assert.equal(spec.process.capabilities?.ambient, ['CAP_CHOWN']);
    assert.match(warned.join(), 'CAP_KILL not raised');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('features: the versions this runtime reads, its hooks, namespaces, capabilities; what it lacks says false', () => {
  const f = features() as Record<string, any>;
  const num = (v: string) => v.split('.').map(Number).reduce((a, b) => a * 1000 + b, 0);
  assert.ok(num(f['ociVersionMin']) <= num(OCI_VERSION) && num(OCI_VERSION) <= num(f['ociVersionMax']), 'the version `spec` writes is within the range');
  assert.equal(f['hooks'], ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  assert.equal(f['linux'].namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts']);
  assert.equal(f['linux'].capabilities, CAPABILITY_NAMES);
  assert.ok(f['mountOptions'].includes('rbind') && f['mountOptions'].includes('ro'));
  assert.is(f['linux'].seccomp.enabled, true);
  assert.ok(f['linux'].seccomp.actions.includes('SCMP_ACT_ERRNO'));
  assert.is(f['linux'].cgroup.systemd, false);
  assert.is(f['linux'].mountExtensions.idmap.enabled, false);
});

test('inconsistent configs are refused before anything is made', () => {
  const cases: Array<[(c: Record<string, any>) => void, string]> = [
    [(c) => (c['linux'].namespaces = [{ type: 'mount' }]), 'hostname: needs a uts namespace'],
    [(c) => (c['linux'].uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), 'mappings need a new user namespace'],
    [(c) => c['linux'].namespaces.push({ type: 'user' }), 'needs linux.uidMappings and linux.gidMappings'],
    [(c) => (c['process'].terminal = true), 'no --console-socket'],
  ];
  for (const [mutate, msg] of cases) {
    const cfg = base();
    mutate(cfg);
    const dir = bundleWith(cfg);
    try {
      assert.throws(() => toContainerSpec(loadBundle(dir), { detached: true, warn: () => {} }), (e: Error) => e.message.includes(msg), msg);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test('every command is a module with commandNames, help, its options and a handler the tests can call', async () => {
  const { COMMANDS } = await import('../src/oci/commands/index.js');
  const { Logger } = await import('../src/oci/log.js');
  for (const [name, load] of Object.entries(COMMANDS)) {
    const mod = await load();
    assert.ok(mod.commandNames.includes(name), `${name} is among its module's commandNames`);
    assert.type(mod.help, 'string');
    assert.type(mod.handler, 'function');
  }
  const root = mkdtempSync(join(tmpdir(), 'cnoci-cmd-'));
  try {
    const global = { root, log: new Logger(undefined, 'text', false) };
    const state = await COMMANDS['state']!();
    let err: { code?: string } | undefined;
    try {
      await state.handler({ command: 'state', global, options: {} }, ['nope']);
    } catch (e) {
      err = e as { code?: string };
    }
    assert.is(err?.code, 'CN_OCI_NOT_FOUND');
    const kill = await COMMANDS['kill']!();
    err = undefined;
    try {
      await kill.handler({ command: 'kill', global, options: {} }, ['a', 'NOSIG']);
    } catch (e) {
      err = e as { code?: string };
    }
    assert.is(err?.code, 'CN_USAGE', 'a bad signal is a usage error');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
