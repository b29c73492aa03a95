/**
 * containode-oci's linux.resources beyond memory, cpu and pids, on the
 * host's own cgroup layout: the device allowlist (v1 devices cgroup: a node
 * the list does not allow cannot be opened, even by root in the container),
 * memory swappiness and the OOM killer, block I/O throttles, hugepage
 * limits, and cpuset in a nested cgroupsPath. Each is read back from the
 * cgroup on the host; what this machine has no controller for is refused by
 * name, never ignored.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup, sh, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import { spawnContainer } from '../src/runtime/spawn.js';
import { detectCgroupLayout, hierarchyOf, removeCgroupDir } from '../src/cgroup/index.js';
import { baseConfig, deleteLater, makeBundle, oci, tempDir } from './oci-fixtures.js';

const noRoot = whyNoRoot();
const layout = detectCgroupLayout();
const home = (ctrl: string) => hierarchyOf(layout, ctrl);

function read(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

const noV1Devices = home('devices')?.version === 1 ? null : 'needs the v1 devices controller';

testIf(test, noRoot ?? noV1Devices, 'devices: Docker\'s default allowlist when the config has no rules; a rule opens one more node; the cgroup reads them back', async () => {
  const cleanup = new Cleanup();
  try {
    const path = `/${uniqueName('ocidev')}`;
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].cgroupsPath = path;
    // mknod is allowed for every node (c *:* m), opening only what the list allows.
    cfg['process'].capabilities = Object.fromEntries(['bounding', 'effective', 'permitted'].map((s) => [s, ['CAP_MKNOD', 'CAP_DAC_OVERRIDE']]));
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('dev');
    deleteLater(cleanup, b, id);
    const r = await oci(b, ['run', '--bundle', b.dir, '--detach', id]);
    assert.is(r.code, 0, r.stderr);
    const list = read(join(home('devices')!.path, path, 'devices.list')).split('\n');
    assert.not.ok(list.includes('a *:* rwm'), list.join('; '));
    for (const l of ['c 1:3 rwm', 'c 1:9 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m']) assert.ok(list.includes(l), `${l} in ${list.join('; ')}`);
    const e = await oci(b, ['exec', id, 'sh', '-c', 'mknod /tmp/lc c 10 237 && echo made; (: < /tmp/lc) 2>&1; echo x > /dev/null && echo null-ok']);
    assert.is(e.code, 0, e.stderr);
    assert.match(e.stdout, 'made');
    assert.match(e.stdout, 'Operation not permitted');
    assert.match(e.stdout, 'null-ok');

    const path2 = `/${uniqueName('ocidev')}`;
    cfg['linux'].cgroupsPath = path2;
    cfg['linux'].resources = { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 237, access: 'rw' }] };
    const b2 = await makeBundle(cleanup, cfg);
    const id2 = uniqueName('dev');
    deleteLater(cleanup, b2, id2);
    assert.is((await oci(b2, ['run', '--bundle', b2.dir, '--detach', id2])).code, 0);
    assert.ok(read(join(home('devices')!.path, path2, 'devices.list')).split('\n').includes('c 10:237 rw'));
    const e2 = await oci(b2, ['exec', id2, 'sh', '-c', 'mknod /tmp/lc c 10 237; (: < /tmp/lc) && echo opened']);
    assert.is(e2.stdout, 'opened\n', e2.stderr);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? (home('memory')?.version === 1 ? null : 'needs the v1 memory controller'), 'memory.swappiness and disableOOMKiller are written and read back', async () => {
  const cleanup = new Cleanup();
  try {
    const path = `/${uniqueName('ocimem')}`;
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].cgroupsPath = path;
    cfg['linux'].resources = { memory: { limit: 67108864, swappiness: 17, disableOOMKiller: true } };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('mem');
    deleteLater(cleanup, b, id);
    const r = await oci(b, ['run', '--bundle', b.dir, '--detach', id]);
    assert.is(r.code, 0, r.stderr);
    const dir = join(home('memory')!.path, path);
    assert.is(read(join(dir, 'memory.swappiness')), '17');
    assert.match(read(join(dir, 'memory.oom_control')), /^oom_kill_disable 1$/m);
    assert.is(r.stderr, '', 'no warning for fields that are honoured');
  } finally {
    await cleanup.run();
  }
});

const blockDev = readdirSync('/sys/block').map((d) => join('/sys/block', d, 'dev')).find((f) => existsSync(f));

testIf(test, noRoot ?? (home('blkio') || home('io') ? null : 'needs the blkio or io controller'), 'blockIO throttles are written and read back; a weight the scheduler does not offer is refused by name', async () => {
  const cleanup = new Cleanup();
  try {
    assert.ok(blockDev, 'a block device');
    const [major, minor] = read(blockDev!).split(':').map(Number);
    const path = `/${uniqueName('ociblk')}`;
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].cgroupsPath = path;
    cfg['linux'].resources = { blockIO: { throttleReadBpsDevice: [{ major, minor, rate: 1048576 }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('blk');
    deleteLater(cleanup, b, id);
    const r = await oci(b, ['run', '--bundle', b.dir, '--detach', id]);
    assert.is(r.code, 0, r.stderr);
    const h = home('blkio') ?? home('io')!;
    if (h.version === 1) {
      assert.ok(read(join(h.path, path, 'blkio.throttle.read_bps_device')).split('\n').includes(`${major}:${minor} 1048576`));
      assert.ok(read(join(h.path, path, 'blkio.throttle.write_iops_device')).split('\n').includes(`${major}:${minor} 100`));
    } else {
      assert.match(read(join(h.path, path, 'io.max')), `${major}:${minor} rbps=1048576`);
    }
    const weightFile = h.version === 1 ? ['blkio.weight', 'blkio.bfq.weight'] : ['io.weight', 'io.bfq.weight'];
    if (!weightFile.some((f) => existsSync(join(h.path, f)) || existsSync(join(h.path, path, f)))) {
      cfg['linux'].cgroupsPath = `/${uniqueName('ociblk')}`;
      cfg['linux'].resources = { blockIO: { weight: 500 } };
      const b2 = await makeBundle(cleanup, cfg);
      const r2 = await oci(b2, ['run', '--bundle', b2.dir, uniqueName('blk')]);
      assert.is.not(r2.code, 0);
      assert.match(r2.stderr, 'cannot apply linux.resources.blockIO');
      assert.not.ok(existsSync(join(h.path, cfg['linux'].cgroupsPath)), 'nothing left');
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? (home('hugetlb') ? null : 'needs the hugetlb controller'), 'hugepageLimits land in the hugetlb cgroup (v1 limit_in_bytes or v2 max)', async () => {
  const cleanup = new Cleanup();
  try {
    const path = `/${uniqueName('ocihp')}`;
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].cgroupsPath = path;
    cfg['linux'].resources = { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('hp');
    deleteLater(cleanup, b, id);
    const r = await oci(b, ['run', '--bundle', b.dir, '--detach', id]);
    assert.is(r.code, 0, r.stderr);
    const h = home('hugetlb')!;
    assert.is(read(join(h.path, path, h.version === 1 ? 'hugetlb.2MB.limit_in_bytes' : 'hugetlb.2MB.max')), '4194304');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? (home('net_cls') ? 'the host has net_cls: the refusal is not reachable' : null), 'network classID without a net_cls controller is refused by name, nothing left behind', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['true']);
    cfg['linux'].cgroupsPath = `/${uniqueName('ocinet')}`;
    cfg['linux'].resources = { network: { classID: 1048577 } };
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('net')]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, 'cannot apply linux.resources.network: no net_cls cgroup controller');
    for (const h of layout.hierarchies) assert.not.ok(existsSync(join(h.path, cfg['linux'].cgroupsPath)));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? (home('cpuset')?.version === 1 ? null : 'needs the v1 cpuset controller'), 'cpu.cpus in a nested relative cgroupsPath: every new level gets cpus and mems', async () => {
  const cleanup = new Cleanup();
  try {
    const top = uniqueName('ocics');
    const cfg = baseConfig(['cat', '/proc/self/status']);
    cfg['linux'].cgroupsPath = `${top}/b/c`;
    cfg['linux'].resources = { cpu: { cpus: '0' } };
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('cs')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Cpus_allowed_list:\s+0$/m);
    assert.not.ok(existsSync(join(home('cpuset')!.path, top)), 'the levels are removed with the container');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? (layout.unified ? null : 'needs a cgroup v2 hierarchy'), 'cgroup v2 device allowlist: the spawner\'s BPF_PROG_TYPE_CGROUP_DEVICE program denies what the rules do not allow', async () => {
  const cleanup = new Cleanup();
  try {
    // A cgroup of our own in the unified hierarchy (the program needs no
    // controller enabled), a device node made on the host, a process in the
    // cgroup that tries it and /dev/null.
    const dir = join(layout.unified!, uniqueName('ocibpf'));
    mkdirSync(dir);
    cleanup.add(`rmdir ${dir}`, () => removeCgroupDir(dir));
    const tmp = tempDir(cleanup, 'ocibpf');
    await sh('mknod', join(tmp, 'lc'), 'c', '10', '237');
    const outFile = join(tmp, 'out');
    const out = openSync(outFile, 'w');
    try {
      const c = await spawnContainer({
        namespaces: { mount: true },
        cgroupProcs: [join(dir, 'cgroup.procs')],
        deviceCgroup: { path: dir, rules: [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 10, access: 'r' }] },
        process: { args: ['/bin/sh', '-c', `(: < ${tmp}/lc) 2>/dev/null; echo read=$?; (: > ${tmp}/lc) 2>/dev/null; echo write=$?; : > /dev/null; echo null=$?; (: < /dev/zero) 2>/dev/null; echo zero=$?`], env: [] },
      }, { stdio: ['ignore', out, 'inherit'] });
      await c.release();
      assert.is(await c.exited, 0);
    } finally {
      closeSync(out);
    }
    // c 10:* r allows the read, nothing allows the write to it or /dev/zero.
    assert.match(readFileSync(outFile, 'utf8'), /^read=0\nwrite=[1-9]\nnull=0\nzero=[1-9]\n$/);
  } finally {
    await cleanup.run();
  }
});

test.run();
