/**
 * containode as users run it: namespaces, root filesystem with an
 * overlay, devices, exit status and signals, two containers on a real
 * containet switch, and every bad input with nothing left behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { FrameDecoder, encodeFrame } from '@containet/common';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containodeStore } from '@containet/containode';

const readRecord = (id: string) => containodeStore().read(id);
import { CONTAINET, CONTAINODE, busyboxRoot, containode, hostMountsUnder, recordIds, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
// Records in a state directory of our own: other containers on this machine
// (other test files, benchmarks) must not show up in "nothing left behind".
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';

/** Every path under dir with its type, mode and content hash. */
function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p} ${st.mode} ${st.uid} ${st.size}\n`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

testIf(test, noRoot, 'hostname is the identity; the default identity is 11 base62 characters', async () => {
  // A unique identity: another run's container of the same name would hold its cgroup.
  const id = uniqueName('hostname');
  const a = await containode(['-i', id, 'hostname']);
  assert.is(a.code, 0, a.stderr);
  assert.is(a.stdout.trim(), id);
  const b = await containode(['sh', '-c', 'hostname; echo "$HOSTNAME"']);
  assert.is(b.code, 0, b.stderr);
  const [name, env] = b.stdout.trim().split('\n');
  assert.match(name!, /^[0-9A-Za-z]{11}$/);
  assert.is(env, name, 'HOSTNAME in the environment');
});

testIf(test, noRoot, 'the program is PID 1 and /proc shows only the container', async () => {
  const r = await containode(['sh', '-c', 'echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "']);
  assert.is(r.code, 0, r.stderr);
  const [pid, list] = r.stdout.split('\n');
  assert.is(pid, '1');
  const pids = list!.trim().split(' ').map(Number);
  assert.ok(pids.includes(1) && pids.length <= 6, `the shell and its pipeline only, got ${list}`);
  assert.ok(pids.every((p) => p < 10), `only the container's pids: ${list}`);
});

testIf(test, noRoot, 'network and IPC namespaces are new, -N and -I share the host ones', async () => {
  const hostNet = readlinkSync('/proc/self/ns/net');
  const hostIpc = readlinkSync('/proc/self/ns/ipc');
  const show = 'readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; ip -o link | cut -d: -f2 | tr -d " \\n"';
  const own = await containode(['sh', '-c', show]);
  assert.is(own.code, 0, own.stderr);
  const [net, ipc, links] = own.stdout.split('\n');
  assert.is.not(net, hostNet);
  assert.is.not(ipc, hostIpc);
  assert.is(links, 'lo', 'only lo without -s');
  const shared = await containode(['-N', '-I', 'sh', '-c', show]);
  assert.is(shared.code, 0, shared.stderr);
  const [net2, ipc2] = shared.stdout.split('\n');
  assert.is(net2, hostNet);
  assert.is(ipc2, hostIpc);
});

