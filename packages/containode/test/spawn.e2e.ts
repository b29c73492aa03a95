/**
 * The spawner's features that limits and containode-oci build on, through
 * spawnContainer (native/SPAWN.md): capabilities, no_new_privs, user
 * namespaces, rlimits, joined namespaces, mounts, devices, masked and
 * read-only paths, sysctl, cgroups, console, the create/start fifo, and
 * failures reported as step + errno.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readSync, rmdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { FdPoller, closeFd, recvWithFd, socketFd } from '@containet/common';
import { Cleanup, makeNetns, sh, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { SpawnError, spawnContainer } from '@containet/containode';
import { baseSpec, busyboxRoot, runSpec, tempDir } from './helpers.js';

const noRoot = whyNoRoot();

function statusField(text: string, name: string): string {
  const m = text.match(new RegExp(`^${name}:\\s*(\\S+)`, 'm'));
  return m?.[1] ?? '';
}

testIf(test, noRoot, 'capabilities: each set exactly as given, by name or number; no_new_privs', async () => {
  const cleanup = new Cleanup();
  try {
    const r = await runSpec(
      cleanup,
      baseSpec(['cat', '/proc/self/status'], {
        process: {
          capabilities: {
            bounding: ['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_KILL'],
            effective: ['CAP_CHOWN', 13],
            permitted: ['CAP_CHOWN', 'NET_RAW'],
            inheritable: ['CAP_CHOWN'],
            ambient: [],
          },
          noNewPrivileges: true,
        },
      }),
    );
    assert.is(r.status, 0, r.err);
    // CHOWN = bit 0, KILL = 5, NET_RAW = 13
    assert.is(statusField(r.out, 'CapBnd'), (1 + (1 << 5) + (1 << 13)).toString(16).padStart(16, '0'));
    assert.is(statusField(r.out, 'CapEff'), (1 + (1 << 13)).toString(16).padStart(16, '0'));
    assert.is(statusField(r.out, 'CapPrm'), (1 + (1 << 13)).toString(16).padStart(16, '0'));
    assert.is(statusField(r.out, 'CapInh'), '0000000000000001');
    assert.is(statusField(r.out, 'NoNewPrivs'), '1');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a dropped capability is really missing: sethostname and mknod fail', async () => {
  const cleanup = new Cleanup();
  try {
    const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_SETUID', 'CAP_SETGID'];
    const r = await runSpec(
      cleanup,
      baseSpec(['sh', '-c', 'hostname changed 2>&1 || echo no-hostname; mknod /dev/x c 1 3 2>&1 || echo no-mknod'], {
        hostname: 'before',
        process: { capabilities: { bounding: caps, effective: caps, permitted: caps } },
      }),
    );
    assert.match(r.out, /no-hostname/);
    assert.match(r.out, /no-mknod/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'user namespace: maps written, root inside is 100000 outside; user switch and additional groups', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const top = tempDir(cleanup);
    mkdirSync(join(top, 'upper'));
    mkdirSync(join(top, 'work'));
    await sh('chown', '-R', '100000:100000', top);
    const spec = baseSpec(['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map; touch /made-inside; echo done'], {
      namespaces: { user: true, pid: true, mount: true, uts: true, ipc: true, net: true },
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      rootfs: { path: root, overlay: { lower: [root], upper: join(top, 'upper'), work: join(top, 'work') } },
    });
    const r = await runSpec(cleanup, spec);
    assert.is(r.status, 0, r.err + r.out);
    const lines = r.out.split('\n');
    assert.is(lines[0], '0');
    assert.is(lines[1], '0');
    assert.match(lines[2]!, /^\s*0\s+100000\s+65536$/);
    const st = statSync(join(top, 'upper/made-inside'));
    assert.is(st.uid, 100000, 'owned by the mapped uid on the host');
    assert.is(st.gid, 100000);

    const u = await runSpec(cleanup, baseSpec(['sh', '-c', 'id -u; id -g; id -G'], { process: { user: { uid: 1000, gid: 1001, additionalGids: [5, 7] } } }));
    assert.is(u.status, 0, u.err);
    assert.equal(u.out.split('\n').slice(0, 3), ['1000', '1001', '1001 5 7']);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'rlimits, oom_score_adj, umask, cwd, env and hostname/domainname', async () => {
  const cleanup = new Cleanup();
  try {
    const r = await runSpec(
      cleanup,
      baseSpec(['sh', '-c', 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; umask; pwd; echo "$FOO"; hostname; cat /proc/sys/kernel/domainname'], {
        hostname: 'h1',
        domainname: 'd1',
        process: {
          env: ['PATH=/bin:/usr/bin', 'FOO=bar baz'],
          cwd: '/tmp',
          umask: 0o027,
          oomScoreAdj: 432,
          rlimits: [{ type: 'RLIMIT_NOFILE', soft: 123, hard: 456 }],
        },
      }),
    );
    assert.is(r.status, 0, r.err);
    assert.equal(r.out.trim().split('\n'), ['123', '456', '432', '0027', '/tmp', 'bar baz', 'h1', 'd1']);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'joining a network namespace by path', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup);
    const dummy = uniqueName('vth');
    await sh('ip', '-n', ns, 'link', 'add', dummy, 'type', 'veth', 'peer', 'name', uniqueName('vtp'));
    const r = await runSpec(cleanup, baseSpec(['ip', '-o', 'link'], { namespaces: { pid: true, mount: true, net: `/var/run/netns/${ns}` } }));
    assert.is(r.status, 0, r.err);
    assert.match(r.out, new RegExp(`: ${dummy}[@:]`));
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'explicit mounts with options, device nodes, masked and read-only paths, sysctl', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const top = tempDir(cleanup);
    const shared = tempDir(cleanup);
    writeFileSync(join(shared, 'file'), 'from host\n');
    mkdirSync(join(top, 'u'));
    mkdirSync(join(top, 'w'));
    // The container sets the opposite of the host's value in its own
    // network namespace: then both "the container's write took" and "the
    // host kept its value" are seen, whatever the host started with.
    const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const containerForward = hostForward === '1' ? '0' : '1';
    const script = [
      'grep " /mnt/t " /proc/mounts',
      'cat /mnt/ro/file',
      'echo x > /mnt/ro/new 2>/dev/null || echo ro-refused',
      'stat -c "%F %t:%T %a %u:%g" /dev/mydev',
      'echo hi > /dev/mydev && echo mydev-writable',
      'wc -c < /proc/version',
      'ls /proc/acpi 2>/dev/null | wc -l',
      'echo 1 > /proc/sys/kernel/hostname 2>/dev/null || echo sys-ro',
      'cat /proc/sys/net/ipv4/ip_forward',
    ].join('; ');
    const r = await runSpec(
      cleanup,
      baseSpec(['sh', '-c', script], {
        rootfs: { path: root, overlay: { lower: [root], upper: join(top, 'u'), work: join(top, 'w') } },
        mounts: [
          { source: 'tmpfs', destination: '/mnt/t', type: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=700'] },
          { source: shared, destination: '/mnt/ro', type: 'bind', options: ['rbind', 'ro'] },
        ],
        devices: [{ path: '/dev/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 7, gid: 8 }],
        maskedPaths: ['/proc/version', '/proc/acpi', '/proc/does-not-exist'],
        readonlyPaths: ['/proc/sys'],
        sysctl: { 'net.ipv4.ip_forward': containerForward },
      }),
    );
    assert.is(r.status, 0, r.err);
    const lines = r.out.split('\n');
    assert.is(lines.length, 10, r.out);
    assert.match(lines[0]!, /^tmpfs \/mnt\/t tmpfs rw,nosuid,nodev,.*size=1024k,mode=700/);
    assert.is(lines[1], 'from host');
    assert.is(lines[2], 'ro-refused');
    assert.is(lines[3], 'character special file 1:3 640 7:8');
    assert.is(lines[4], 'mydev-writable');
    assert.is(lines[5]!.trim(), '0', '/proc/version masked by /dev/null');
    assert.is(lines[6]!.trim(), '0', 'a masked directory is empty');
    assert.is(lines[7], 'sys-ro');
    assert.is(lines[8], containerForward, 'sysctl in the container\'s netns');
    assert.is(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostForward, 'host ip_forward is not changed by the container');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'cgroup: the init joins cgroup.procs before it runs, sees its cgroup as / and the dir goes with it', async () => {
  const cleanup = new Cleanup();
  try {
    const base = '/sys/fs/cgroup/pids';
    if (!existsSync(base)) return;
    const dir = join(base, uniqueName('cnt'));
    mkdirSync(dir);
    cleanup.add(`rmdir ${dir}`, () => existsSync(dir) && rmdirSync(dir));
    writeFileSync(join(dir, 'pids.max'), '50');
    const r = await runSpec(
      cleanup,
      baseSpec(['sh', '-c', 'grep pids /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; echo ok'], {
        namespaces: { pid: true, mount: true, uts: true, ipc: true, net: true, cgroup: true },
        cgroupProcs: [join(dir, 'cgroup.procs')],
        cleanup: { rmdir: [dir] },
      }),
    );
    assert.is(r.status, 0, r.err);
    assert.match(r.out, /^\d+:pids:\/$/m, 'the cgroup namespace root is the container\'s cgroup');
    assert.not.ok(existsSync(dir), 'cleanup_rmdir removed the cgroup after the exit');
  } finally {
    await cleanup.run();
  }
});

/** Accept one connection on a unix socket path and receive one fd from it. */
function receiveFdOn(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true }, (sock: Socket) => {
      const fd = socketFd(sock);
      const poller = new FdPoller();
      poller.add(fd, () => {
        const got = recvWithFd(fd);
        if (!got) return;
        poller.delete(fd);
        poller.close();
        sock.destroy();
        server.close();
        if (got.fd >= 0) resolve(got.fd);
        else reject(new Error('no fd came'));
      });
    });
    server.listen(path);
  });
}

