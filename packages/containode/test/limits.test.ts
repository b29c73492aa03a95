/**
 * Option parsing of containode's limits, user namespace, capabilities and
 * network hook: every accepted form and every refusal, with its message.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { ContainerSpec } from '@containet/containode';
import {
  DEFAULT_CAPABILITIES,
  addLimitOptions,
  amendSpecWithLimits,
  chooseCapabilities,
  defaultIdMapping,
  formatBytes,
  parseCpus,
  parseLimitOptions,
  parseMemory,
  parsePidsLimit,
} from '../src/limits/index.js';

function refuses(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    const e = err as { code?: string; message: string; exitCode?: number };
    assert.is(e.code, 'CN_USAGE', e.message);
    assert.is(e.exitCode, 2);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`accepted, expected ${pattern}`);
}

test('--memory takes bytes and k/m/g/t suffixes (binary, as docker)', () => {
  assert.is(parseMemory('512m'), 512 * 1024 ** 2);
  assert.is(parseMemory('1g'), 1024 ** 3);
  assert.is(parseMemory('1.5G'), 1.5 * 1024 ** 3);
  assert.is(parseMemory('8388608'), 8 * 1024 ** 2);
  assert.is(parseMemory('64MiB'), 64 * 1024 ** 2);
  assert.is(parseMemory('64mb'), 64 * 1024 ** 2);
  assert.is(parseMemory('7000k'), 7000 * 1024);
  assert.is(formatBytes(parseMemory('32m')), '32m');
});

test('--memory refuses negative, malformed, tiny and huge sizes', () => {
  refuses(() => parseMemory('-1'), /invalid --memory -1: a size can't be negative/);
  refuses(() => parseMemory('-64m'), /can't be negative/);
  refuses(() => parseMemory('12x'), /not a size/);
  refuses(() => parseMemory(''), /not a size/);
  refuses(() => parseMemory('0'), /minimum is 6m/);
  refuses(() => parseMemory('1k'), /minimum is 6m/);
  refuses(() => parseMemory('99999999999t'), /too large/);
});

test('--cpus is fractional, more than 0, at most the machine\'s CPUs', () => {
  assert.is(parseCpus('0.5', 2), 0.5);
  assert.is(parseCpus('2', 2), 2);
  assert.is(parseCpus('.25', 2), 0.25);
  refuses(() => parseCpus('0', 2), /invalid --cpus 0: must be more than 0/);
  refuses(() => parseCpus('0.0', 2), /must be more than 0/);
  refuses(() => parseCpus('-1', 2), /not a number/);
  refuses(() => parseCpus('half', 2), /not a number/);
  refuses(() => parseCpus('0.001', 2), /minimum is 0.01/);
  refuses(() => parseCpus('3', 2), /this machine has 2 CPUs/);
});

test('--pids-limit is a whole number of at least 1', () => {
  assert.is(parsePidsLimit('100'), 100);
  refuses(() => parsePidsLimit('0'), /at least 1/);
  refuses(() => parsePidsLimit('-1'), /not a whole number/);
  refuses(() => parsePidsLimit('1.5'), /not a whole number/);
});

test('capabilities: docker\'s default set, --cap-drop, --cap-add, ALL, --privileged', () => {
  const last = 40;
  const def = chooseCapabilities({}, last);
  assert.is(def.keepAll, false);
  assert.equal([...def.caps].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.is(def.caps.length, 14);
  assert.not.ok(def.caps.includes('CAP_SYS_ADMIN'));

  const dropped = chooseCapabilities({ drop: ['mknod', 'CAP_NET_RAW'], add: ['sys_admin,Net_Admin'] }, last);
  assert.not.ok(dropped.caps.includes('CAP_MKNOD'));
  assert.not.ok(dropped.caps.includes('CAP_NET_RAW'));
  assert.ok(dropped.caps.includes('CAP_SYS_ADMIN'));
  assert.ok(dropped.caps.includes('CAP_NET_ADMIN'));

  assert.equal(chooseCapabilities({ drop: ['ALL'], add: ['CHOWN'] }, last), { keepAll: false, caps: ['CAP_CHOWN'] });
  assert.equal(chooseCapabilities({ drop: ['all'] }, last).caps, []);
  assert.is(chooseCapabilities({ add: ['ALL'] }, last).caps.length, 41);
  assert.is(chooseCapabilities({ add: ['ALL'] }, 37).caps.length, 38, 'ALL is what this kernel knows');
  assert.is(chooseCapabilities({ privileged: true }, last).keepAll, true);
  const privDrop = chooseCapabilities({ privileged: true, drop: ['SYS_ADMIN'] }, last);
  assert.is(privDrop.keepAll, false);
  assert.is(privDrop.caps.length, 40);

  refuses(() => chooseCapabilities({ add: ['FLY'] }, last), /invalid --cap-add FLY: no such capability/);
  refuses(() => chooseCapabilities({ drop: ['CAP_'] }, last), /invalid --cap-drop CAP_/);
  refuses(() => chooseCapabilities({ add: ['BPF'] }, 37), /this kernel does not know CAP_BPF/);
  refuses(() => chooseCapabilities({ add: ['MKNOD'], drop: ['cap_mknod'] }, last), /CAP_MKNOD is in both --cap-add and --cap-drop/);
});

test('id maps: CONTAINER:HOST:COUNT, default from /etc/subuid or 100000:65536', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnode-limits-'));
  try {
    const subuid = join(dir, 'subuid');
    writeFileSync(subuid, 'alice:100000:65536\nroot:231072:65536\n');
    assert.equal(defaultIdMapping(subuid), { containerID: 0, hostID: 231072, size: 65536 });
    assert.equal(defaultIdMapping(join(dir, 'none')), { containerID: 0, hostID: 100000, size: 65536 });

    const env = { cgroupnsSupported: true, subuidFile: subuid, subgidFile: join(dir, 'none') };
    const u = parseLimitOptions({ userns: true }, env).userns!;
    assert.equal(u.uidMappings, [{ containerID: 0, hostID: 231072, size: 65536 }]);
    assert.equal(u.gidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);

    const m = parseLimitOptions({ uidmap: ['0:200000:1000', '1000:300000:10'] }, env).userns!;
    assert.equal(m.uidMappings.length, 2, '--uidmap implies -U');
    assert.equal(m.gidMappings, m.uidMappings, 'gid map defaults to the uid map');
    assert.equal(parseLimitOptions({ userns: true, gidmap: ['0:5000:10'] }, env).userns!.gidMappings, [{ containerID: 0, hostID: 5000, size: 10 }]);
    assert.is(parseLimitOptions({}, env).userns, undefined);

    refuses(() => parseLimitOptions({ uidmap: ['0:100000'] }, env), /invalid --uidmap 0:100000: not CONTAINER:HOST:COUNT/);
    refuses(() => parseLimitOptions({ uidmap: ['a:b:c'] }, env), /not CONTAINER:HOST:COUNT/);
    refuses(() => parseLimitOptions({ gidmap: ['0:-5:10'] }, env), /invalid --gidmap 0:-5:10/);
    refuses(() => parseLimitOptions({ uidmap: ['0:100000:0'] }, env), /COUNT must be at least 1/);
    refuses(() => parseLimitOptions({ uidmap: ['0:4294967290:100'] }, env), /past the largest id/);
    refuses(() => parseLimitOptions({ uidmap: ['0:100000:100', '50:300000:10'] }, env), /overlap inside the container/);
    refuses(() => parseLimitOptions({ uidmap: ['0:100000:100', '200:100050:10'] }, env), /overlap on the host/);
    refuses(() => parseLimitOptions({ uidmap: ['1:100000:100'] }, env), /must map container id 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--cgroupns: on by default where supported, refused where not', () => {
  assert.is(parseLimitOptions({}, { cgroupnsSupported: true }).cgroupns, true);
  assert.is(parseLimitOptions({ cgroupns: false }, { cgroupnsSupported: true }).cgroupns, false);
  assert.is(parseLimitOptions({}, { cgroupnsSupported: false }).cgroupns, false);
  refuses(() => parseLimitOptions({ cgroupns: true }, { cgroupnsSupported: false }), /no cgroup namespaces/);
});

test('--net-hook must be an existing executable file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnode-hook-'));
  try {
    const hook = join(dir, 'hook');
    writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    refuses(() => parseLimitOptions({ netHook: hook }), /--net-hook .*hook: not executable/);
    chmodSync(hook, 0o755);
    assert.is(parseLimitOptions({ netHook: hook }).netHook, hook);
    refuses(() => parseLimitOptions({ netHook: join(dir, 'nope') }), /--net-hook .*nope: no such file/);
    refuses(() => parseLimitOptions({ netHook: dir }), /not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI options reach parseLimitOptions under the names it reads', () => {
  const cmd = addLimitOptions(new Command('containode').exitOverride().argument('[program...]').action(() => undefined));
  cmd.parse(['--memory', '64m', '--cpus', '0.5', '--pids-limit', '9', '-U', '--uidmap', '0:1:2', '--uidmap', '2:5:1', '--cap-add', 'A', '--cap-drop', 'B', '--cap-drop', 'C', '--no-cgroupns', '--privileged', '--net-hook', '/x', 'sh'], { from: 'user' });
  assert.equal(cmd.opts(), {
    memory: '64m', cpus: '0.5', pidsLimit: '9', userns: true, uidmap: ['0:1:2', '2:5:1'], capAdd: ['A'], capDrop: ['B', 'C'], cgroupns: false, privileged: true, netHook: '/x',
  });
  const neg = addLimitOptions(new Command('c').exitOverride().argument('[p...]').action(() => undefined));
  neg.parse(['--memory', '-1', 'sh'], { from: 'user' });
  assert.is(neg.opts()['memory'], '-1', 'a negative value reaches the parser, which names it');
});

test('the spec gets maps, root inside, docker caps with empty inheritable, no_new_privs, a cgroup ns', () => {
  const spec: ContainerSpec = { namespaces: { pid: true, mount: true }, process: { args: ['sh'], env: [] } };
  const limits = parseLimitOptions({ userns: true, capDrop: ['MKNOD'] }, { cgroupnsSupported: true, subuidFile: '/nonexistent', subgidFile: '/nonexistent' });
  amendSpecWithLimits(spec, limits, undefined);
  assert.is(spec.namespaces.user, true);
  assert.is(spec.namespaces.cgroup, true);
  assert.equal(spec.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  assert.equal(spec.process.user, { uid: 0, gid: 0 });
  assert.is(spec.process.noNewPrivileges, true);
  const caps = spec.process.capabilities!;
  assert.is(caps.bounding!.length, 13);
  assert.not.ok(caps.bounding!.includes('CAP_MKNOD'));
  assert.equal(caps.effective, caps.bounding);
  assert.equal(caps.inheritable, []);

  const priv: ContainerSpec = { namespaces: {}, process: { args: ['sh'], env: [] } };
  amendSpecWithLimits(priv, parseLimitOptions({ privileged: true, cgroupns: false }, { cgroupnsSupported: true }), undefined);
  assert.is(priv.process.capabilities, undefined, 'privileged: every capability');
  assert.is(priv.process.noNewPrivileges, undefined);
  assert.is(priv.namespaces.cgroup, undefined);
});

test.run();
