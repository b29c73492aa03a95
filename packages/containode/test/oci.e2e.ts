/**
 * containode-oci as runc's callers use it: every lifecycle
 * transition and every refused one, the state JSON, stdio passthrough, a
 * console socket receiving a working pty, hooks in order with the state on
 * stdin, masked and read-only paths, a namespace joined by path, cgroup
 * limits, exec, the containet annotations, and bad bundles with nothing
 * left behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { recvWithFd, socketFd } from '@containet/common';
import { Cleanup, makeNetns, run, sh, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot, killAndWait } from '@containet/common/testing';
import { CONTAINET, OCI, baseConfig, deleteLater, makeBundle, oci, ociState, tempDir, writeConfig, type Bundle } from './oci-fixtures.js';

const noRoot = whyNoRoot();

function procStart(pid: number): number | null {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(t.slice(t.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

function ppidOf(pid: number): number {
  const t = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(t.slice(t.lastIndexOf(')') + 2).split(' ')[1]);
}

function commOf(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

async function gone(pid: number): Promise<void> {
  await waitFor(() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.startsWith('Z') ?? true;
    } catch {
      return true;
    }
  }, `pid ${pid} to end`);
}

testIf(test, noRoot, 'create leaves only the init waiting; start runs the program; kill, state and delete follow the lifecycle', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sh', '-c', 'echo ran > /tmp/marker; exec sleep 60']));
    const id = uniqueName('life');
    deleteLater(cleanup, b, id);
    const pidFile = join(b.state, 'pidfile');
    const c = await oci(b, ['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
    assert.is(c.code, 0, c.stderr);

    const s1 = await ociState(b, id);
    assert.is(s1['ociVersion'].split('.')[0], '1');
    assert.is(s1['id'], id);
    assert.is(s1['status'], 'created');
    assert.ok(s1['pid'] > 0);
    assert.is(readFileSync(pidFile, 'utf8'), String(s1['pid']));
    assert.is(s1['bundle'], b.dir);
    assert.is(s1['rootfs'], b.rootfs);
    assert.ok(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s1['created']), s1['created']);
    assert.ok(Math.abs(Date.parse(s1['created']) - Date.now()) < 60_000);
    assert.is(s1['owner'], '');
    // The program has not run; the init waits, and nothing of the runtime
    // is its parent any more (the spawner and the create process are gone).
    assert.not.ok(existsSync(join(b.rootfs, 'tmp/marker')));
    const init = s1['pid'] as number;
    const parent = ppidOf(init);
    assert.not.ok(['node', 'containode-spaw'].includes(commOf(parent)), `init's parent is ${commOf(parent)}`);

    const st = await oci(b, ['start', id]);
    assert.is(st.code, 0, st.stderr);
    await waitFor(() => existsSync(join(b.rootfs, 'tmp/marker')), 'the program to run');
    const s2 = await ociState(b, id);
    assert.is(s2['status'], 'running');
    assert.is(s2['pid'], init);
    assert.is(commOf(init), 'sleep');

    const list = await oci(b, ['list', '--format', 'json']);
    assert.is(list.code, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout).map((s: { id: string; status: string }) => [s.id, s.status]), [[id, 'running']]);
    const table = await oci(b, ['list']);
    assert.match(table.stdout, new RegExp(`^ID +PID +STATUS +BUNDLE +CREATED +OWNER\\n${id} +${init} +running +${b.dir} `));

    const k = await oci(b, ['kill', id, 'KILL']);
    assert.is(k.code, 0, k.stderr);
    await gone(init);
    const s3 = await ociState(b, id);
    assert.is(s3['status'], 'stopped');
    assert.is(s3['pid'], 0);

    const d = await oci(b, ['delete', id]);
    assert.is(d.code, 0, d.stderr);
    const s4 = await oci(b, ['state', id]);
    assert.is.not(s4.code, 0);
    assert.match(s4.stderr, `container ${id} does not exist`);
    assert.equal(readdirSync(b.state).filter((n) => n !== 'pidfile'), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a program that cannot be executed after start (execve fails) is reported by start, and the container reads as stopped', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['/bin/not-a-program']));
    // Executable bits (the lookup before create returns accepts it) but no
    // format the kernel knows: execve fails with ENOEXEC only after start.
    writeFileSync(join(b.rootfs, 'bin/not-a-program'), 'neither ELF nor #!\n', { mode: 0o755 });
    const id = uniqueName('noexec');
    deleteLater(cleanup, b, id);
    const c = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is(c.code, 0, c.stderr);
    const init = (await ociState(b, id))['pid'] as number;

    const st = await oci(b, ['start', id]);
    assert.is(st.code, 1, st.stderr);
    assert.match(st.stderr, `container ${id}: its program did not start: exec(/bin/not-a-program): `);
    assert.match(st.stderr, 'Exec format error');
    assert.not.match(st.stderr, /\n\s+at /);
    await gone(init);
    assert.is((await ociState(b, id))['status'], 'stopped');
    const d = await oci(b, ['delete', id]);
    assert.is(d.code, 0, d.stderr);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? whyMissing('ps'), 'ps lists the container\'s processes (JSON pids, or ps -ef lines) and only them; a stopped container is refused', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sh', '-c', 'sleep 61 & sleep 62 & wait']));
    const id = uniqueName('ps');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    assert.is((await oci(b, ['start', id])).code, 0);
    const init = (await ociState(b, id))['pid'] as number;
    await waitFor(async () => JSON.parse((await oci(b, ['ps', '--format', 'json', id])).stdout).length === 3, 'the two sleeps to start', 5000);
    const pids = JSON.parse((await oci(b, ['ps', '--format', 'json', id])).stdout) as number[];
    assert.ok(pids.includes(init), 'the init is listed');
    assert.equal(pids.map((p) => commOf(p)).sort(), ['sh', 'sleep', 'sleep']);
    assert.not.ok(pids.includes(process.pid), 'nothing outside the container');

    const table = await oci(b, ['ps', id]);
    assert.is(table.code, 0, table.stderr);
    const [header, ...lines] = table.stdout.trim().split('\n');
    assert.match(header!, /UID +PID +PPID/);
    assert.equal(lines.map((l) => Number(l.trim().split(/\s+/)[1])).sort(), [...pids].sort());
    assert.ok(lines.some((l) => l.includes('sleep 62')));
    const custom = await oci(b, ['ps', id, '-o', 'pid,comm']);
    assert.is(custom.code, 0, custom.stderr);
    assert.is(custom.stdout.trim().split('\n').length, 4);

    assert.is((await oci(b, ['kill', '--all', id, 'KILL'])).code, 0);
    await gone(init);
    const stopped = await oci(b, ['ps', id]);
    assert.is(stopped.code, 1);
    assert.match(stopped.stderr, `cannot ps container ${id}: it is stopped`);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'refused transitions: start twice, start when stopped, kill when stopped, delete while running, unknown id, duplicate id', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sleep', '60']));
    const id = uniqueName('ref');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);

    const dup = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is.not(dup.code, 0);
    assert.match(dup.stderr, `container ${id} already exists`);
    assert.is((await ociState(b, id))['status'], 'created');

    assert.is((await oci(b, ['start', id])).code, 0);
    const again = await oci(b, ['start', id]);
    assert.is.not(again.code, 0);
    assert.match(again.stderr, `cannot start container ${id}: it is running`);

    const del = await oci(b, ['delete', id]);
    assert.is.not(del.code, 0);
    assert.match(del.stderr, `cannot delete container ${id}: it is running`);
    const s = await ociState(b, id);
    assert.is(s['status'], 'running');
    assert.is(commOf(s['pid']), 'sleep');

    assert.is((await oci(b, ['kill', id, '9'])).code, 0);
    await gone(s['pid']);
    const k = await oci(b, ['kill', id, 'KILL']);
    assert.is.not(k.code, 0);
    assert.match(k.stderr, `cannot kill container ${id}: it is stopped`);
    const st = await oci(b, ['start', id]);
    assert.is.not(st.code, 0);
    assert.match(st.stderr, `cannot start container ${id}: it is stopped`);
    assert.is((await oci(b, ['delete', id])).code, 0);

    for (const cmd of [['state'], ['start'], ['kill'], ['delete']]) {
      const r = await oci(b, [...cmd, 'no-such-id']);
      assert.is.not(r.code, 0, cmd[0]);
      assert.match(r.stderr, 'container no-such-id does not exist', cmd[0]);
    }
    // runc: delete --force of an unknown id is not an error.
    assert.is((await oci(b, ['delete', '--force', 'no-such-id'])).code, 0);
    const badId = await oci(b, ['state', '../etc']);
    assert.is(badId.code, 2);
    assert.match(badId.stderr, 'invalid container id');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'concurrent commands on one id: one create wins, one start wins, the others are refused', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sh', '-c', 'echo x >> /tmp/starts; exec sleep 60']));
    const id = uniqueName('race');
    deleteLater(cleanup, b, id);
    const creates = await Promise.all([1, 2, 3].map(() => oci(b, ['create', '--bundle', b.dir, id])));
    assert.is(creates.filter((r) => r.code === 0).length, 1, creates.map((r) => r.stderr).join(''));
    for (const r of creates.filter((x) => x.code !== 0)) assert.match(r.stderr, 'already exists');
    const starts = await Promise.all([1, 2, 3].map(() => oci(b, ['start', id])));
    assert.is(starts.filter((r) => r.code === 0).length, 1, starts.map((r) => r.stderr).join(''));
    for (const r of starts.filter((x) => x.code !== 0)) assert.match(r.stderr, 'it is running');
    await waitFor(() => existsSync(join(b.rootfs, 'tmp/starts')), 'the program');
    assert.is(readFileSync(join(b.rootfs, 'tmp/starts'), 'utf8'), 'x\n');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'delete --force kills a running container; delete refuses a created one without --force', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sleep', '60']));
    const id = uniqueName('frc');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    const pid = (await ociState(b, id))['pid'] as number;
    const d = await oci(b, ['delete', id]);
    assert.is.not(d.code, 0);
    assert.match(d.stderr, 'it is created');
    const f = await oci(b, ['delete', '--force', id]);
    assert.is(f.code, 0, f.stderr);
    await gone(pid);
    assert.is.not((await oci(b, ['state', id])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'kill takes 15, TERM and SIGTERM (and --all); a dead init reads as stopped, a reused pid is told apart by its start time', async () => {
  const cleanup = new Cleanup();
  try {
    // A PID-namespace init gets only signals it handles (pid_namespaces(7)).
    const b = await makeBundle(cleanup, baseConfig(['true']));
    for (const sig of ['15', 'TERM', 'SIGTERM']) {
      const cfg = baseConfig(['sh', '-c', `trap "echo ${sig} > /tmp/got; exit 0" TERM; echo up > /tmp/up; while :; do sleep 0.05; done`]);
      writeConfig(b, cfg);
      const id = uniqueName('sig');
      deleteLater(cleanup, b, id);
      assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
      assert.is((await oci(b, ['start', id])).code, 0);
      await waitFor(() => existsSync(join(b.rootfs, 'tmp/up')), 'the trap to be set');
      const pid = (await ociState(b, id))['pid'] as number;
      const k = await oci(b, ['kill', id, sig]);
      assert.is(k.code, 0, k.stderr);
      await gone(pid);
      assert.is(readFileSync(join(b.rootfs, 'tmp/got'), 'utf8').trim(), sig);
      assert.is((await ociState(b, id))['status'], 'stopped');
      assert.is((await oci(b, ['delete', id])).code, 0);
      await sh('rm', '-f', join(b.rootfs, 'tmp/got'), join(b.rootfs, 'tmp/up'));
    }
    const bad = await oci(b, ['kill', 'x', 'NOSUCH']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, 'invalid signal NOSUCH');

    // --all reaches every process of the container, not only its init.
    writeConfig(b, baseConfig(['sh', '-c', 'sleep 60 & sleep 61 & wait']));
    const id = uniqueName('all');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    assert.is((await oci(b, ['start', id])).code, 0);
    const init = (await ociState(b, id))['pid'] as number;
    const children = await waitFor(() => {
      const kids = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
      return kids.length === 2 ? kids : null;
    }, 'two sleeps');
    assert.is((await oci(b, ['kill', '--all', id, 'KILL'])).code, 0);
    for (const p of [init, ...(children ?? [])]) await gone(p);

    // A record whose pid now belongs to another process (same pid, other
    // start time) is stopped; the same pid with its start time is not.
    const recFile = join(b.state, id, 'state.json');
    const rec = JSON.parse(readFileSync(recFile, 'utf8'));
    writeFileSync(recFile, JSON.stringify({ ...rec, pid: process.pid, pidStart: 1, status: 'running' }));
    assert.is((await ociState(b, id))['status'], 'stopped');
    writeFileSync(recFile, JSON.stringify({ ...rec, pid: process.pid, pidStart: procStart(process.pid), status: 'running' }));
    assert.is((await ociState(b, id))['status'], 'running');
    writeFileSync(recFile, JSON.stringify(rec));
    assert.is((await oci(b, ['delete', id])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'terminal:false: the stdio given to create reach the program unchanged', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sh', '-c', 'read line; echo "out:$line"; echo "err:$line" >&2; exit 0']));
    const id = uniqueName('stdio');
    deleteLater(cleanup, b, id);
    // stdin is a file, stdout and stderr are pipes: the program reads and
    // writes them after create has exited (Node closes a child's stdin pipe
    // when the child exits, so the input cannot be a pipe from this test).
    const input = join(b.state, 'input');
    writeFileSync(input, 'hello through the pipe\n');
    const inFd = openSync(input, 'r');
    cleanup.add('close input', () => closeSync(inFd));
    const child = spawn(process.execPath, [OCI, '--root', b.state, 'create', '--bundle', b.dir, id], { stdio: [inFd, 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const outClosed = new Promise((r) => child.stdout!.once('close', r));
    const code = await new Promise((r) => child.once('exit', r));
    assert.is(code, 0, err);
    assert.is(out, '', 'nothing ran before start');
    assert.is((await oci(b, ['start', id])).code, 0);
    await outClosed;
    assert.is(out, 'out:hello through the pipe\n');
    await waitFor(() => err.includes('err:'), 'stderr');
    assert.is(err, 'err:hello through the pipe\n');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a console socket receives a working pty master, of process.consoleSize', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh']);
    cfg['process'].terminal = true;
    cfg['process'].consoleSize = { height: 20, width: 70 };
    cfg['process'].env.push('PS1=$ ');
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('pty');
    deleteLater(cleanup, b, id);
    const sockPath = join(b.state, 'console.sock');
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(sockPath, r));
    cleanup.add('close console server', () => new Promise((r) => server.close(r)));
    const master = new Promise<{ fd: number; body: string }>((resolve, reject) => {
      server.once('connection', (conn: Socket) => {
        const fd = socketFd(conn);
        const poll = () => {
          try {
            const r = recvWithFd(fd);
            if (!r) return setTimeout(poll, 10);
            conn.destroy();
            resolve({ fd: r.fd, body: r.data.toString() });
          } catch (err) {
            reject(err as Error);
          }
        };
        poll();
      });
    });
    const c = await oci(b, ['create', '--bundle', b.dir, '--console-socket', sockPath, id]);
    assert.is(c.code, 0, c.stderr);
    const m = await master;
    assert.ok(m.fd >= 0, 'a descriptor came');
    const tty = new ReadStream(m.fd);
    let seen = '';
    tty.setEncoding('utf8');
    tty.on('data', (s: string) => (seen += s));
    tty.on('error', () => {});
    cleanup.add('close pty', () => tty.destroy());
    assert.is((await oci(b, ['start', id])).code, 0);
    const { writeSync } = await import('node:fs');
    writeSync(m.fd, 'echo $((6*7)) on $(tty) size $(stty size); exit 5\n');
    await waitFor(() => /42 on \/dev\/pts\/\d+ size 20 70/.test(seen), 'the shell to answer on the pty', 10_000);
    const pid = (await ociState(b, id))['pid'] as number;
    await gone(pid);
    assert.is((await ociState(b, id))['status'], 'stopped');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'run with terminal:true and no console socket relays the pty to its own stdio', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh']);
    cfg['process'].terminal = true;
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('rtty')], { input: 'echo $((6*7)) on $(tty)\nexit 3\n' });
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stdout, /42 on \/dev\/pts\/\d+/);
    assert.equal(readdirSync(b.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? whyMissing('script', 'stty'), 'run with terminal:true from a terminal: the pty takes our terminal\'s size', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh', '-c', 'echo size $(stty size)']);
    cfg['process'].terminal = true;
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('rsize');
    const r = await run('script', ['-qec', `stty rows 27 cols 93; ${process.execPath} ${OCI} --root ${b.state} run --bundle ${b.dir} ${id}`, '/dev/null'], { timeoutMs: 20_000 });
    assert.is(r.code, 0, r.stdout);
    assert.match(r.stdout, 'size 27 93');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'terminal:true without --console-socket is refused with nothing left', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh']);
    cfg['process'].terminal = true;
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['create', '--bundle', b.dir, 'tty1']);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, 'process.terminal is true but no --console-socket was given');
    assert.equal(readdirSync(b.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'hooks run in order, each with the state on stdin; startContainer runs inside the container before the program', async () => {
  const cleanup = new Cleanup();
  try {
    const logDir = tempDir(cleanup, 'ocihook');
    const hostHook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${logDir}/${name}.json; echo ${name} >> ${logDir}/order`] });
    const cfg = baseConfig(['sh', '-c', 'echo ran > /tmp/prog; exec sleep 60']);
    cfg['hooks'] = {
      prestart: [hostHook('prestart')],
      createRuntime: [hostHook('createRuntime')],
      // Before pivot_root, in the container's namespaces: the host paths are still visible.
      createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${logDir}/createContainer.json; echo createContainer >> ${logDir}/order; readlink /proc/self/ns/uts > ${logDir}/cc-uts`] }],
      // Inside the container after pivot_root: paths are the container's.
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /tmp/startContainer.json; hostname > /tmp/sc-host; test -e /tmp/prog && echo yes > /tmp/sc-prog || echo no > /tmp/sc-prog'] }],
      poststart: [hostHook('poststart')],
      poststop: [hostHook('poststop')],
    };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('hook');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    assert.is(readFileSync(join(logDir, 'order'), 'utf8'), 'prestart\ncreateRuntime\ncreateContainer\n');
    const pid = (await ociState(b, id))['pid'] as number;
    assert.is(readFileSync(join(logDir, 'cc-uts'), 'utf8').trim(), (await sh('readlink', `/proc/${pid}/ns/uts`)).trim(), 'createContainer ran in the container uts namespace');
    assert.is.not(readFileSync(join(logDir, 'cc-uts'), 'utf8').trim(), (await sh('readlink', '/proc/self/ns/uts')).trim());
    for (const h of ['prestart', 'createRuntime', 'createContainer']) {
      const s = JSON.parse(readFileSync(join(logDir, `${h}.json`), 'utf8'));
      assert.is(s.id, id, h);
      assert.is(s.pid, pid, h);
      assert.is(s.status, 'creating', h);
      assert.is(s.bundle, b.dir, h);
    }
    assert.is((await oci(b, ['start', id])).code, 0);
    assert.is(readFileSync(join(logDir, 'order'), 'utf8'), 'prestart\ncreateRuntime\ncreateContainer\npoststart\n');
    const sc = JSON.parse(readFileSync(join(b.rootfs, 'tmp/startContainer.json'), 'utf8'));
    assert.is(sc.status, 'created');
    assert.is(sc.pid, pid);
    assert.is(readFileSync(join(b.rootfs, 'tmp/sc-host'), 'utf8').trim(), 'ocitest');
    assert.is(readFileSync(join(b.rootfs, 'tmp/sc-prog'), 'utf8').trim(), 'no', 'startContainer ran before the program');
    assert.is(JSON.parse(readFileSync(join(logDir, 'poststart.json'), 'utf8')).status, 'running');
    assert.is((await oci(b, ['delete', '--force', id])).code, 0);
    assert.is(readFileSync(join(logDir, 'order'), 'utf8'), 'prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n');
    assert.is(JSON.parse(readFileSync(join(logDir, 'poststop.json'), 'utf8')).status, 'stopped');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a failing or slow createRuntime hook fails create with its message and leaves nothing', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sleep', '60']);
    cfg['hooks'] = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no network for you >&2; exit 3'] }] };
    const b = await makeBundle(cleanup, cfg);
    const before = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
    const r = await oci(b, ['create', '--bundle', b.dir, 'h1']);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, 'createRuntime hook /bin/sh failed (exit status 3): no network for you');
    assert.equal(readdirSync(b.state), []);
    assert.ok(readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length <= before + 5);

    cfg['hooks'] = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }] };
    writeConfig(b, cfg);
    const t0 = Date.now();
    const t = await oci(b, ['create', '--bundle', b.dir, 'h2']);
    assert.is.not(t.code, 0);
    assert.match(t.stderr, 'createRuntime hook /bin/sleep timed out after 1 s');
    assert.ok(Date.now() - t0 < 8000);
    assert.equal(readdirSync(b.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'masked paths read empty, read-only paths refuse writes, root.readonly holds', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig([
      'sh',
      '-c',
      'echo "timers=$(wc -c < /proc/timer_list)"; echo "fw=$(ls /sys/firmware | wc -l)"; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys=rw || echo sys=ro; touch /newfile 2>/dev/null && echo root=rw || echo root=ro',
    ]);
    cfg['root'].readonly = true;
    cfg['linux'].maskedPaths = ['/proc/timer_list', '/sys/firmware'];
    cfg['linux'].readonlyPaths = ['/proc/sys'];
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('mask')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'timers=0\nfw=0\nsys=ro\nroot=ro\n');
    assert.not.ok(existsSync(join(b.rootfs, 'newfile')));
    assert.equal(readdirSync(b.state), [], 'run deletes the container when it ends');

    // The same program without them sees the host's files and can write.
    delete cfg['linux'].maskedPaths;
    delete cfg['linux'].readonlyPaths;
    cfg['root'].readonly = false;
    writeConfig(b, cfg);
    const open = await oci(b, ['run', '--bundle', b.dir, uniqueName('mask')]);
    assert.is(open.code, 0, open.stderr);
    assert.match(open.stdout, /sys=rw\nroot=rw\n$/);
    assert.not.match(open.stdout, /fw=0\n/);
    assert.not.match(open.stdout, /timers=0\n/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a network namespace joined by path (ip netns add) is the container\'s', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup, 'ocins');
    const dummy = uniqueName('vj');
    await sh('ip', '-n', ns, 'link', 'add', dummy, 'type', 'veth', 'peer', 'name', `${dummy}p`);
    await sh('ip', '-n', ns, 'addr', 'add', '10.99.1.1/24', 'dev', dummy);
    const cfg = baseConfig(['sh', '-c', 'cat /proc/net/dev; ip -4 -o addr']);
    cfg['linux'].namespaces = [{ type: 'pid' }, { type: 'network', path: `/var/run/netns/${ns}` }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('join')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, `${dummy}:`);
    assert.match(r.stdout, '10.99.1.1/24');

    cfg['linux'].namespaces[1] = { type: 'network', path: '/var/run/netns/no-such-ns' };
    writeConfig(b, cfg);
    const bad = await oci(b, ['run', '--bundle', b.dir, uniqueName('join')]);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, '/var/run/netns/no-such-ns');
    assert.equal(readdirSync(b.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'run in the foreground returns the exit status; exec runs in the container\'s namespaces', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sh', '-c', 'exit 7']));
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('run')]);
    assert.is(r.code, 7);
    writeConfig(b, baseConfig(['no-such-program']));
    const nf = await oci(b, ['run', '--bundle', b.dir, uniqueName('run')]);
    assert.is(nf.code, 127);
    assert.match(nf.stderr, 'no-such-program');
    assert.equal(readdirSync(b.state), []);

    writeConfig(b, baseConfig(['sleep', '60']));
    const id = uniqueName('exec');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['run', '--detach', '--bundle', b.dir, id])).code, 0);
    assert.is((await ociState(b, id))['status'], 'running');
    const e = await oci(b, ['exec', id, 'sh', '-c', 'hostname; echo $$; cat /proc/1/comm; exit 4']);
    assert.is(e.code, 4, e.stderr);
    const [host, pid, one] = e.stdout.trim().split('\n');
    assert.is(host, 'ocitest');
    assert.ok(Number(pid) > 1 && Number(pid) < 100, `pid in the container's pid namespace: ${pid}`);
    assert.is(one, 'sleep');
    const env = await oci(b, ['exec', '-e', 'FOO=bar', '--cwd', '/tmp', id, 'sh', '-c', 'echo $FOO $(pwd)']);
    assert.is(env.stdout, 'bar /tmp\n');
    assert.is((await oci(b, ['delete', '--force', id])).code, 0);
    const stopped = await oci(b, ['exec', id, 'true']);
    assert.is.not(stopped.code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a new user namespace with uid/gid mappings: root inside owns files as the mapped id outside', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh', '-c', 'id -u; cat /proc/self/uid_map; touch /tmp/made-inside']);
    cfg['linux'].namespaces.push({ type: 'user' });
    cfg['linux'].uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    cfg['linux'].gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    const b = await makeBundle(cleanup, cfg);
    await sh('chown', '-R', '200000:200000', b.rootfs);
    // The mapped root must be able to reach the rootfs (mkdtemp makes 0700).
    await sh('chmod', '755', b.dir);
    const id = uniqueName('usr');
    deleteLater(cleanup, b, id);
    // create + start (not run): the init must still open exec.fifo as the mapped user.
    const c = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is(c.code, 0, c.stderr);
    assert.is((await oci(b, ['start', id])).code, 0);
    await waitFor(() => existsSync(join(b.rootfs, 'tmp/made-inside')), 'the program to run');
    const { statSync } = await import('node:fs');
    const st = statSync(join(b.rootfs, 'tmp/made-inside'));
    assert.is(st.uid, 200000);
    assert.is(st.gid, 200000);
  } finally {
    await cleanup.run();
  }
});

const noFreezer = existsSync('/sys/fs/cgroup/cgroup.controllers') || existsSync('/sys/fs/cgroup/freezer/cgroup.procs') ? null : 'needs a cgroup freezer';

testIf(test, noRoot ?? noFreezer, 'pause freezes every process (no progress, status paused), resume lets them go on; refused transitions; a paused container is killed and deleted by delete --force', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done']);
    cfg['linux'].cgroupsPath = `/${uniqueName('ocifz')}`;
    cfg['root'].readonly = false;
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('fz');
    deleteLater(cleanup, b, id);
    const count = () => Number(readFileSync(join(b.rootfs, 'tmp/count'), 'utf8').trim() || 0);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    const early = await oci(b, ['pause', id]);
    assert.is(early.code, 1);
    assert.match(early.stderr, `cannot pause container ${id}: it is created`);
    assert.is((await oci(b, ['start', id])).code, 0);
    await waitFor(() => existsSync(join(b.rootfs, 'tmp/count')) && count() > 3, 'the loop to count');

    const p = await oci(b, ['pause', id]);
    assert.is(p.code, 0, p.stderr);
    assert.is((await ociState(b, id))['status'], 'paused');
    const frozenAt = count();
    await new Promise((r) => setTimeout(r, 400));
    assert.is(count(), frozenAt, 'no progress while paused');
    const again = await oci(b, ['pause', id]);
    assert.match(again.stderr, `cannot pause container ${id}: it is paused`);
    const ex = await oci(b, ['exec', id, 'true']);
    assert.is.not(ex.code, 0);
    assert.match(ex.stderr, 'it is paused');

    const r = await oci(b, ['resume', id]);
    assert.is(r.code, 0, r.stderr);
    assert.is((await ociState(b, id))['status'], 'running');
    await waitFor(() => count() > frozenAt + 3, 'the loop to count again');
    assert.match((await oci(b, ['resume', id])).stderr, `cannot resume container ${id}: it is running`);

    assert.is((await oci(b, ['pause', id])).code, 0);
    const init = (await ociState(b, id))['pid'] as number;
    const d = await oci(b, ['delete', '--force', id]);
    assert.is(d.code, 0, d.stderr);
    await gone(init);
    assert.is.not((await oci(b, ['state', id])).code, 0);
    assert.not.ok(existsSync(`/sys/fs/cgroup/freezer${cfg['linux'].cgroupsPath}`), 'the freezer cgroup is removed');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'pause of a container without a cgroup is refused with a hint', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['sleep', '60']));
    const id = uniqueName('nofz');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['run', '--detach', '--bundle', b.dir, id])).code, 0);
    const r = await oci(b, ['pause', id]);
    assert.is(r.code, 1);
    assert.match(r.stderr, `cannot pause container ${id}: it has no cgroup to freeze`);
    assert.match(r.stderr, 'linux.cgroupsPath');
    assert.is((await ociState(b, id))['status'], 'running');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'linux.resources: memory and pids limits land in the container\'s cgroup, removed by delete', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['sleep', '60']);
    const path = `/${uniqueName('ocicg')}`;
    cfg['linux'].cgroupsPath = path;
    cfg['linux'].resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 20 } };
    const b = await makeBundle(cleanup, cfg);
    const id = uniqueName('cg');
    deleteLater(cleanup, b, id);
    assert.is((await oci(b, ['create', '--bundle', b.dir, id])).code, 0);
    const pid = (await ociState(b, id))['pid'] as number;
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    const memFile = v2 ? `/sys/fs/cgroup${path}/memory.max` : `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`;
    const pidsFile = v2 ? `/sys/fs/cgroup${path}/pids.max` : `/sys/fs/cgroup/pids${path}/pids.max`;
    assert.is(readFileSync(memFile, 'utf8').trim(), String(64 * 1024 * 1024));
    assert.is(readFileSync(pidsFile, 'utf8').trim(), '20');
    const procs = readFileSync(join(pidsFile, '../cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    assert.ok(procs.includes(pid), 'the init is in the cgroup before start');
    assert.is((await oci(b, ['delete', '--force', id])).code, 0);
    assert.not.ok(existsSync(join(pidsFile, '..')));
    assert.not.ok(existsSync(join(memFile, '..')));

    cfg['linux'].resources = { memory: { limit: -5 } };
    writeConfig(b, cfg);
    const bad = await oci(b, ['create', '--bundle', b.dir, id]);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr, 'linux.resources.memory.limit');
    assert.not.ok(existsSync(join(memFile, '..')));
    assert.equal(readdirSync(b.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'bad bundles: each gives a message naming the field, and nothing is left', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, baseConfig(['true']));
    const cases: Array<[(c: Record<string, any>) => void, string]> = [
      [(c) => delete c['process'].args, 'process.args'],
      [(c) => (c['process'].cwd = 'relative'), 'process.cwd'],
      [(c) => (c['linux'].namespaces = [{ type: 'mount' }, { type: 'bogus' }]), 'linux.namespaces[1].type: unknown namespace type bogus'],
      [(c) => (c['linux'].namespaces = [{ type: 'uts' }]), 'mounts: cannot be applied without a mount namespace'],
      [(c) => (c['linux'].rootfsPropagation = 'sideways'), 'linux.rootfsPropagation'],
      [(c) => (c['hooks'] = { poststart: [{ path: 'relative/hook' }] }), 'hooks.poststart[0].path'],
      [(c) => (c['linux'].devices = [{ path: '/dev/x', type: 'q', major: 1, minor: 1 }]), 'linux.devices[0].type'],
      [(c) => (c['ociVersion'] = '2.0.0'), 'ociVersion'],
      [(c) => (c['annotations'] = { 'containet.ipv4': '10.0.0.2/24' }), 'containet.socket'],
      [(c) => (c['annotations'] = { 'containet.net.1': '/tmp/x.sock,colour=blue' }), 'annotations.containet.net.1: --net /tmp/x.sock,colour=blue: unknown key colour=blue'],
      [(c) => (c['annotations'] = { 'containet.net.1': '/tmp/x.sock,vlan=5000' }), 'annotations.containet.net.1: --net /tmp/x.sock,vlan=5000: invalid vlan=5000'],
      [(c) => (c['annotations'] = { 'containet.net.x': '/tmp/x.sock' }), 'annotations.containet.net.x: unknown containet annotation'],
    ];
    for (const [mutate, msg] of cases) {
      const cfg = baseConfig(['true']);
      mutate(cfg);
      writeConfig(b, cfg);
      const r = await oci(b, ['create', '--bundle', b.dir, 'bad1']);
      assert.is.not(r.code, 0, msg);
      assert.match(r.stderr, msg);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(readdirSync(b.state), [], msg);
    }
    writeFileSync(join(b.dir, 'config.json'), '{ not json');
    const nj = await oci(b, ['create', '--bundle', b.dir, 'bad1']);
    assert.match(nj.stderr, 'config.json: not valid JSON');
    const nb = await oci(b, ['create', '--bundle', join(b.dir, 'nope'), 'bad1']);
    assert.match(nb.stderr, 'cannot read');
    assert.equal(readdirSync(b.state), []);
    const unk = await oci(b, ['frobnicate']);
    assert.is(unk.code, 2);
    assert.match(unk.stderr, 'unknown command frobnicate');
    const sd = await oci(b, ['--systemd-cgroup', 'state', 'x']);
    assert.is.not(sd.code, 0);
    assert.match(sd.stderr, '--systemd-cgroup is not supported');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'unsupported fields are warned about by name; --log-format json logs JSON lines', async () => {
  const cleanup = new Cleanup();
  try {
    const cfg = baseConfig(['true']);
    cfg['linux'].personality = { domain: 'LINUX' };
    cfg['process'].apparmorProfile = 'docker-default';
    cfg['vendorThing'] = 1;
    const b = await makeBundle(cleanup, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('warn')]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, 'warning: config.json: linux.personality: not supported');
    assert.match(r.stderr, 'process.apparmorProfile: not supported');
    // Unknown fields are ignored as config.md requires: no warning (--debug names them).
    assert.not.match(r.stderr, 'vendorThing');

    const log = join(b.state, 'log.json');
    const w = await oci(b, ['run', '--bundle', b.dir, uniqueName('warn')], { global: ['--log', log, '--log-format', 'json'] });
    assert.is(w.code, 0, w.stderr);
    const e = await oci(b, ['state', 'nope'], { global: ['--log', log, '--log-format', 'json'] });
    assert.is.not(e.code, 0);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.level === 'warning' && l.msg.includes('linux.personality')));
    const err = lines.at(-1);
    assert.is(err.level, 'error');
    assert.is(err.msg, 'container nope does not exist');
    assert.ok(!Number.isNaN(Date.parse(err.time)));
    const bad = await oci(b, ['state', 'x'], { global: ['--log-format', 'xml'] });
    assert.is(bad.code, 2);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'spec writes a config.json that runs, and refuses to overwrite one', async () => {
  const cleanup = new Cleanup();
  try {
    const b = await makeBundle(cleanup, {});
    await sh('rm', join(b.dir, 'config.json'));
    assert.is((await oci(b, ['spec', '--bundle', b.dir])).code, 0);
    const cfg = JSON.parse(readFileSync(join(b.dir, 'config.json'), 'utf8'));
    assert.equal(cfg.process.args, ['sh']);
    assert.is(cfg.root.path, 'rootfs');
    const again = await oci(b, ['spec', '--bundle', b.dir]);
    assert.is.not(again.code, 0);
    assert.match(again.stderr, 'exists');
    cfg.process.terminal = false;
    cfg.process.args = ['sh', '-c', 'hostname; id -u'];
    writeConfig(b, cfg);
    const r = await oci(b, ['run', '--bundle', b.dir, uniqueName('spec')]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'containode\n0\n');
  } finally {
    await cleanup.run();
  }
});

const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet';

testIf(test, noRoot ?? noContainet, 'containet.socket/containet.ipv4 annotations put two containers on a switch; delete removes the ports', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'ocisw');
    const sock = join(dir, 'containet.sock');
    const sw = start(process.execPath, [CONTAINET, '-s', sock]);
    cleanup.add('stop containet', () => killAndWait(sw));
    await waitFor(() => existsSync(sock), 'containet to listen', 10_000);
    const cfgA = baseConfig(['sleep', '60']);
    cfgA['annotations'] = { 'containet.socket': sock, 'containet.ipv4': '10.78.0.1/24' };
    const a = await makeBundle(cleanup, cfgA);
    const idA = uniqueName('swa');
    deleteLater(cleanup, a, idA);
    const ca = await oci(a, ['run', '--detach', '--bundle', a.dir, idA]);
    assert.is(ca.code, 0, ca.stderr);

    const cfgB = baseConfig(['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1']);
    cfgB['annotations'] = { 'containet.socket': sock, 'containet.ipv4': '10.78.0.2/24' };
    const b: Bundle = { ...a, dir: tempDir(cleanup, 'ocib2') };
    await sh('ln', '-s', a.rootfs, join(b.dir, 'rootfs'));
    writeConfig(b, cfgB);
    const pb = await oci(b, ['run', '--bundle', b.dir, uniqueName('swb')], { timeoutMs: 20_000 });
    assert.is(pb.code, 0, pb.stderr + pb.stdout);
    assert.match(pb.stdout, '3 packets received');

    const ports = async () => JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as Array<{ node: string }>;
    assert.equal((await ports()).map((p) => p.node), [idA], 'the finished run left the switch');
    assert.is((await oci(a, ['delete', '--force', idA])).code, 0);
    await waitFor(async () => (await ports()).length === 0, 'the port to go');
    const unreachable = structuredClone(cfgA);
    unreachable['annotations']['containet.socket'] = join(dir, 'nothing.sock');
    writeConfig(a, unreachable);
    const u = await oci(a, ['create', '--bundle', a.dir, idA]);
    assert.is.not(u.code, 0);
    assert.match(u.stderr, 'cannot reach containet');
    assert.equal(readdirSync(a.state), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'containet.reattach: a keeper holds the tap and re-attaches it after a SIGKILLed switch comes back; delete ends it and the port', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'ocira');
    const sock = join(dir, 'containet.sock');
    const startSwitch = async () => {
      const sw = start(process.execPath, [CONTAINET, '-s', sock]);
      cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
      await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
      return sw;
    };
    const first = await startSwitch();
    const cfgA = baseConfig(['sleep', '60']);
    cfgA['annotations'] = { 'containet.socket': sock, 'containet.ipv4': '10.79.0.1/24', 'containet.reattach': 'true' };
    const a = await makeBundle(cleanup, cfgA);
    const idA = uniqueName('raa');
    deleteLater(cleanup, a, idA);
    const ca = await oci(a, ['run', '--detach', '--bundle', a.dir, idA]);
    assert.is(ca.code, 0, ca.stderr);
    const rec = JSON.parse(readFileSync(join(a.state, idA, 'state.json'), 'utf8')) as { switch: { keeper: { pid: number }; persist: boolean } };
    assert.is(rec.switch.persist, false, 'the port lives with the keeper\'s connection');
    const keeper = rec.switch.keeper.pid;
    const b: Bundle = { ...a, dir: tempDir(cleanup, 'ocirab') };
    await sh('ln', '-s', a.rootfs, join(b.dir, 'rootfs'));
    const ping = async () => {
      const cfgB = baseConfig(['ping', '-c', '1', '-W', '1', '10.79.0.1']);
      cfgB['annotations'] = { 'containet.socket': sock, 'containet.ipv4': '10.79.0.2/24' };
      writeConfig(b, cfgB);
      return (await oci(b, ['run', '--bundle', b.dir, uniqueName('rab')], { timeoutMs: 20_000 })).code;
    };
    assert.is(await ping(), 0, 'ping through the first switch');

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await startSwitch();
    await waitFor(async () => (await ping()) === 0, 'ping through the new switch', 10_000, 100);
    const ports = async () => JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as Array<{ node: string }>;
    assert.equal((await ports()).map((p) => p.node), [idA], 're-attached with its identity');

    assert.is((await oci(a, ['delete', '--force', idA])).code, 0);
    await waitFor(async () => (await ports()).length === 0, 'the port to go with the keeper');
    // Gone, or a zombie its new parent (a subreaper, maybe) has not reaped yet.
    await waitFor(() => !existsSync(`/proc/${keeper}`) || readFileSync(`/proc/${keeper}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'), 'the keeper to end', 3000);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'containet.net.N annotations: interfaces on two switches, kept by the keeper across a switch restart; delete removes every port', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'ocinet');
    const s1 = join(dir, 'one.sock');
    const s2 = join(dir, 'two.sock');
    const startSwitch = async (sock: string) => {
      const sw = start(process.execPath, [CONTAINET, '-s', sock]);
      cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
      await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
      return sw;
    };
    await startSwitch(s1);
    const second = await startSwitch(s2);
    const ports = async (sock: string) =>
      (JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as Array<{ node: string; ifname: string; addresses: string[] }>)
        .map((p) => `${p.node} ${p.ifname} ${p.addresses.join(',')}`)
        .sort();
    const cfgA = baseConfig(['sleep', '60']);
    cfgA['annotations'] = {
      'containet.socket': s1,
      'containet.ipv4': '10.81.0.1/24',
      'containet.net.2': `${s2},if=lan2,ip=10.81.2.1/24`,
      'containet.net.1': `${s2},ip=10.81.1.1/24`,
      'containet.reattach': 'true',
    };
    const a = await makeBundle(cleanup, cfgA);
    const idA = uniqueName('ocn');
    deleteLater(cleanup, a, idA);
    const ca = await oci(a, ['run', '--detach', '--bundle', a.dir, idA]);
    assert.is(ca.code, 0, ca.stderr);
    assert.equal(await ports(s1), [`${idA} eth0 10.81.0.1/24`]);
    assert.equal(await ports(s2), [`${idA} eth1 10.81.1.1/24`, `${idA} lan2 10.81.2.1/24`], 'net.1 before net.2, eth1 unless named');
    const b: Bundle = { ...a, dir: tempDir(cleanup, 'ocinetb') };
    await sh('ln', '-s', a.rootfs, join(b.dir, 'rootfs'));
    const ping = async (target: string) => {
      const cfgB = baseConfig(['ping', '-c', '1', '-W', '1', target]);
      cfgB['annotations'] = { 'containet.net.1': `${s2},ip=10.81.1.2/24` };
      writeConfig(b, cfgB);
      return (await oci(b, ['run', '--bundle', b.dir, uniqueName('ocnb')], { timeoutMs: 20_000 })).code;
    };
    assert.is(await ping('10.81.1.1'), 0, 'ping to eth1 on the second switch');

    second.kill('SIGKILL');
    await new Promise((r) => second.once('exit', r));
    await startSwitch(s2);
    await waitFor(async () => (await ping('10.81.1.1')) === 0, 'ping through the new switch', 10_000, 100);
    assert.equal(await ports(s2), [`${idA} eth1 10.81.1.1/24`, `${idA} lan2 10.81.2.1/24`], 'the keeper re-attached both');

    assert.is((await oci(a, ['delete', '--force', idA])).code, 0);
    await waitFor(async () => (await ports(s1)).length === 0 && (await ports(s2)).length === 0, 'every port to go');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'containet.net.N without containet.socket: persistent ports, two on one switch; delete detaches both', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'ocinetp');
    const sock = join(dir, 'sw.sock');
    const sw = start(process.execPath, [CONTAINET, '-s', sock]);
    cleanup.add('stop containet', () => killAndWait(sw));
    await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
    const cfg = baseConfig(['sleep', '60']);
    cfg['annotations'] = { 'containet.net.1': `${sock},ip=10.82.0.1/24,mtu=1400`, 'containet.net.2': `${sock},ip=10.82.1.1/24` };
    const a = await makeBundle(cleanup, cfg);
    const id = uniqueName('ocp');
    deleteLater(cleanup, a, id);
    const c = await oci(a, ['run', '--detach', '--bundle', a.dir, id]);
    assert.is(c.code, 0, c.stderr);
    const ports = async () => (JSON.parse((await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json'])).stdout) as Array<{ node: string; ifname: string }>).map((p) => `${p.node} ${p.ifname}`).sort();
    assert.equal(await ports(), [`${id} eth0`, `${id} eth1`]);
    const ex = await oci(a, ['exec', id, 'cat', '/sys/class/net/eth0/mtu']);
    assert.is(ex.stdout.trim(), '1400', ex.stderr);
    assert.is((await oci(a, ['delete', '--force', id])).code, 0);
    await waitFor(async () => (await ports()).length === 0, 'both ports to go');
  } finally {
    await cleanup.run();
  }
});

test.run();
