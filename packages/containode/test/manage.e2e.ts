/**
 * Managing running containers (without --image): ps, exec, stop,
 * kill and inspect against real containers on a real containet switch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containodeStore } from '@containet/containode';

const readRecord = (id: string) => containodeStore().read(id);
import { CONTAINET, CONTAINODE, containode, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

async function startSwitch(cleanup: Cleanup): Promise<string> {
  const sock = join(tempDir(cleanup), 'sw.sock');
  const sw = start(process.execPath, [CONTAINET, '-s', sock]);
  cleanup.add('containet', () => killAndWait(sw));
  await waitFor(() => existsSync(sock), 'containet to listen', 10_000);
  return sock;
}

function running(id: string) {
  return waitFor(() => readRecord(id)?.status === 'running', `${id} to run`, 10_000);
}

interface PsRow {
  id: string;
  pid: number;
  addresses: string[];
  status: string;
}

async function ps(): Promise<PsRow[]> {
  const r = await containode(['ps', '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as PsRow[];
}

testIf(test, noRoot ?? noContainet, 'ps lists running containers with identities and addresses; they leave on exit and on SIGKILL', async () => {
  const cleanup = new Cleanup();
  try {
    const sock = await startSwitch(cleanup);
    const a = uniqueName('psa');
    const b = uniqueName('psb');
    const ca = startContainode(cleanup, ['-i', a, '-s', sock, '-4', '10.66.0.1/24', 'sleep', '30']);
    const cb = startContainode(cleanup, ['-i', b, '-s', sock, '-4', '10.66.0.2/24', 'sleep', '30']);
    await running(a);
    await running(b);
    const rows = await ps();
    assert.equal(rows.map((r) => [r.id, r.addresses, r.status]).sort(), [[a, ['10.66.0.1/24'], 'running'], [b, ['10.66.0.2/24'], 'running']].sort());
    const table = await containode(['ps']);
    assert.match(table.stdout, /^ID\s+PID\s+STATUS\s+CREATED\s+ADDRESSES\s+ROOT\s+COMMAND$/m);
    assert.match(table.stdout, new RegExp(`^${a}\\s+\\d+\\s+running\\s+.*10\\.66\\.0\\.1/24.*sleep 30$`, 'm'));
    ca.child.kill('SIGKILL');
    await ca.exit;
    await waitFor(async () => (await ps()).length === 1, 'the SIGKILLed container to leave ps', 3000);
    assert.is((await containode(['kill', b, 'KILL'])).code, 0);
    assert.is(await cb.exit, 137);
    assert.equal(await ps(), []);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? noContainet, 'exec runs inside: the container\'s hostname, /proc, network, root and environment', async () => {
  const cleanup = new Cleanup();
  try {
    const sock = await startSwitch(cleanup);
    const id = uniqueName('ex');
    startContainode(cleanup, ['-i', id, '-s', sock, '-4', '10.67.0.1/24', '-e', 'MARK=inside', 'sleep', '30']);
    await running(id);
    const r = await containode(['exec', id, 'sh', '-c', 'hostname; echo $MARK; cat /proc/1/cmdline | tr "\\0" " "; echo; ip -o -4 addr show eth0 | cut -d" " -f7; echo $$']);
    assert.is(r.code, 0, r.stderr);
    const [host, mark, cmd, addr, pid] = r.stdout.split('\n');
    assert.is(host, id);
    assert.is(mark, 'inside');
    assert.is(cmd!.trim(), 'sleep 30', 'PID 1 of its /proc is the container\'s program');
    assert.is(addr, '10.67.0.1/24');
    assert.ok(Number(pid) < 20, `a pid of the container's namespace, got ${pid}`);
    assert.is((await containode(['exec', id, 'sh', '-c', 'exit 5'])).code, 5, 'exit status passes through');
    const nf = await containode(['exec', id, 'no-such-program']);
    assert.is(nf.code, 127);
    assert.match(nf.stderr, /no-such-program: program not found/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot ?? whyMissing('script', 'stty'), 'exec -t gives the program a terminal of the container, with the size of ours', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('tty');
    startContainode(cleanup, ['-i', id, 'sleep', '30']);
    await running(id);
    // script(1) gives exec a terminal of its own; stty sets that one's size.
    const r = await run('script', ['-qec', `stty rows 33 cols 101; ${process.execPath} ${CONTAINODE} exec -t ${id} sh -c 'tty; echo size $(stty size); exit 3'`, '/dev/null'], { timeoutMs: 15_000 });
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, 'size 33 101');
    assert.is(r.code, 3);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'stop ends a container that ignores SIGTERM within the timeout; kill delivers a signal; inspect shows it', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('stop');
    const c = startContainode(cleanup, ['-i', id, 'sh', '-c', 'trap "" TERM; trap "exit 9" USR1; while :; do sleep 0.1; done']);
    await running(id);
    const info = await containode(['inspect', id]);
    assert.is(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { id: string; pid: number; namespaces: Record<string, string> };
    assert.is(parsed.id, id);
    assert.match(parsed.namespaces['pid']!, /^pid:\[\d+\]$/);
    const t0 = Date.now();
    const s = await containode(['stop', '--time', '1', id]);
    assert.is(s.code, 0, s.stderr);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 4000, `stopped after the 1 s grace, took ${took} ms`);
    assert.is(await c.exit, 137);

    const id2 = uniqueName('kill');
    const c2 = startContainode(cleanup, ['-i', id2, 'sh', '-c', 'trap "exit 9" USR1; while :; do sleep 0.1; done']);
    await running(id2);
    assert.is((await containode(['kill', id2, 'SIGUSR1'])).code, 0);
    assert.is(await c2.exit, 9);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'management commands refuse unknown containers and bad signals', async () => {
  const missing = await containode(['exec', 'no-such-container', 'true']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /no running container no-such-container/);
  for (const cmd of [['kill', 'nope'], ['stop', 'nope'], ['inspect', 'nope']]) {
    const r = await containode(cmd);
    assert.is(r.code, 1);
    assert.match(r.stderr, /no running container nope/);
  }
  const badSig = await containode(['kill', 'x', 'SIGNOPE']);
  assert.is(badSig.code, 2);
  assert.match(badSig.stderr, /invalid signal SIGNOPE/);
});

test.run();
