/**
 * The cgroup plan of the v1 and v2 resources containode-oci honours beyond
 * memory, cpu and pids (devices, swappiness, OOM killer, blockIO, network
 * class and priorities, hugepages), on layouts written out by hand: which
 * file gets which value, what is read back, and what a layout without the
 * controller refuses. Both cgroup versions are covered here, whatever the
 * machine running the tests has.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DEVICE_RULES, OCI_LABELS, deviceRuleText, planCgroup, planResources, type CgroupLayout } from '../src/cgroup/index.js';
import { ociResources } from '../src/oci/cgroup-path.js';

const V1: CgroupLayout = {
  kind: 'v1',
  root: '/cg',
  unified: undefined,
  v2Controllers: new Set(),
  controllers: { memory: { version: 1, path: '/cg/memory' }, pids: { version: 1, path: '/cg/pids' } },
  hierarchies: [
    { version: 1, path: '/cg/memory', controllers: ['memory'] },
    { version: 1, path: '/cg/pids', controllers: ['pids'] },
    { version: 1, path: '/cg/devices', controllers: ['devices'] },
    { version: 1, path: '/cg/blkio', controllers: ['blkio'] },
    { version: 1, path: '/cg/net_cls,net_prio', controllers: ['net_cls', 'net_prio'] },
    { version: 1, path: '/cg/hugetlb', controllers: ['hugetlb'] },
  ],
};

const V2: CgroupLayout = {
  kind: 'v2',
  root: '/cg',
  unified: '/cg',
  v2Controllers: new Set(['memory', 'pids', 'io', 'hugetlb']),
  controllers: { memory: { version: 2, path: '/cg' }, pids: { version: 2, path: '/cg' } },
  hierarchies: [{ version: 2, path: '/cg', controllers: ['memory', 'pids', 'io', 'hugetlb'] }],
};

test('v1: swappiness, OOM killer, blkio, net_cls/net_prio, hugetlb and devices writes, each with what is read back', () => {
  const plan = planResources(V1, 'c1', {
    memory: { limit: 1 << 26, swappiness: 0, disableOOMKiller: true },
    blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
    network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 1 << 22 }],
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
  }, OCI_LABELS);
  const w = (file: string) => plan.writes.filter((x) => x.file === file).map((x) => [x.value, x.expect ?? x.expectLine ?? null]);
  assert.equal(w('/cg/memory/c1/memory.swappiness'), [['0', '0']]);
  assert.equal(w('/cg/memory/c1/memory.oom_control'), [['1', 'oom_kill_disable 1']]);
  assert.equal(w('/cg/blkio/c1/blkio.weight'), [['300', '300']]);
  assert.equal(plan.writes.find((x) => x.file === '/cg/blkio/c1/blkio.weight')?.alternatives, ['/cg/blkio/c1/blkio.bfq.weight']);
  assert.equal(w('/cg/blkio/c1/blkio.throttle.read_bps_device'), [['8:0 1000', '8:0 1000']]);
  assert.equal(w('/cg/net_cls,net_prio/c1/net_cls.classid'), [['1048577', '1048577']]);
  assert.equal(w('/cg/net_cls,net_prio/c1/net_prio.ifpriomap'), [['eth0 5', 'eth0 5']]);
  assert.equal(w('/cg/hugetlb/c1/hugetlb.2MB.limit_in_bytes'), [['4194304', '4194304']]);
  // Everything denied first, then the rules in order.
  assert.equal(plan.writes.filter((x) => x.file.startsWith('/cg/devices/')).map((x) => [x.file.slice(15), x.value]), [
    ['devices.deny', 'a'], ['devices.deny', 'a'], ['devices.allow', 'c 1:3 rwm'],
  ]);
  assert.equal(plan.checks, [
    { file: '/cg/devices/c1/devices.list', line: 'a *:* rwm', present: false, option: 'linux.resources.devices' },
    { file: '/cg/devices/c1/devices.list', line: 'c 1:3 rwm', present: true, option: 'linux.resources.devices' },
  ]);
  assert.is(plan.deviceProgram, undefined);
});

test('v2: io.weight and io.max, hugetlb.max, the device rules as a program, controllers enabled on the way; v1-only settings refused', () => {
  const plan = planResources(V2, 'a/c2', {
    blockIO: { weight: 500, throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }] },
    hugepageLimits: [{ pageSize: '1GB', limit: 1 << 30 }],
    devices: [...DEFAULT_DEVICE_RULES],
  }, OCI_LABELS);
  const w = (file: string) => plan.writes.filter((x) => x.file === file).map((x) => x.value);
  assert.equal(w('/cg/a/c2/io.weight'), ['default 4950']);
  assert.equal(w('/cg/a/c2/io.max'), ['8:0 wiops=50']);
  assert.equal(w('/cg/a/c2/hugetlb.1GB.max'), [String(1 << 30)]);
  assert.equal(plan.deviceProgram, { dir: '/cg/a/c2', rules: [...DEFAULT_DEVICE_RULES] });
  const enabled = plan.enable.filter((e) => e.required).map((e) => `${e.file}:${e.controller}`);
  for (const e of ['/cg/cgroup.subtree_control:io', '/cg/a/cgroup.subtree_control:io', '/cg/cgroup.subtree_control:hugetlb']) assert.ok(enabled.includes(e), e);

  assert.throws(() => planResources(V2, 'c3', { memory: { swappiness: 10 } }, OCI_LABELS), /cannot apply linux.resources.memory.swappiness: cgroup v2 has neither/);
  assert.throws(() => planResources(V2, 'c3', { network: { classID: 1 } }, OCI_LABELS), /cannot apply linux.resources.network: no net_cls cgroup controller/);
});

test('OCI resources: the config\'s device rules, then Docker\'s allowlist, then linux.devices, after a deny of everything', () => {
  const r = ociResources({
    resources: { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] },
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }],
  });
  const texts = r.devices!.map((d) => `${d.allow ? 'allow' : 'deny'} ${deviceRuleText(d)}`);
  assert.equal(texts.slice(0, 2), ['deny a', 'deny c 1:3 rwm']);
  assert.ok(texts.indexOf('allow c 1:3 rwm') > 1, 'the default list comes after the config\'s own rules, as runc appends it');
  assert.is(texts[texts.length - 1], 'allow c 10:229 rwm');
  assert.equal(ociResources({}).devices, DEFAULT_DEVICE_RULES, 'no rules at all: Docker\'s default');
});

test('containode\'s limits carry the device allowlist to the same plan (v1 files, v2 program)', () => {
  const v1 = planCgroup(V1, 'containet/x', { devices: DEFAULT_DEVICE_RULES });
  assert.ok(v1.writes.some((w) => w.file === '/cg/devices/containet/x/devices.allow' && w.value === 'c 136:* rwm'));
  assert.equal(planCgroup(V2, 'containet/x', { devices: DEFAULT_DEVICE_RULES }).deviceProgram?.rules, [...DEFAULT_DEVICE_RULES]);
  assert.is(planCgroup(V1, 'containet/x', {}).writes.length, 0, 'no list: no restriction (--privileged)');
});

test.run();
