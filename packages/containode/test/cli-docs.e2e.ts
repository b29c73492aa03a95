/**
 * containode's and containode-oci's completion scripts and man pages as a
 * user meets them: `completion bash` loads in bash and completes every
 * command and flag of the definitions the parsers use, container
 * identities from the record store and images from mocker's store;
 * `completion zsh` loads after compinit and completes the same through a
 * real zsh; `completion man` renders without a warning and names every
 * command, option and exit status of the README's table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Cleanup, bashComplete, checkCliDocs, generateCliDocs, readmeExitTable, testIf, uniqueName, whyMissing, zshComplete } from '@containet/common/testing';
import { MANAGEMENT, managementProgram, runProgram } from '../src/cli.js';
import { EXIT_STATUS } from '../src/manual.js';
import { GLOBAL_OPTIONS, type OptionDef } from '../src/oci/args.js';
import { COMMANDS } from '../src/oci/commands/index.js';
import { EXIT_STATUS as OCI_EXIT_STATUS } from '../src/oci/manual.js';
import { CONTAINODE, tempDir } from './helpers.js';

const OCI = fileURLToPath(new URL('../../bin/containode-oci.cjs', import.meta.url));
const missing = whyMissing('bash', 'zsh', 'man', 'groff');
const noop = () => {};

/** The flags commander parses for a command (its implicit -h/--help too). */
function flagsOf(cmd: Command): string[] {
  return [...cmd.options.flatMap((o) => [o.short, o.long].filter((n): n is string => n !== undefined)), '-h', '--help'];
}

function helpsOf(what: string, cmd: Command): { what: string; help: string }[] {
  return cmd.options.map((o) => ({ what: `${what} ${o.flags}`, help: o.description }));
}

function readme(path: string): string {
  return readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
}

testIf(test, missing, 'containode: bash and zsh complete every command and flag; the man page names them and the exit statuses', async () => {
  const commands: Record<string, string[]> = { run: flagsOf(runProgram(noop, 'run')) };
  const helps = helpsOf('containode', runProgram(noop));
  for (const name of Object.keys(MANAGEMENT)) {
    const cmd = managementProgram(name, noop).commands[0]!;
    commands[name] = flagsOf(cmd);
    helps.push(...helpsOf(`containode ${name}`, cmd));
    if (name !== 'completion') helps.push({ what: `containode ${name}`, help: (await MANAGEMENT[name]!()).help });
  }
  const table = readmeExitTable(readme('../../README.md'), '## The command line');
  assert.equal(table, EXIT_STATUS, 'the man page has the README table of exit statuses');
  const docs = await generateCliDocs([process.execPath, CONTAINODE]);
  try {
    const problems = await checkCliDocs(docs, { name: 'containode', flags: [...flagsOf(runProgram(noop)), '--version'], commands, helps }, table);
    assert.equal(problems, []);
  } finally {
    docs.remove();
  }
});

testIf(test, missing, 'containode: identities from the record store, images from the store, programs after the container', async () => {
  const cleanup = new Cleanup();
  const docs = await generateCliDocs([process.execPath, CONTAINODE]);
  cleanup.add('remove the generated files', () => docs.remove());
  try {
    const state = tempDir(cleanup);
    const store = tempDir(cleanup);
    const id = uniqueName('cmpl');
    mkdirSync(`${state}/containers/${id}`, { recursive: true });
    mkdirSync(`${state}/containers/other-${id}`, { recursive: true });
    // an OCI layout index as mocker writes it: one line, full references in ref.name
    const ref = (name: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 1, annotations: { 'org.opencontainers.image.ref.name': name } });
    writeFileSync(`${store}/index.json`, `${JSON.stringify({ schemaVersion: 2, manifests: [ref('docker.io/library/alpine:3.20'), ref('127.0.0.1:5000/team/app:1')] })}\n`);
    const env = { ...process.env, CONTAINET_STATE: state, CONTAINET_IMAGES: store };
    const bash = (line: string) => bashComplete(docs.bash, 'containode', line, env);
    assert.equal(await bash(`containode inspect ${id.slice(0, 6)}`), [id]);
    assert.equal((await bash('containode rm -f ')).sort(), [id, `other-${id}`].sort());
    assert.equal(await bash(`containode logs -f ${id.slice(0, 6)}`), [id]);
    assert.ok((await bash(`containode exec ${id} s`)).includes('sh'), 'the program after the identity: a command name');
    assert.equal(await bash(`containode exec ${id} sh --`), [], 'the program\'s own arguments are not ours');
    assert.equal(await bash('containode run -- rm --'), []);
    assert.equal((await bash('containode --image ')).sort(), ['127.0.0.1:5000/team/app:1', 'alpine:3.20', 'docker.io/library/alpine:3.20'].sort());
    // bash replaces what follows the last colon: the replies say the rest
    assert.equal(await bash('containode run --image alpine:3'), ['3.20']);
    assert.equal(await bash(`containode --image=alp`), ['alpine:3.20']);
    assert.equal(await bash('containode completion '), ['bash', 'zsh', 'man']);
    const zsh = (line: string) => zshComplete(docs.zsh, line, env);
    assert.ok((await zsh(`containode inspect ${id.slice(0, 6)}`)).includes(id));
    assert.ok((await zsh('containode --image ')).includes('alpine:3.20'));
    assert.ok((await zsh('containode completion ')).includes('zsh'));
  } finally {
    await cleanup.run();
  }
});

/** containode-oci's flags in the double-dash form completion offers. */
function ociFlags(defs: readonly OptionDef[]): string[] {
  return [...defs.flatMap((d) => [...(d.short ? [`-${d.short}`] : []), `--${d.name}`])];
}

testIf(test, missing, 'containode-oci: bash and zsh complete every command and flag of its runc tables; the man page (section 8) names them', async () => {
  const commands: Record<string, string[]> = {};
  const helps = GLOBAL_OPTIONS.map((d) => ({ what: `containode-oci --${d.name}`, help: d.help }));
  for (const [name, load] of Object.entries(COMMANDS)) {
    if (name.startsWith('__')) continue;
    const mod = await load();
    commands[name] = [...ociFlags(mod.options), '-h', '--help'];
    helps.push(...mod.options.map((d) => ({ what: `containode-oci ${name} --${d.name}`, help: d.help })), { what: `containode-oci ${name}`, help: mod.help });
  }
  const table = readmeExitTable(readme('../../../../README.md'), '### containode-oci');
  assert.equal(table, OCI_EXIT_STATUS);
  const cleanup = new Cleanup();
  const docs = await generateCliDocs([process.execPath, OCI]);
  cleanup.add('remove the generated files', () => docs.remove());
  try {
    assert.match(readFileSync(docs.man, 'utf8'), /^\.TH CONTAINODE\\-OCI 8 /m);
    const problems = await checkCliDocs(docs, { name: 'containode-oci', flags: ociFlags(GLOBAL_OPTIONS), commands, helps }, table);
    assert.equal(problems, []);
    const root = tempDir(cleanup);
    const id = uniqueName('oci');
    mkdirSync(`${root}/${id}`);
    assert.equal(await bashComplete(docs.bash, 'containode-oci', `containode-oci --root ${root} state ${id.slice(0, 5)}`), [id]);
    assert.equal(await bashComplete(docs.bash, 'containode-oci', `containode-oci --root=${root} kill -a ${id.slice(0, 5)}`), [id]);
    assert.ok((await zshComplete(docs.zsh, `containode-oci --root ${root} delete ${id.slice(0, 5)}`)).includes(id));
  } finally {
    await cleanup.run();
  }
});

test.run();
