/**
 * The one engine under both commands: a container made by `containode` is
 * found by the engine's lookup (and by containode-oci pointed at the same
 * state directory) with the same record format and liveness rule; the
 * cgroup manager puts a container into every hierarchy the host has, under
 * both commands, and removes every directory again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, run, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { ContainerStore, containodeStore, processStartTime, recordAlive } from '@containet/containode';
import { detectCgroupLayout } from '../src/cgroup/index.js';
import { startContainode } from './helpers.js';
import { OCI, baseConfig, deleteLater, makeBundle, oci, ociState } from './oci-fixtures.js';

const noRoot = whyNoRoot();
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-engine-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

const layout = detectCgroupLayout();
const noCgroups = layout.hierarchies.length ? null : 'needs cgroups';
/** PID 1 of a pid namespace only acts on signals it handles (pid_namespaces(7)). */
const WAIT_FOR_TERM = ['sh', '-c', 'trap "exit 3" TERM; sleep 60 & wait'];

/** /proc/PID/cgroup as [hierarchy id, controllers, path] (cgroups(7)). */
function cgroupsOf(pid: number): Array<[string, string, string]> {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [hid = '', ctrls = '', ...path] = l.split(':');
      return [hid, ctrls, path.join(':')];
    });
}

/** The host's hierarchies, as our own /proc/self/cgroup lists them. */
const hostHierarchies = cgroupsOf(process.pid).map(([hid, ctrls]) => `${hid}:${ctrls}`).sort();

function assertInEveryHierarchy(pid: number, name: string): void {
  const lines = cgroupsOf(pid);
  assert.equal(lines.map(([hid, ctrls]) => `${hid}:${ctrls}`).sort(), hostHierarchies, 'the same hierarchies as the host has');
  for (const [hid, ctrls, path] of lines) assert.is(path, `/${name}`, `hierarchy ${hid}:${ctrls}`);
  assert.is(lines.length, layout.hierarchies.length, 'the layout knows every hierarchy');
}

testIf(test, noRoot, 'a containode container is found by the engine\'s lookup and by containode-oci with the same record and liveness rule', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('engine');
    const c = startContainode(cleanup, ['-i', id, ...WAIT_FOR_TERM]);
    const store = containodeStore();
    const rec = (await waitFor(() => {
      const r = store.read(id);
      return r?.status === 'running' ? r : null;
    }, 'the container to run', 10_000))!;
    assert.is(rec.runtime, 'containode');
    assert.ok(existsSync(join(stateDir, 'containers', id, 'state.json')), 'ROOT/ID/state.json, the one format');
    assert.is(rec.pidStart, processStartTime(rec.pid), 'the init is named by pid and start time');
    assert.ok(recordAlive(rec));
    // The engine's lookup, as containode-oci's commands use it, on containode's directory.
    const engine = new ContainerStore(join(stateDir, 'containers'));
    assert.is(engine.status(rec), 'running');
    const state = await run(process.execPath, [OCI, '--root', join(stateDir, 'containers'), 'state', id]);
    assert.is(state.code, 0, state.stderr);
    const oci = JSON.parse(state.stdout) as { status: string; pid: number; id: string };
    assert.equal([oci.id, oci.status, oci.pid], [id, 'running', rec.pid]);
    const list = await run(process.execPath, [OCI, '--root', join(stateDir, 'containers'), 'list', '--format', 'json']);
    assert.ok((JSON.parse(list.stdout) as Array<{ id: string }>).some((s) => s.id === id), 'containode-oci list shows it');

    // The same rule tells a reused pid from the init: a copy of the record
    // naming our own pid with another start time is stopped.
    const copy = `${id}-reused`;
    mkdirSync(engine.dir(copy));
    writeFileSync(engine.file(copy), JSON.stringify({ ...rec, id: copy, pid: process.pid, pidStart: (processStartTime(process.pid) ?? 0) + 1 }));
    cleanup.add('copy', () => engine.remove(copy));
    assert.is(engine.status(engine.read(copy)!), 'stopped');
    assert.is(engine.list().find((r) => r.id === copy)?.status, 'stopped', 'listed as stopped once');
    assert.not.ok(existsSync(engine.dir(copy)), 'and removed, being a containode record');

    c.child.kill('SIGTERM');
    assert.is(await c.exit, 3);
    assert.not.ok(existsSync(engine.dir(id)), 'the record goes with the container');
    assert.is(engine.status(rec), 'stopped', 'the init is gone');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noCgroups, 'containode: the container is in its own cgroup in every hierarchy the host has, all removed at the end', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('cgall');
    const c = startContainode(cleanup, ['-i', id, '--pids-limit', '9', ...WAIT_FOR_TERM]);
    const rec = (await waitFor(() => {
      const r = containodeStore().read(id);
      return r?.status === 'running' ? r : null;
    }, 'the container to run', 10_000))!;
    assertInEveryHierarchy(rec.pid, `containet/${id}`);
    const dirs = rec.cgroup?.dirs ?? [];
    assert.is(dirs.length, layout.hierarchies.length, 'the record lists a directory per hierarchy');
    c.child.kill('SIGTERM');
    assert.is(await c.exit, 3);
    for (const d of dirs) assert.not.ok(existsSync(d), `${d} removed`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noCgroups, 'containode-oci: a nested cgroupsPath with cpuset cpus is joined in every hierarchy, frozen, and removed by delete', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('ocicgall');
    const top = uniqueName('ocinest');
    const name = `${top}/a/${id}`;
    const cfg = baseConfig(['sleep', '60']);
    cfg['linux'].cgroupsPath = `/${name}`;
    cfg['linux'].resources = { pids: { limit: 11 }, cpu: { cpus: '0' } };
    const b = await makeBundle(cleanup, cfg);
    deleteLater(cleanup, b, id);
    cleanup.add('cgroup parents', () => {
      for (const h of layout.hierarchies) {
        for (const d of [join(h.path, top, 'a'), join(h.path, top)]) {
          try {
            rmSync(d, { recursive: false });
          } catch {
            // removed by delete
          }
        }
      }
    });
    const created = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is(created.code, 0, created.stderr);
    const pid = (await ociState(b, id))['pid'] as number;
    assertInEveryHierarchy(pid, name);
    const cpuset = layout.hierarchies.find((h) => h.controllers.includes('cpuset'));
    if (cpuset) assert.is(readFileSync(join(cpuset.path, name, 'cpuset.cpus'), 'utf8').trim(), '0', 'cpus written below parents given theirs');
    assert.is((await oci(b, ['start', id])).code, 0);
    assert.is((await oci(b, ['pause', id])).code, 0);
    assert.is((await ociState(b, id))['status'], 'paused');
    assert.is((await oci(b, ['resume', id])).code, 0);
    assert.is((await ociState(b, id))['status'], 'running');
    const rec = JSON.parse(readFileSync(join(b.state, id, 'state.json'), 'utf8')) as { cgroup: { dirs: string[] } };
    assert.is(rec.cgroup.dirs.length, layout.hierarchies.length);
    assert.is((await oci(b, ['delete', '--force', id])).code, 0);
    for (const d of rec.cgroup.dirs) assert.not.ok(existsSync(d), `${d} removed`);
    for (const h of layout.hierarchies) assert.not.ok(existsSync(join(h.path, top)), `${join(h.path, top)}: the empty parents made for it are removed too`);
  } finally {
    await cleanup.run();
  }
});

test.run();
