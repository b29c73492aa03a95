/**
 * The generators of @containet/common/cli-docs on a description with every
 * awkward character a help text may hold ([ ] : ' " \ ` and a leading dot):
 * the bash script parses and completes, the zsh script loads and shows the
 * texts, the man page renders without a warning and keeps the words.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { CliDescription } from '@containet/common/cli-docs';
import { bashComplete, bashCompleteSpec, manSection, renderMan, run, testIf, whyMissing, writeCliDocs, zshComplete, zshLoad } from '@containet/common/testing';

const AWKWARD = "a [bracketed] value: with 'quotes', \"double\", back\\slash and `code`";

const cli: CliDescription = {
  name: 'odd-tool',
  section: 1,
  version: '1.2.3',
  summary: 'a tool with odd help texts',
  description: ['First paragraph.', '.starts with a dot and \\ a backslash'],
  synopsis: ['[options] COMMAND'],
  options: [
    { short: '-s', long: '--socket', value: 'path', help: AWKWARD, kind: 'file' },
    { long: '--level', value: 'n', help: 'one of the levels', choices: ['low', 'high'] },
    { long: '--dry-run', help: 'say: nothing done' },
  ],
  operands: [],
  commands: [
    { name: 'show', aliases: ['sh'], help: AWKWARD, options: [{ short: '-a', long: '--all', help: 'all of them [really]' }], operands: [{ name: 'what', help: 'what: to show', required: true, variadic: false, choices: ['x', 'y'] }] },
    { name: 'do-it', aliases: [], help: 'Do it. More words.', options: [], operands: [{ name: 'program', help: 'a program', required: true, variadic: true, kind: 'program' }] },
  ],
  commandWord: 'after-options',
  optionsAnywhere: false,
  exitStatus: [{ name: '0', text: 'ok' }, { name: '2', text: 'usage: see `--help`' }],
  environment: [{ name: 'ODD_DEBUG', text: '1: more' }],
  files: [{ name: '/etc/odd.conf', text: 'settings' }],
  seeAlso: ['bash(1)', 'zshcompsys(1)'],
  live: {},
};

testIf(test, whyMissing('bash', 'zsh', 'man', 'groff'), 'awkward help texts survive bash, zsh and roff', async () => {
  const docs = writeCliDocs(cli);
  try {
    assert.is((await run('bash', ['-n', docs.bash])).code, 0);
    assert.match((await bashCompleteSpec(docs.bash, 'odd-tool')).spec, /-F _odd_tool odd-tool$/);
    assert.equal(await bashComplete(docs.bash, 'odd-tool', 'odd-tool '), ['show', 'sh', 'do-it']);
    assert.equal(await bashComplete(docs.bash, 'odd-tool', 'odd-tool --level '), ['low', 'high']);
    assert.equal(await bashComplete(docs.bash, 'odd-tool', 'odd-tool --level=h'), ['high']);
    assert.equal(await bashComplete(docs.bash, 'odd-tool', 'odd-tool --dry-run sh '), ['x', 'y']);
    assert.equal(await bashComplete(docs.bash, 'odd-tool', 'odd-tool show -'), ['-a', '--all']);
    assert.ok((await bashComplete(docs.bash, 'odd-tool', 'odd-tool do-it ls')).includes('ls'));
    const loaded = await zshLoad(docs.zsh, 'odd-tool');
    assert.is(loaded.stderr, '');
    assert.is(loaded.code, 0);
    assert.equal((await zshComplete(docs.zsh, 'odd-tool --')).sort(), ['--dry-run', '--level', '--socket'].sort());
    assert.equal((await zshComplete(docs.zsh, 'odd-tool show ')).sort(), ['x', 'y']);
    assert.equal((await zshComplete(docs.zsh, 'odd-tool --level ')).sort(), ['high', 'low']);
    // the texts reach zsh's listing intact
    assert.ok(readFileSync(docs.zsh, 'utf8').includes("--socket=[a \\[bracketed\\] value: with '\\''quotes'\\'', \"double\", back\\\\slash and `code`]"));
    const page = await renderMan(docs.man);
    assert.is(page.warnings, '');
    const flat = (section: string) => manSection(page.text, section).replace(/\s+/g, ' ');
    assert.ok(flat('DESCRIPTION').includes('.starts with a dot and \\ a backslash'), flat('DESCRIPTION'));
    assert.ok(flat('OPTIONS').includes('a [bracketed] value: with \'quotes\', "double", back\\slash and code'), flat('OPTIONS'));
    assert.match(manSection(page.text, 'COMMANDS'), /^ {3}show \[options\] WHAT$/m);
    assert.match(manSection(page.text, 'COMMANDS'), /\(also sh\)/);
    assert.match(manSection(page.text, 'EXIT STATUS'), /^ {7}2 +usage: see --help$/m);
    assert.match(page.text, /^SEE ALSO\n {7}bash\(1\), zshcompsys\(1\)$/m);
  } finally {
    docs.remove();
  }
});

test.run();
