/**
 * containet-cni's man page: it renders with man(1) and groff without a
 * warning, says the plugin is run by engines, documents reattach and its
 * options, and lists the README's table of error codes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExitTable, renderMan, manSection, run, testIf, whyMissing } from '@containet/common/testing';
import { ERROR_CODES } from '../src/manual.js';

const PRINT = fileURLToPath(new URL('../src/print-manual.js', import.meta.url));

testIf(test, whyMissing('man', 'groff'), 'the man page renders cleanly, documents reattach and the error codes of the README', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const table = readmeExitTable(readme, 'Errors are the spec', /^\|\s*code\s*\|\s*when\s*\|/);
  assert.equal(table, ERROR_CODES);
  const dir = mkdtempSync(join(tmpdir(), 'cni-man-'));
  try {
    const printed = await run(process.execPath, [PRINT]);
    assert.is(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^\.TH CONTAINET\\-CNI 8 /m);
    const file = join(dir, 'containet-cni.8');
    writeFileSync(file, printed.stdout);
    const page = await renderMan(file);
    assert.is(page.warnings, '');
    assert.is(page.code, 0);
    assert.match(manSection(page.text, 'DESCRIPTION'), /no shell completion/);
    const commands = manSection(page.text, 'COMMANDS');
    for (const w of ['reattach', '-s, --socket SOCK', '--json']) assert.ok(commands.includes(w), w);
    const errors = manSection(page.text, 'ERRORS');
    for (const row of table) assert.match(errors, new RegExp(`^ {7}${row.name}: `, 'm'), row.name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
