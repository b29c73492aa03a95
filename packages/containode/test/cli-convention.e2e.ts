/**
 * containode's command line from a user's side: the explicit `run` form,
 * management verbs refused in the bare form (they run nothing), Docker's
 * `-it`, --name and --tty, exec -it, the one message without root,
 * --version, parse errors (one `containode:` line, a hint, exit 2) for
 * every command, --json on listings, and the bash completion script.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, run, testIf, uniqueName, waitFor, whyNoRoot } from '@containet/common/testing';
import { containodeStore } from '@containet/containode';
import { CONTAINODE, containode, recordIds, startContainode, tempDir } from './helpers.js';

const noRoot = whyNoRoot();
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-cli-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

const VERBS = ['rm', 'rmi', 'logs', 'start', 'restart', 'top', 'stats', 'images', 'pull', 'push', 'build', 'attach', 'cp', 'create', 'port', 'wait', 'rename', 'commit', 'diff', 'events', 'history', 'info', 'login', 'network', 'volume', 'system', 'update', 'version'];
const COMMANDS = ['ps', 'exec', 'stop', 'kill', 'inspect', 'cleanup', 'logs', 'wait', 'rm', 'completion', 'run'];
/** Verbs that are containode's own commands (about containers). */
const MANAGED = ['rm', 'logs', 'wait'];

function oneErrorLine(stderr: string, what: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 2, stderr);
  assert.match(lines[0]!, what);
  if (lines[1] !== undefined) assert.match(lines[1], /^containode: hint: /);
}

testIf(test, noRoot, 'a management verb as the first word runs nothing; run -- VERB runs the program', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup);
    const file = join(dir, 'victim');
    writeFileSync(file, 'keep');
    for (const verb of VERBS) {
      const r = await containode([verb, ...(verb === 'rm' ? ['-f', file] : [file])]);
      assert.is(r.stdout, '');
      if (MANAGED.includes(verb)) {
        // containode's own rm, logs and wait: about containers, never files
        assert.is(r.code, 2, `${verb}: ${r.stderr}`);
        oneErrorLine(r.stderr, /^containode: invalid container identity /);
        continue;
      }
      assert.is(r.code, 2, `${verb}: ${r.stderr}`);
      oneErrorLine(r.stderr, new RegExp(`^containode: ${verb} is not a containode command`));
    }
    const rmId = await containode(['rm', 'nosuchcontainer']);
    assert.is(rmId.code, 1);
    oneErrorLine(rmId.stderr, /^containode: no container nosuchcontainer$/);
    // Also after options in the bare form; the hint names the explicit form.
    const withOpts = await containode(['-N', 'rm', file]);
    assert.is(withOpts.code, 2);
    assert.match(withOpts.stderr, /containode run \[OPTIONS\] -- rm/);
    assert.ok(existsSync(file), 'the refused rm removed nothing');
    assert.equal(recordIds(), []);
    const ran = await containode(['run', '-N', '--', 'rm', file]);
    assert.is(ran.code, 0, ran.stderr);
    assert.not.ok(existsSync(file), 'containode run -- rm FILE removes FILE');
    // The bare original form still runs programs.
    const bare = await containode(['-N', 'sh', '-c', 'echo bare; exit 3']);
    assert.is(bare.code, 3);
    assert.is(bare.stdout, 'bare\n');
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, '-it is refused with the reason; --name names the container; --tty gives it a pty', async () => {
  for (const word of ['-it', '-ti', '-itd']) {
    const r = await containode([word, '-N', 'true']);
    assert.is(r.code, 2, r.stderr);
    oneErrorLine(r.stderr, new RegExp(`^containode: ${word}: -i takes the container's identity here`));
    const explicit = await containode(['run', word, '-N', 'true']);
    assert.is(explicit.code, 2, explicit.stderr);
  }
  assert.equal(recordIds(), []);
  const id = uniqueName('nm');
  const named = await containode(['--name', id, '-N', 'hostname']);
  assert.is(named.code, 0, named.stderr);
  assert.is(named.stdout, `${id}\n`);
  const twice = await containode(['--name', id, '-i', 'other', '-N', 'true']);
  assert.is(twice.code, 2);
  const tty = await containode(['run', '--tty', '-N', 'sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty']);
  assert.is(tty.code, 0, tty.stderr);
  assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?\n/);
  assert.match(tty.stdout, /stdin-is-a-tty/);
});