function readAll(fd: number, until: RegExp, timeoutMs = 5000): string {
  const buf = Buffer.alloc(4096);
  let out = '';
  const end = Date.now() + timeoutMs;
  while (!until.test(out) && Date.now() < end) {
    let n = 0;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((err as NodeJS.ErrnoException).code === 'EIO') break; // slave closed
      throw err;
    }
    if (n === 0) break;
    out += buf.subarray(0, n).toString();
  }
  return out;
}

testIf(test, noRoot, 'terminal: the pty master reaches the console socket and drives the program', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const path = join(dir, 'console.sock');
    const got = receiveFdOn(path);
    const c = await spawnContainer(
      baseSpec(['sh', '-c', 'tty; read x; echo "read:$x"'], { process: { terminal: true, consoleSocket: path } }),
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    await c.release();
    const master = await got;
    cleanup.add('close master', () => closeFd(master));
    writeSync(master, 'typed\n');
    const out = readAll(master, /read:typed/);
    assert.match(out, /\/dev\/pts\/0/);
    assert.match(out, /read:typed/);
    assert.is(await c.exited, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'detached create/start: the spawner exits, the init waits on the exec fifo until it is opened', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const fifo = join(dir, 'exec.fifo');
    const marker = join(dir, 'started');
    const c = await spawnContainer(
      baseSpec(['sh', '-c', 'echo started > /mnt/started; sleep 0.2'], {
        detached: true,
        execFifo: fifo,
        mounts: [{ source: dir, destination: '/mnt', type: 'bind', options: ['bind'] }],
      }),
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    cleanup.add('kill init', () => {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {}
    });
    await c.release(); // resolves once the spawner has exited
    assert.ok(existsSync(`/proc/${c.pid}`), 'the init lives on alone');
    await new Promise((r) => setTimeout(r, 200));
    assert.not.ok(existsSync(marker), 'the program has not started before the fifo is opened');
    assert.ok(statSync(fifo).isFIFO());
    const fd = openSync(fifo, 'r');
    const b = Buffer.alloc(1);
    assert.is(readSync(fd, b, 0, 1, null), 1);
    closeSync(fd);
    // The shell creates the file before it writes the line: wait for the line.
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8') === 'started\n', 'the program to start after the fifo was read', 5000);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'failures come back as step + errno and leave nothing running', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    try {
      await runSpec(cleanup, baseSpec(['true'], { rootfs: { path: join(dir, 'missing') } }));
      assert.unreachable('a missing rootfs must fail');
    } catch (err) {
      assert.instance(err, SpawnError);
      const e = err as SpawnError;
      assert.is(e.step, 'mount(bind rootfs)');
      assert.is(e.errno, 2);
      assert.match(e.message, /^mount\(\/.*missing, bind rootfs\): No such file or directory$/);
    }
    const fifo = join(dir, 'exec.fifo');
    try {
      await runSpec(cleanup, baseSpec(['true'], { detached: true, execFifo: fifo, rootfs: { path: join(dir, 'missing') } }));
      assert.unreachable('a missing rootfs must fail in detached mode too');
    } catch (err) {
      assert.is((err as SpawnError).step, 'mount(bind rootfs)');
      assert.not.ok(existsSync(fifo), 'the exec fifo of a failed create is removed');
    }
    try {
      await runSpec(cleanup, baseSpec(['true'], { propagation: 'sideways' }));
      assert.unreachable('a bad spec must fail');
    } catch (err) {
      assert.is((err as SpawnError).code, 'CN_SPAWN');
      assert.match((err as Error).message, /invalid container spec: line \d+: invalid: propagation\tsideways/);
    }
    try {
      await runSpec(cleanup, baseSpec(['nonexistent-program']));
      assert.unreachable('not found must fail');
    } catch (err) {
      assert.is((err as SpawnError).code, 'CN_NOT_FOUND');
      assert.is((err as SpawnError).exitCode, 127);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'when the caller dies (SIGKILL) the container is killed and cleanup runs', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const file = join(dir, 'record');
    writeFileSync(file, 'x');
    const script = `
      import { spawnContainer } from '@containet/containode';
      const c = await spawnContainer({ namespaces: { pid: true, mount: true }, defaultMounts: true,
        process: { args: ['sleep', '60'], env: ['PATH=/bin:/usr/bin'] }, cleanup: { unlink: [${JSON.stringify(file)}] } },
        { stdio: ['ignore', 'ignore', 'inherit'] });
      await c.release();
      console.log(c.pid);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: join(import.meta.dirname ?? '.', '..') });
    cleanup.add('caller', () => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    const pid = Number(await waitFor(() => out.trim(), 'the container pid', 10_000));
    assert.ok(existsSync(`/proc/${pid}`));
    child.kill('SIGKILL');
    await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'the container to die', 3000);
    await waitFor(() => !existsSync(file), 'cleanup_unlink to run', 3000);
  } finally {
    await cleanup.run();
  }
});


testIf(test, noRoot, 'a mount destination planted as a symlink out of the root lands inside the root', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const outside = tempDir(cleanup); // a host directory the image points at
    const { symlinkSync, readdirSync } = await import('node:fs');
    // Absolute and relative escapes, as a hostile image would ship them.
    symlinkSync(outside, join(root, 'escape-abs'));
    symlinkSync(`../../../../../../../..${outside}`, join(root, 'escape-rel'));
    // Resolved inside the root, the links point at ROOT/<outside>.
    mkdirSync(join(root, outside), { recursive: true });
    const r = await runSpec(
      cleanup,
      baseSpec(['sh', '-c', `grep -c " ${outside}/[ab] " /proc/mounts`], {
        rootfs: { path: root },
        mounts: [
          { source: 'tmpfs', destination: '/escape-abs/a', type: 'tmpfs', options: ['size=1m'] },
          { source: 'tmpfs', destination: '/escape-rel/b', type: 'tmpfs', options: ['size=1m'] },
        ],
      }),
    );
    assert.is(r.status, 0, r.err);
    assert.is(r.out.trim(), '2', 'both mounts exist inside the container, under the root');
    assert.equal(readdirSync(outside), [], 'nothing was created or mounted in the host directory');
    assert.ok(existsSync(join(root, outside, 'a')), 'the mount point was made inside the root');

    // A link dangling inside the root is an error, not a way out.
    symlinkSync('/nowhere/at/all', join(root, 'dangling'));
    let failed = '';
    try {
      await runSpec(cleanup, baseSpec(['true'], { rootfs: { path: root }, mounts: [{ source: 'tmpfs', destination: '/dangling/x', type: 'tmpfs', options: [] }] }));
    } catch (err) {
      failed = (err as Error).message;
    }
    assert.match(failed, 'mkdir(/dangling/x, mount point)');
    assert.not.ok(existsSync('/nowhere'), 'nothing made on the host');
  } finally {
    await cleanup.run();
  }
});

test.run();
