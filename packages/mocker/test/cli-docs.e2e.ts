/**
 * mocker's completion scripts and man page as a user meets them: bash and
 * zsh complete every command and flag of the commander program the CLI
 * parses with, and the images of the store (--store or CONTAINET_IMAGES)
 * after a real pull; the man page renders without a warning and names
 * every command, option and exit status of the README's table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Cleanup, bashComplete, checkCliDocs, generateCliDocs, readmeExitTable, run, testIf, whyMissing, zshComplete } from '@containet/common/testing';
import { program } from '../src/cli.js';
import { EXIT_STATUS } from '../src/manual.js';
import { pushImage, startRegistry } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const missing = whyMissing('bash', 'zsh', 'man', 'groff');

function flagsOf(cmd: Command): string[] {
  return [...cmd.options.flatMap((o) => [o.short, o.long].filter((n): n is string => n !== undefined)), '-h', '--help'];
}

testIf(test, missing, 'bash and zsh complete every command and flag; the man page names them and the exit statuses', async () => {
  const prog = program(() => {});
  const global = flagsOf(prog);
  const commands: Record<string, string[]> = {};
  const helps = prog.options.map((o) => ({ what: `mocker ${o.flags}`, help: o.description }));
  for (const cmd of prog.commands) {
    // the program's options are taken after a command too (--store)
    for (const name of [cmd.name(), ...cmd.aliases()]) commands[name] = [...new Set([...flagsOf(cmd), ...global])];
    helps.push({ what: `mocker ${cmd.name()}`, help: cmd.description() }, ...cmd.options.map((o) => ({ what: `mocker ${cmd.name()} ${o.flags}`, help: o.description })));
    helps.push(...cmd.registeredArguments.map((a) => ({ what: `mocker ${cmd.name()} <${a.name()}>`, help: a.description })));
  }
  const table = readmeExitTable(readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8'), '## Errors and exit status');
  assert.equal(table, EXIT_STATUS, 'the man page has the README table of exit statuses');
  const docs = await generateCliDocs([process.execPath, MOCKER]);
  try {
    const problems = await checkCliDocs(docs, { name: 'mocker', flags: global, commands, helps }, table);
    assert.equal(problems, []);
  } finally {
    docs.remove();
  }
});

testIf(test, missing ?? whyMissing('docker-registry'), 'the images of the store are completed where mocker takes one of its own', async () => {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    await pushImage(reg.url, 'test/complete', 'v1', { layers: [{ entries: [{ name: 'hello', data: Buffer.from('hi\n') }] }], config: {} });
    const store = mkdtempSync(join(tmpdir(), 'mocker-cmpl-store-'));
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const image = `${reg.host}/test/complete:v1`;
    const pulled = await run(process.execPath, [MOCKER, '--store', store, 'pull', '-q', image], { timeoutMs: 60_000 });
    assert.is(pulled.code, 0, pulled.stderr);
    const docs = await generateCliDocs([process.execPath, MOCKER]);
    c.add('remove the generated files', () => docs.remove());
    const bash = (line: string, env: NodeJS.ProcessEnv = process.env) => bashComplete(docs.bash, 'mocker', line, env);
    assert.equal(await bash(`mocker --store ${store} rm `), [image]);
    assert.equal(await bash(`mocker inspect --store=${store} 127`), [image]);
    assert.equal(await bash('mocker rmi ', { ...process.env, CONTAINET_IMAGES: store }), [image]);
    // bash replaces what follows the last colon: the replies say the rest
    assert.equal(await bash(`mocker --store ${store} save ${reg.host}/test/complete:`), ['v1']);
    assert.equal(await bash(`mocker --store ${store} pull `), [], 'pull names a registry reference, not the store\'s');
    assert.equal(await bash('mocker completion '), ['bash', 'zsh', 'man']);
    assert.ok((await zshComplete(docs.zsh, `mocker --store ${store} unpack `)).includes(image));
  } finally {
    await c.run();
  }
});

test.run();