testIf(test, noRoot, 'exec -it ID sh runs a shell on a pty of the container', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('exit');
    startContainode(cleanup, ['-i', id, '-N', 'sleep', '30']);
    await waitFor(() => containodeStore().read(id)?.status === 'running', `${id} to run`, 10_000);
    const r = await containode(['exec', '-it', id, 'sh', '-c', 'tty; hostname']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^/dev/pts/\\d+\\r?\\n${id}\\r?\\n`));
    assert.is((await containode(['kill', id, 'KILL'])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, 'without root every command says so in one line and exits 1', async () => {
  const cleanup = new Cleanup();
  try {
    const file = join(tempDir(cleanup), 'f');
    writeFileSync(file, 'keep');
    const asNobody = (args: string[]) =>
      run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CONTAINODE, ...args], { timeoutMs: 30_000 });
    const cases = [['-N', 'true'], ['run', '-N', '--', 'rm', file], ['ps'], ['ps', '-a', '--json'], ['exec', 'x', 'sh'], ['stop', 'x'], ['kill', 'x'], ['inspect', 'x'], ['cleanup'], ['logs', 'x'], ['wait', 'x'], ['rm', '-f', 'x'], ['run', '-d', '-N', 'true']];
    for (const args of cases) {
      const r = await asNobody(args);
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.is(r.stderr, 'containode: needs root (namespaces, taps, cgroups): run it with sudo\n', args.join(' '));
    }
    assert.ok(existsSync(file));
    // Nothing that needs root: the version, help and the completion script.
    assert.is((await asNobody(['--version'])).code, 0);
    assert.is((await asNobody(['completion', 'bash'])).code, 0);
  } finally {
    await cleanup.run();
  }
});

testIf(test, noRoot, '--version; parse errors are one containode: line, a hint and exit 2 for every command', async () => {
  const v = await containode(['--version']);
  assert.is(v.code, 0);
  assert.match(v.stdout, /^containode \d+\.\d+\.\d+\n$/);
  for (const cmd of ['', ...COMMANDS]) {
    const args = cmd ? [cmd, '--bogus'] : ['--bogus'];
    const r = await containode(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '');
    oneErrorLine(r.stderr, /^containode: unknown option '--bogus'$/);
    assert.match(r.stderr, new RegExp(`hint: see containode${cmd ? ` ${cmd}` : ''} --help`));
  }
  for (const args of [['inspect'], ['exec', 'x'], ['stop'], ['completion', 'fish'], ['kill', 'x', 'NOSUCH']]) {
    const r = await containode(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^containode: /);
    assert.not.match(r.stderr, /error:|at .*\.js/);
  }
  const help = await containode(['ps', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /--json/);
});

testIf(test, noRoot, '--json on every listing and inspect command', async () => {
  const cleanup = new Cleanup();
  try {
    const id = uniqueName('js');
    startContainode(cleanup, ['-i', id, '-N', 'sleep', '30']);
    await waitFor(() => containodeStore().read(id)?.status === 'running', `${id} to run`, 10_000);
    const ps = await containode(['ps', '--json']);
    assert.ok((JSON.parse(ps.stdout) as { id: string }[]).some((r) => r.id === id));
    const all = await containode(['ps', '-a', '--json']);
    assert.ok((JSON.parse(all.stdout) as { id: string }[]).some((r) => r.id === id));
    const inspect = await containode(['inspect', '--json', id]);
    assert.is((JSON.parse(inspect.stdout) as { id: string }).id, id);
    const report = await containode(['cleanup', '--json', '--dry-run', join(tempDir(cleanup), 'none.sock')]);
    assert.is(report.code, 0, report.stderr);
    JSON.parse(report.stdout);
    assert.is((await containode(['kill', id, 'KILL'])).code, 0);
  } finally {
    await cleanup.run();
  }
});

test('the bash completion script loads and completes commands, options and identities', async () => {
  const cleanup = new Cleanup();
  try {
    const script = join(tempDir(cleanup), 'containode.bash');
    const gen = await containode(['completion', 'bash']);
    assert.is(gen.code, 0, gen.stderr);
    writeFileSync(script, gen.stdout);
    const state = tempDir(cleanup);
    const id = uniqueName('cmpl');
    rmSync(join(state, 'containers'), { recursive: true, force: true });
    await run('mkdir', ['-p', join(state, 'containers', id)]);
    const complete = async (words: string[]) => {
      const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _containode; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = await run('bash', ['-c', line], { env: { ...process.env, CONTAINET_STATE: state } });
      assert.is(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n');
    };
    assert.equal(await complete(['containode', 'ex']), ['exec']);
    assert.equal(await complete(['containode', 'ps', '--j']), ['--json']);
    assert.ok((await complete(['containode', 'exec', '-']))[0] !== undefined);
    assert.ok((await complete(['containode', 'exec', '-'])).includes('--tty'));
    assert.ok((await complete(['containode', '--na'])).includes('--name'));
    assert.equal(await complete(['containode', 'inspect', id.slice(0, 4)]), [id]);
    const loaded = await run('bash', ['-c', `source ${script}; complete -p containode`]);
    assert.match(loaded.stdout, /-F _containode containode/);
  } finally {
    await cleanup.run();
  }
});

test.run();
