/**
 * containet's completion scripts and man page as a user meets them: bash
 * and zsh complete every command and flag of the commander program the CLI
 * parses with, and ports and nodes of a running switch (from `containet
 * ports --json` on the socket given with -s); the man page renders without
 * a warning and names every command, option and exit status of the
 * README's table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Cleanup, bashComplete, checkCliDocs, generateCliDocs, makeNetns, readmeExitTable, renderMan, testIf, uniqueName, whyMissing, whyNoRoot, writeCliDocs, zshComplete } from '@containet/common/testing';
import { program } from '../src/cli.js';
import { EXIT_STATUS, describeContainet } from '../src/manual.js';
import { BIN, attach, startDaemon } from './helpers.js';

const missing = whyMissing('bash', 'zsh', 'man', 'groff');

function flagsOf(cmd: Command): string[] {
  return [...cmd.options.flatMap((o) => [o.short, o.long].filter((n): n is string => n !== undefined)), '-h', '--help'];
}

/** Every command (by its path, `lab deploy`) with its flags, and every help text, from the commander program. */
function definitions(prog: Command): { commands: Record<string, string[]>; helps: { what: string; help: string }[] } {
  const commands: Record<string, string[]> = {};
  const helps = prog.options.map((o) => ({ what: `${prog.name()} ${o.flags}`, help: o.description }));
  const walk = (cmd: Command, path: string[]) => {
    const key = path.join(' ');
    commands[key] = flagsOf(cmd);
    helps.push({ what: `${prog.name()} ${key}`, help: cmd.description() }, ...cmd.options.map((o) => ({ what: `${prog.name()} ${key} ${o.flags}`, help: o.description })));
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  for (const cmd of prog.commands) walk(cmd, [cmd.name()]);
  return { commands, helps };
}

testIf(test, missing, 'a command with commands of its own (as lab deploy): completed and documented from its definitions', async () => {
  const prog = new Command('demo').description('a demonstration').option('-s, --socket <path>', 'control socket');
  prog.command('ports').description('list the ports').option('--json', 'print JSON');
  const lab = prog.command('lab').description('labs from topology files');
  lab.command('deploy').description('start the lab').requiredOption('-t, --topo <file>', 'the topology file').option('--reconfigure', 'destroy it first');
  lab.command('exec').description('run a command in a node').argument('<node>', 'a node of the lab').argument('[command...]', 'the command').option('-t, --topo <file>', 'the topology file');
  const cli = { ...describeContainet(prog, '0.0.0'), name: 'demo' };
  const docs = writeCliDocs(cli);
  try {
    const { commands, helps } = definitions(prog);
    assert.equal(Object.keys(commands), ['ports', 'lab', 'lab deploy', 'lab exec']);
    assert.equal(await checkCliDocs(docs, { name: 'demo', flags: flagsOf(prog), commands, helps }, EXIT_STATUS), []);
    assert.equal(await bashComplete(docs.bash, 'demo', 'demo lab deploy --topo=/et'), ['/etc']);
    assert.equal(await bashComplete(docs.bash, 'demo', 'demo lab exec -t x --'), ['--topo', '--help'], 'exec\'s own options, not deploy\'s');
    assert.equal(await bashComplete(docs.bash, 'demo', 'demo lab d'), ['deploy']);
    // kinds are keyed by the whole path: lab exec's node is the lab's, the rest a program and its arguments
    assert.ok((await bashComplete(docs.bash, 'demo', 'demo lab exec -t x n1 s')).includes('sh'));
    assert.equal(await bashComplete(docs.bash, 'demo', 'demo lab exec -t x n1 sh --'), []);
    const page = await renderMan(docs.man);
    assert.match(page.text, /^ {3}lab deploy \[options\]$/m);
  } finally {
    docs.remove();
  }
});

testIf(test, missing, 'bash and zsh complete every command and flag; the man page names them and the exit statuses', async () => {
  const prog = program();
  const { commands, helps } = definitions(prog);
  const table = readmeExitTable(readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8'));
  assert.equal(table, EXIT_STATUS, 'the man page has the README table of exit statuses');
  const docs = await generateCliDocs([process.execPath, BIN]);
  try {
    const problems = await checkCliDocs(docs, { name: 'containet', flags: flagsOf(prog), commands, helps }, table);
    assert.equal(problems, []);
  } finally {
    docs.remove();
  }
});

testIf(test, missing ?? whyNoRoot(), 'ports and nodes of the switch on the -s socket are completed', async () => {
  const cleanup = new Cleanup();
  try {
    const docs = await generateCliDocs([process.execPath, BIN]);
    cleanup.add('remove the generated files', () => docs.remove());
    // `containet` on PATH is this tree's, as setup links it
    const bin = join(docs.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'containet'));
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
    const d = await startDaemon(cleanup);
    const ns = await makeNetns(cleanup, 'cncd');
    const nodeName = uniqueName('cmpl');
    const att = await attach(cleanup, d.socket, ns, nodeName, 'eth0');
    const bash = (line: string) => bashComplete(docs.bash, 'containet', line, env);
    assert.equal((await bash(`containet detach -s ${d.socket} `)).sort(), [String(att.port), nodeName, `${nodeName}:eth0`].sort());
    // bash replaces what follows the last colon: the replies say the rest
    assert.equal(await bash(`containet port set -s ${d.socket} ${nodeName}:`), ['eth0']);
    assert.equal(await bash(`containet undetach --socket=${d.socket} ${nodeName.slice(0, 6)}`), [nodeName]);
    assert.equal(await bash(`containet capture -s ${d.socket} ${att.port}`), [String(att.port)]);
    // no switch on the socket: nothing offered, no error
    assert.equal(await bash(`containet detach -s ${join(docs.dir, 'none.sock')} `), []);
    assert.equal(await bash('containet completion '), ['bash', 'zsh', 'man']);
    // the words an action takes, though the parser leaves them to the handler
    assert.equal(await bash('containet host '), ['add', 'del']);
    assert.equal(await bash(`containet port set ${att.port} --direction `), ['in', 'out', 'both']);
    const zsh = await zshComplete(docs.zsh, `containet detach -s ${d.socket} `, env);
    assert.ok(zsh.includes(nodeName) && zsh.includes(String(att.port)), zsh.join(' '));
  } finally {
    await cleanup.run();
  }
});

test.run();
