/**
 * cgroup layout detection and planning against fake /sys/fs/cgroup trees
 * (pure v2, hybrid, pure v1, none) in a temp dir.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerCgroup, OCI_LABELS, detectCgroupLayout, describeLayout, planCgroup, planResources, removeStaleCgroups } from '../src/cgroup/index.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cnode-cgfake-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function withTree(files: Record<string, string>, fn: (root: string) => void | Promise<void>) {
  return async () => {
    const root = tree(files);
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const V2 = { 'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n', 'cgroup.subtree_control': '', 'cgroup.procs': '' };

test('pure v2: the root is cgroup2, controllers from cgroup.controllers', withTree(V2, (root) => {
  const l = detectCgroupLayout(root, '');
  assert.is(l.kind, 'v2');
  assert.is(l.unified, root);
  assert.equal(l.controllers, { memory: { version: 2, path: root }, cpu: { version: 2, path: root }, pids: { version: 2, path: root } });
  const plan = planCgroup(l, 'containet/c1', { memory: 64 << 20, cpus: 0.5, pidsLimit: 10 });
  assert.equal(plan.dirs, [join(root, 'containet/c1')]);
  // controllers enabled at the root, then in containet/, before the leaf exists
  assert.equal(plan.enable.map((e) => [e.file.slice(root.length), e.controller, e.required]), [
    ['/cgroup.subtree_control', 'memory', true], ['/cgroup.subtree_control', 'cpu', true], ['/cgroup.subtree_control', 'pids', true],
    ['/containet/cgroup.subtree_control', 'memory', true], ['/containet/cgroup.subtree_control', 'cpu', true], ['/containet/cgroup.subtree_control', 'pids', true],
  ]);
  assert.equal(plan.writes.map((w) => [w.file.slice(root.length), w.value, w.optional === true]), [
    ['/containet/c1/memory.max', String(64 << 20), false],
    ['/containet/c1/memory.swap.max', '0', true],
    ['/containet/c1/cpu.max', '50000 100000', false],
    ['/containet/c1/pids.max', '10', false],
  ]);
}));

test('pure v2 without the memory controller: --memory is refused, the rest planned', withTree({ ...V2, 'cgroup.controllers': 'cpu pids\n' }, (root) => {
  const l = detectCgroupLayout(root, '');
  assert.is(l.controllers.memory, undefined);
  assert.throws(() => planCgroup(l, 'containet/c1', { memory: 64 << 20 }), (e: { code: string; message: string }) =>
    e.code === 'CN_CGROUP_UNSUPPORTED' && /cannot apply --memory: no memory cgroup controller.*v2/.test(e.message));
  assert.equal(planCgroup(l, 'containet/c1', { cpus: 1 }).writes.map((w) => w.value), ['100000 100000']);
}));

const HYBRID = {
  'memory/tasks': '', 'memory/cgroup.procs': '', 'memory/memory.limit_in_bytes': '9223372036854771712\n',
  'cpu,cpuacct/tasks': '', 'cpu,cpuacct/cpu.shares': '1024\n', 'cpu,cpuacct/cpuacct.usage': '0\n',
  'pids/tasks': '', 'pids/cgroup.procs': '',
  'systemd/tasks': '',
  'unified/cgroup.controllers': '\n', 'unified/cgroup.procs': '',
};

test('hybrid: v1 controllers (cpu a link to cpu,cpuacct, pids known from the mount table) plus v2 at unified/', withTree(HYBRID, (root) => {
  symlinkSync('cpu,cpuacct', join(root, 'cpu'));
  const mountinfo = [
    `35 31 0:32 / ${root}/memory rw,relatime - cgroup cgroup rw,memory`,
    `36 31 0:33 / ${root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct`,
    `39 31 0:36 / ${root}/pids rw,relatime - cgroup cgroup rw,pids`,
    `41 31 0:38 / ${root}/unified rw,relatime - cgroup2 cgroup2 rw`,
  ].join('\n');
  const l = detectCgroupLayout(root, mountinfo);
  assert.is(l.kind, 'hybrid');
  assert.is(l.unified, join(root, 'unified'));
  assert.equal(l.controllers.cpu, { version: 1, path: join(root, 'cpu,cpuacct') });
  assert.equal(l.controllers.pids, { version: 1, path: join(root, 'pids') });
  assert.match(describeLayout(l), /^hybrid \(v1: memory cpu pids; v2 at .*unified\)$/);
  const plan = planCgroup(l, 'containet/c2', { memory: 32 << 20, cpus: 1.5, pidsLimit: 7 });
  assert.equal(plan.dirs.map((d) => d.slice(root.length)), ['/memory/containet/c2', '/cpu,cpuacct/containet/c2', '/pids/containet/c2', '/unified/containet/c2']);
  assert.equal(plan.enable, [], 'no controller to enable in a v2 tree without controllers');
  assert.equal(plan.writes.map((w) => [w.file.slice(root.length), w.value]), [
    ['/memory/containet/c2/memory.limit_in_bytes', String(32 << 20)],
    ['/memory/containet/c2/memory.memsw.limit_in_bytes', String(32 << 20)],
    ['/cpu,cpuacct/containet/c2/cpu.cfs_period_us', '100000'],
    ['/cpu,cpuacct/containet/c2/cpu.cfs_quota_us', '150000'],
    ['/pids/containet/c2/pids.max', '7'],
  ]);
  // Without the mount table the pids root (no pids.* files) is not taken for a pids hierarchy.
  assert.is(detectCgroupLayout(root, '').controllers.pids, undefined);
}));

test('every hierarchy of the mount table is joined: named ones, cpuset, freezer; OCI resources name their fields', withTree({
  ...HYBRID, 'cpuset/tasks': '', 'cpuset/cpuset.cpus': '0-1\n', 'freezer/tasks': '', 'net_cls,net_prio/tasks': '',
}, (root) => {
  symlinkSync('cpu,cpuacct', join(root, 'cpu'));
  const mountinfo = [
    `35 31 0:32 / ${root}/memory rw,relatime - cgroup cgroup rw,memory`,
    `36 31 0:33 / ${root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct`,
    `37 31 0:34 / ${root}/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children`,
    `38 31 0:35 / ${root}/freezer rw,relatime - cgroup cgroup rw,freezer`,
    `39 31 0:36 / ${root}/pids rw,relatime - cgroup cgroup rw,pids`,
    `40 31 0:37 / ${root}/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x`,
    `42 31 0:39 / ${root}/net_cls,net_prio rw,relatime - cgroup cgroup rw,net_cls,net_prio`,
    `41 31 0:38 / ${root}/unified rw,relatime - cgroup2 cgroup2 rw`,
  ].join('\n');
  const l = detectCgroupLayout(root, mountinfo);
  assert.equal(l.hierarchies.map((h) => [h.path.slice(root.length), h.version, h.controllers.join(',')]), [
    ['/memory', 1, 'memory'], ['/cpu,cpuacct', 1, 'cpu,cpuacct'], ['/pids', 1, 'pids'], ['/cpuset', 1, 'cpuset'], ['/freezer', 1, 'freezer'],
    ['/systemd', 1, 'name=systemd'], ['/net_cls,net_prio', 1, 'net_cls,net_prio'], ['/unified', 2, ''],
  ]);
  const plan = planResources(l, 'oci/a/c9', { memory: { limit: 1 << 24, swap: 1 << 25 }, cpu: { shares: 512, cpus: '1' }, pids: { limit: 0 } }, OCI_LABELS);
  assert.equal(plan.dirs.map((d) => d.slice(root.length)), [
    '/memory/oci/a/c9', '/cpu,cpuacct/oci/a/c9', '/pids/oci/a/c9', '/cpuset/oci/a/c9', '/freezer/oci/a/c9', '/systemd/oci/a/c9', '/net_cls,net_prio/oci/a/c9', '/unified/oci/a/c9',
  ]);
  assert.is(plan.freezer?.slice(root.length), '/freezer/oci/a/c9/freezer.state');
  assert.is(plan.cpuset?.slice(root.length), '/cpuset');
  assert.equal(plan.writes.map((w) => [w.file.slice(root.length), w.value, w.option]), [
    ['/memory/oci/a/c9/memory.limit_in_bytes', String(1 << 24), 'linux.resources.memory.limit'],
    ['/memory/oci/a/c9/memory.memsw.limit_in_bytes', String(1 << 25), 'linux.resources.memory.swap'],
    ['/cpu,cpuacct/oci/a/c9/cpu.shares', '512', 'linux.resources.cpu.shares'],
    ['/cpuset/oci/a/c9/cpuset.cpus', '1', 'linux.resources.cpu.cpus'],
    ['/pids/oci/a/c9/pids.max', 'max', 'linux.resources.pids.limit'],
  ]);
}));

test('pure v1: no unified hierarchy, no v2 cgroup', withTree({ 'memory/tasks': '', 'memory/memory.limit_in_bytes': '1\n', 'pids/tasks': '', 'pids/pids.max': 'max\n' }, (root) => {
  const l = detectCgroupLayout(root, '');
  assert.is(l.kind, 'v1');
  assert.is(l.unified, undefined);
  assert.is(l.controllers.cpu, undefined);
  assert.equal(planCgroup(l, 'containet/x', { pidsLimit: 3 }).dirs.map((d) => d.slice(root.length)), ['/memory/containet/x', '/pids/containet/x']);
  assert.throws(() => planCgroup(l, 'containet/x', { cpus: 1 }), /cannot apply --cpus: no cpu cgroup controller/);
}));

test('no cgroups at all', withTree({ 'README': 'not a cgroup fs' }, (root) => {
  const l = detectCgroupLayout(root, '');
  assert.is(l.kind, 'none');
  assert.equal(planCgroup(l, 'containet/x', {}).dirs, []);
  assert.throws(() => planCgroup(l, 'containet/x', { pidsLimit: 3 }), /no pids cgroup controller/);
}));

test('a cgroup whose limit file is missing fails and leaves no directory behind', withTree(V2, async (root) => {
  const l = detectCgroupLayout(root, '');
  // In a plain directory tree the kernel's interface files never appear.
  let err: { code?: string; message: string } | undefined;
  try {
    await ContainerCgroup.create('c3', { pidsLimit: 5 }, l);
  } catch (e) {
    err = e as typeof err;
  }
  assert.is(err?.code, 'CN_CGROUP_UNSUPPORTED');
  assert.match(err!.message, /cannot apply --pids-limit: .*containet\/c3\/pids.max does not exist/);
  assert.not.ok(existsSync(join(root, 'containet/c3')));
}));

test('removeStaleCgroups removes the cgroups of containers that are not live', withTree(HYBRID, async (root) => {
  const l = detectCgroupLayout(root, '');
  for (const id of ['live1', 'dead1']) {
    mkdirSync(join(root, 'memory/containet', id), { recursive: true });
    mkdirSync(join(root, 'unified/containet', id), { recursive: true });
  }
  const removed = await removeStaleCgroups((id) => id === 'live1', l);
  assert.equal(removed.map((d) => d.slice(root.length)).sort(), ['/memory/containet/dead1', '/unified/containet/dead1']);
  assert.equal(readdirSync(join(root, 'memory/containet')), ['live1']);
  assert.equal(readdirSync(join(root, 'unified/containet')), ['live1']);
}));

test.run();
