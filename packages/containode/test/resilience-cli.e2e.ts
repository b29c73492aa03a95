/**
 * Bad input on the command line: every program refuses an
 * invalid option value with exit status 2 and one line naming the value,
 * before it creates anything (no socket file, no record). Table-driven over
 * containet, containode, containode-oci and mocker.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, testIf, whyNoRoot } from '@containet/common/testing';
import { CONTAINET, CONTAINODE } from './helpers.js';

const OCI = fileURLToPath(new URL('../../bin/containode-oci.cjs', import.meta.url));
const MOCKER = fileURLToPath(new URL('../../../mocker/bin/mocker.cjs', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cnode-cli-'));
const state = join(work, 'state');
const sock = join(work, 'sw.sock');
test.after(() => rmSync(work, { recursive: true, force: true }));

/** [program, args, the text the message must name]. */
const CASES: Array<[string, string[], string]> = [
  [CONTAINET, ['-s', sock, '--mac-age', '-5'], '-5'],
  [CONTAINET, ['-s', sock, '--mac-age', 'soon'], 'soon'],
  [CONTAINET, ['-s', sock, '--mac-table-size', '0'], '0'],
  [CONTAINET, ['-s', sock, '--mac-table-size', 'many'], 'many'],
  [CONTAINET, ['-s', sock, '--mac-table-size', '99999999999'], '99999999999'],
  [CONTAINET, ['-s', sock, '--listen', 'nowhere'], 'nowhere'],
  [CONTAINET, ['-s', sock, '--listen', '127.0.0.1:99999'], '99999'],
  [CONTAINET, ['-s', sock, '--host', '10.0.0.300/24'], '10.0.0.300/24'],
  [CONTAINET, ['-s', sock, '--host', '10.0.0.1/40'], '10.0.0.1/40'],
  [CONTAINET, ['-s', sock, '--group', 'no-such-group-xyz'], 'no-such-group-xyz'],
  [CONTAINET, ['-s', sock, '--vxlan', '99999999', '--vxlan-local', '127.0.0.1'], '99999999'],
  [CONTAINET, ['-s', sock, '--vxlan', '5', '--vxlan-local', '127.0.0.1', '--vxlan-remote', 'far-away:x'], 'far-away:x'],
  [CONTAINET, ['-s', sock, '--vxlan', '5', '--vxlan-local', '127.0.0.1', '--vxlan-mtu', '10'], '10'],
  [CONTAINET, ['-s', sock, '--nat'], '--nat'],
  [CONTAINODE, ['-4', '10.0.0.999', '-s', sock, 'true'], '10.0.0.999'],
  [CONTAINODE, ['-4', '10.0.0.1/33', '-s', sock, 'true'], '10.0.0.1/33'],
  [CONTAINODE, ['-6', 'fe80::zz/64', '-s', sock, 'true'], 'fe80::zz/64'],
  [CONTAINODE, ['-g', 'gateway', '-s', sock, '-4', '10.0.0.2/24', 'true'], 'gateway'],
  [CONTAINODE, ['-i', 'bad/identity', 'true'], 'bad/identity'],
  [CONTAINODE, ['-e', 'NOEQUALS', 'true'], 'NOEQUALS'],
  [CONTAINODE, ['-w', 'relative/dir', 'true'], 'relative/dir'],
  [CONTAINODE, ['--memory', 'lots', 'true'], 'lots'],
  [CONTAINODE, ['--cpus', '-1', 'true'], '-1'],
  [CONTAINODE, ['--pids-limit', 'x', 'true'], 'x'],
  [CONTAINODE, ['--cap-add', 'CAP_FLY', 'true'], 'CAP_FLY'],
  [CONTAINODE, ['-p', '99999:80', '-s', sock, '-4', '10.0.0.2/24', 'true'], '99999'],
  [CONTAINODE, ['-p', '8080:80/sctp', '-s', sock, '-4', '10.0.0.2/24', 'true'], 'sctp'],
  [CONTAINODE, ['kill', 'someone', 'SIGFOO'], 'SIGFOO'],
  [CONTAINODE, ['stop', 'someone', '--time', 'later'], 'later'],
  [CONTAINODE, ['cleanup', '--min-age', '-1'], '-1'],
  [MOCKER, ['pull', 'UPPER/Case:tag'], 'UPPER/Case:tag'],
  [MOCKER, ['pull', 'busybox:bad tag'], 'busybox:bad tag'],
  [MOCKER, ['inspect', 'busybox@sha256:nothex'], 'sha256:nothex'],
];