testIf(test, noRoot, 'with -r, writes land in TOP and ROOT stays byte-for-byte unchanged', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const before = treeDigest(root);
    const top = join(tempDir(cleanup), 'top');
    const r = await containode(['-r', root, '-t', top, 'sh', '-c', 'echo changed > /etc/hostname; echo new > /root/new; rm /bin/vi; ls /; cat /etc/hostname']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /changed/);
    assert.match(r.stdout, /linuxrc|bin/);
    assert.is(treeDigest(root), before, 'ROOT unchanged');
    assert.is(readFileSync(join(top, 'upper/root/new'), 'utf8'), 'new\n');
    assert.is(readFileSync(join(top, 'upper/etc/hostname'), 'utf8'), 'changed\n');
    const wh = statSync(join(top, 'upper/bin/vi'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a deletion is a whiteout in TOP');
    assert.equal(hostMountsUnder(root), [], 'no mount left on the host');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'without -t a ROOT-ID top directory is made and kept; --rm deletes it', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const id = uniqueName('keep');
    const keptTop = `${root}-${id}`;
    cleanup.add(`rm ${keptTop}`, () => run('rm', ['-rf', keptTop]));
    const a = await containode(['-r', root, '-i', id, 'sh', '-c', 'echo kept > /kept']);
    assert.is(a.code, 0, a.stderr);
    assert.is(readFileSync(join(keptTop, 'upper/kept'), 'utf8'), 'kept\n');
    const id2 = uniqueName('gone');
    const b = await containode(['-r', root, '-i', id2, '--rm', 'sh', '-c', 'echo x > /x']);
    assert.is(b.code, 0, b.stderr);
    assert.not.ok(existsSync(`${root}-${id2}`), '--rm removed the top directory');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'device nodes work, with and without a root filesystem', async () => {
  const cleanup = new Cleanup();
  try {
    const cmd = 'head -c 8 /dev/zero | od -An -tx1 | tr -d " \\n"; echo; echo gone > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c; ls /dev';
    for (const args of [[], ['-r', await busyboxRoot(cleanup), '--rm']]) {
      const r = await containode([...args, 'sh', '-c', cmd]);
      assert.is(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.is(lines[0], '0000000000000000');
      assert.is(lines[1], 'null-ok');
      assert.is(lines[2]!.trim(), '4');
      for (const dev of ['console', 'null', 'zero', 'full', 'ptmx', 'tty', 'random', 'urandom', 'pts', 'fd', 'stdin', 'stdout', 'stderr']) {
        assert.ok(lines.includes(dev), `/dev/${dev} in ${lines.join(' ')}`);
      }
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'mounts made in the container do not show on the host', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    // Mounting needs CAP_SYS_ADMIN, outside Docker's default set.
    const c = startContainode(cleanup, ['--privileged', 'sh', '-c', `mount -t tmpfs none ${dir} && echo mounted && sleep 2`]);
    await waitFor(() => c.out().includes('mounted'), 'the container to mount', 10_000);
    assert.equal(hostMountsUnder(dir), [], 'the tmpfs is not visible on the host');
    assert.is(await c.exit, 0, c.err());
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'stdin, stdout and stderr are the caller\'s', async () => {
  const r = await containode(['sh', '-c', 'read line; echo "got $line"; echo to-stderr >&2'], { input: 'hello\n' });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'got hello\n');
  assert.is(r.stderr, 'to-stderr\n');
});

testIf(test, noRoot ?? whyMissing('script'), 'an interactive shell works in a terminal (job control, reads the terminal)', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    // script(1) gives containode a pty as its controlling terminal, like a person's.
    const r = await run('script', ['-qec', `${process.execPath} ${CONTAINODE} -r ${root} --rm sh`, '/dev/null'], {
      input: 'echo $((6*7)); tty >/dev/null; echo interactive=$-\nexit 3\n',
      timeoutMs: 20_000,
    });
    assert.is(r.code, 3, r.stdout);
    assert.match(r.stdout, /^42\r?$/m);
    assert.match(r.stdout, /interactive=\S*i/, 'sh runs as an interactive shell');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'exit status: the program\'s, 128+N on signal N, 127 not found, 126 not executable', async () => {
  const cleanup = new Cleanup();
  try {
    assert.is((await containode(['sh', '-c', 'exit 7'])).code, 7);
    const nf = await containode(['/no/such/program']);
    assert.is(nf.code, 127);
    assert.match(nf.stderr, /containode: \/no\/such\/program: program not found/);
    const dir = tempDir(cleanup);
    writeFileSync(join(dir, 'notexec'), 'data');
    const ne = await containode([join(dir, 'notexec')]);
    assert.is(ne.code, 126);
    assert.match(ne.stderr, /not executable/);

    const id = uniqueName('sigkill');
    const c = startContainode(cleanup, ['-i', id, 'sleep', '30']);
    const rec = await waitFor(() => {
      const r = readRecord(id);
      return r?.status === 'running' ? r : null;
    }, 'the container to run', 10_000);
    process.kill(rec!.pid, "SIGKILL");
    assert.is(await c.exit, 137);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'INT, TERM, HUP, QUIT, USR1 and USR2 reach PID 1', async () => {
  const cleanup = new Cleanup();
  try {
    const signals: [NodeJS.Signals, number][] = [['SIGINT', 21], ['SIGTERM', 22], ['SIGHUP', 23], ['SIGQUIT', 24], ['SIGUSR1', 25], ['SIGUSR2', 26]];
    const traps = signals.map(([s, code]) => `trap "exit ${code}" ${s.slice(3)}`).join('; ');
    for (const [sig, code] of signals) {
      const c = startContainode(cleanup, ['sh', '-c', `${traps}; echo ready; while :; do sleep 0.05; done`]);
      await waitFor(() => c.out().includes('ready'), 'traps to be set', 10_000);
      c.child.kill(sig);
      assert.is(await c.exit, code, `${sig}: ${c.err()}`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet ?? whyMissing('ping'), 'two containers on a containet switch ping each other; their ports leave with them', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const sock = join(dir, 'sw.sock');
    const sw = start(process.execPath, [CONTAINET, '-s', sock]);
    cleanup.add('containet', () => killAndWait(sw));
    await waitFor(() => existsSync(sock), 'containet to listen', 10_000);
    const a = startContainode(cleanup, ['-i', uniqueName('pa'), '-s', sock, '-4', '10.77.0.1/24', '-6', 'fd00:77::1/64', 'sh', '-c', 'ip -o -4 addr show eth0; echo up; sleep 30']);
    await waitFor(() => a.out().includes('up'), 'container a', 10_000);
    assert.match(a.out(), /eth0\s+inet 10\.77\.0\.1\/24/);
    const b = await containode([
      '-i', uniqueName('pb'), '-s', sock, '-4', '10.77.0.2/24', '-6', 'fd00:77::2/64', '-g', '10.77.0.1', '-g', 'fd00:77::1',
      'sh', '-c', 'ping -c 3 -i 0.2 -W 2 10.77.0.1 && ping -6 -c 2 -i 0.2 -W 2 fd00:77::1 && ip route && ip -6 route',
    ]);
    assert.is(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /3 packets transmitted, 3 received/);
    assert.match(b.stdout, /2 packets transmitted, 2 received/, 'IPv6 too');
    assert.match(b.stdout, /^default via 10\.77\.0\.1 dev eth0/m);
    assert.match(b.stdout, /^default via fd00:77::1 dev eth0/m);
    const ports = await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json']);
    const list = JSON.parse(ports.stdout) as { node: string }[];
    assert.is(list.length, 1, 'b left the switch when it exited');
    a.child.kill('SIGKILL');
    await a.exit;
    await waitFor(async () => {
      const p = await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json']);
      return (JSON.parse(p.stdout) as unknown[]).length === 0;
    }, 'the killed container to leave the switch', 3000);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a switch that refuses the attach stops the start: the program never runs, nothing is left', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const dir = tempDir(cleanup);
    const sock = join(dir, 'refusing.sock');
    // A control socket that refuses the attach, as containet does for
    // e.g. a duplicate node identity.
    const server = createServer((conn) => {
      const decoder = new FrameDecoder(() => {});
      conn.on('data', (chunk: Buffer) => {
        for (const { message } of decoder.push(chunk)) {
          const { id, op } = message as { id: number; op: string };
          // The greeting is answered (ControlClient.connect sends it first), the attach refused.
          if (op === 'hello') conn.write(encodeFrame({ id, ok: true, version: 1, pid: process.pid }));
          else conn.write(encodeFrame({ id, ok: false, error: { code: 'CN_TEST_REFUSED', message: 'refused by the test switch' } }));
        }
      });
      conn.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(sock, r));
    cleanup.add('refusing server', () => new Promise((r) => server.close(r)));
    const id = uniqueName('refused');
    const marker = join(dir, 'ran');
    const r = await containode(['-i', id, '-r', root, '-s', sock, '-4', '10.78.0.2/24', 'sh', '-c', `touch /proc/1/root${marker}`]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /containet at .*refusing\.sock refused the attach of eth0: refused by the test switch/);
    assert.not.ok(existsSync(marker), 'the program did not run');
    assert.not.ok(existsSync(`${root}-${id}`), 'the top directory it made is gone');
    assert.not.ok(recordIds().includes(id), 'no record left');
    assert.equal(hostMountsUnder(root), []);
  } finally {
    await cleanup.run();
  }
});

/** A bad run: non-zero, its message, and no record, top directory or mount left. */
async function refused(args: string[], message: RegExp, code = 0, expectTop?: string): Promise<void> {
  const before = recordIds();
  const r = await containode(args);
  assert.ok(r.code !== 0, `${args.join(' ')} must fail`);
  if (code) assert.is(r.code, code, r.stderr);
  assert.match(r.stderr, message);
  assert.not.match(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.equal(recordIds(), before, 'no record left');
  if (expectTop) assert.not.ok(existsSync(expectTop), `${expectTop} not left behind`);
}

testIf(test, noRoot, 'bad input gets a clear message and leaves nothing behind', async () => {
  const cleanup = new Cleanup();
  try {
    const root = await busyboxRoot(cleanup);
    const dir = tempDir(cleanup);
    await refused(['-s', join(dir, 'x.sock'), '-4', '300.1.2.3/24', 'true'], /invalid IPv4 address: 300\.1\.2\.3/, 2);
    await refused(['-s', join(dir, 'x.sock'), '-4', '10.0.0.1/40', 'true'], /invalid IPv4 prefix/, 2);
    await refused(['-s', join(dir, 'x.sock'), '-6', 'fd00::zz/64', 'true'], /invalid IPv6 address/, 2);
    await refused(['-4', '10.0.0.1/24', 'true'], /-4 needs -s/, 2);
    await refused(['-r', join(dir, 'missing-root'), 'true'], /root filesystem .*missing-root is not a directory/, 2);
    await refused(['-i', 'bad/id', 'true'], /invalid identity/, 2);
    await refused(['-e', 'NOEQUALS', 'true'], /invalid -e NOEQUALS/, 2);
    await refused([], /no program given/, 2);
    const id = uniqueName('nf');
    await refused(['-r', root, '-i', id, '/bin/nonexistent'], /\/bin\/nonexistent: program not found/, 127, `${root}-${id}`);
    const id2 = uniqueName('sock');
    await refused(['-r', root, '-i', id2, '-s', join(dir, 'nobody.sock'), '-4', '10.0.0.1/24', 'true'], /cannot reach containet at .*nobody\.sock/, 1, `${root}-${id2}`);

    // A live identity is refused, the first container is untouched.
    const id3 = uniqueName('dup');
    const first = startContainode(cleanup, ['-i', id3, 'sh', '-c', 'echo up; sleep 30']);
    await waitFor(() => first.out().includes('up'), 'the first container', 10_000);
    const r = await containode(['-i', id3, 'true']);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`identity ${id3} is already running`));
    assert.ok(readRecord(id3), 'the running container keeps its record');
    first.child.kill('SIGKILL');
    await first.exit;
    await waitFor(() => !recordIds().includes(id3), 'the record to go with the container', 3000);
    // Its identity is free again.
    assert.is((await containode(['-i', id3, 'true'])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'a stale record (dead pid) does not block its identity', async () => {
  const id = uniqueName('stale');
  const store = containodeStore();
  // pid 2^22+1 is beyond pid_max defaults: never alive.
  assert.is(store.claim({ id, runtime: 'containode', pid: 4194305, pidStart: 1, command: ['x'], addresses: [], created: new Date().toISOString(), status: 'running' }, { replaceStale: true }), undefined);
  assert.ok(existsSync(store.file(id)));
  const r = await containode(['-i', id, 'true']);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(store.dir(id)), 'the record and its directory went with the container');
});

test.run();