/** What a refused run must not have made. */
function leftovers(): string[] {
  const left: string[] = [];
  if (existsSync(sock)) left.push(sock);
  const records = join(state, 'containers');
  if (existsSync(records)) left.push(...readdirSync(records).map((n) => join(records, n)));
  return left;
}

testIf(test, whyNoRoot(), 'every CLI refuses invalid option values: exit 2, one line naming the value, nothing created', async () => {
  const bad: string[] = [];
  for (const [program, args, names] of CASES) {
    const r = await run(process.execPath, [program, ...args], {
      timeoutMs: 20_000,
      env: { ...process.env, CONTAINET_STATE: state, CONTAINET_IMAGES: join(work, 'images') },
    });
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    const what = `${program.split('/').pop()} ${args.join(' ')}`;
    if (r.code !== 2) bad.push(`${what}: exit ${r.code} (${r.stderr.trim().split('\n')[0] ?? ''})`);
    else if (!r.stderr.includes(names)) bad.push(`${what}: the message does not name ${names}: ${r.stderr.trim()}`);
    else if (lines.filter((l) => !/^\s*(hint|try|use|see)\b/i.test(l)).length > 2 || /\n\s+at /.test(r.stderr)) bad.push(`${what}: not a short message: ${r.stderr.trim()}`);
    const left = leftovers();
    if (left.length) {
      bad.push(`${what}: left ${left.join(', ')}`);
      for (const p of left) rmSync(p, { force: true, recursive: true });
    }
  }
  assert.equal(bad, [], `${bad.length} of ${CASES.length} cases`);
});

testIf(test, whyNoRoot(), 'containode-oci refuses invalid values the same way', async () => {
  const cases: Array<[string[], string]> = [
    [['kill', 'nobody', 'SIGFOO'], 'SIGFOO'],
    [['state', 'nobody'], 'nobody'],
    [['create', '--bundle', join(work, 'no-bundle'), 'c1'], 'no-bundle'],
    [['--log-format', 'xml', 'list'], 'xml'],
  ];
  const bad: string[] = [];
  for (const [args, names] of cases) {
    const r = await run(process.execPath, [OCI, ...args], { timeoutMs: 20_000, env: { ...process.env, CONTAINET_STATE: state } });
    const what = `containode-oci ${args.join(' ')}`;
    if (r.code === 0) bad.push(`${what}: exit 0`);
    else if (!r.stderr.includes(names)) bad.push(`${what}: the message does not name ${names}: ${r.stderr.trim()}`);
    else if (/\n\s+at /.test(r.stderr)) bad.push(`${what}: a stack trace`);
  }
  assert.equal(bad, [], `${bad.length} of ${cases.length} cases`);
});

testIf(test, whyNoRoot(), 'containode -r with an unusable root filesystem: a clear error naming it, nothing left behind', async () => {
  const file = join(work, 'root-is-a-file');
  writeFileSync(file, 'not a directory');
  const missing = join(work, 'no-such-root');
  const empty = join(work, 'empty-root');
  mkdirSync(empty);
  const bad: string[] = [];
  for (const [root, names] of [[file, file], [missing, missing], [empty, 'sh']] as const) {
    const top = join(work, `top-${root.split('/').pop()}`);
    const id = `rbad${Math.floor(Math.random() * 1e6)}`;
    const r = await run(process.execPath, [CONTAINODE, '-i', id, '-r', root, '-t', top, '--pids-limit', '10', 'sh', '-c', 'true'], {
      timeoutMs: 20_000,
      env: { ...process.env, CONTAINET_STATE: state },
    });
    const what = `-r ${root}`;
    if (r.code === 0) bad.push(`${what}: exit 0`);
    else if (!r.stderr.includes(names)) bad.push(`${what}: the message does not name ${names}: ${r.stderr.trim()}`);
    else if (/\n\s+at /.test(r.stderr) || r.stderr.trim().split('\n').length > 2) bad.push(`${what}: not a short message: ${r.stderr.trim()}`);
    if (existsSync(top)) bad.push(`${what}: left its top directory ${top}`);
    const left = leftovers();
    if (left.length) bad.push(`${what}: left ${left.join(', ')}`);
    const cgroups = ['/sys/fs/cgroup/pids/containet', '/sys/fs/cgroup/unified/containet', '/sys/fs/cgroup/containet'].map((d) => join(d, id)).filter((d) => existsSync(d));
    if (cgroups.length) bad.push(`${what}: left cgroups ${cgroups.join(', ')}`);
  }
  assert.ok(existsSync(file) && existsSync(empty), 'the given paths themselves are untouched');
  assert.equal(bad, []);
});

test.run();
