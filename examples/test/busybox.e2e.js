// examples/busybox: a busybox root filesystem built by make-root.sh, and
// web.sh serving a page from one container of it to another.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab, REPO, runProgram } from '../lib/lab.mjs';
import { processesWith } from './support.js';

const dir = join(REPO, 'examples', 'busybox');
const skip = whyNoRoot() ?? whyMissing('busybox', 'ip');

/** Every entry's path, type, mode, owner, and content digest or link target. */
function treeDigest(root) {
  const hash = createHash('sha256');
  const walk = (rel) => {
    const path = join(root, rel);
    const st = lstatSync(path);
    hash.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0`);
    if (st.isSymbolicLink()) hash.update(readlinkSync(path));
    else if (st.isFile()) hash.update(readFileSync(path));
    else if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(rel, name));
  };
  walk('.');
  return hash.digest('hex');
}

function ourWorkDirs() {
  return new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('containet-busybox-')));
}

testIf(test, skip, 'web.sh: a busybox container serves a page to another; ROOT unchanged; nothing left', async () => {
  const lab = new Lab();
  try {
    const root = join(await lab.tempDir('containet-exbb-'), 'root');
    const made = await runProgram('bash', [join(dir, 'make-root.sh'), root]);
    assert.is(made.code, 0, made.stderr);
    assert.ok(lstatSync(join(root, 'bin/busybox')).isFile());
    assert.is(readlinkSync(join(root, 'bin/sh')), '/bin/busybox');
    const before = treeDigest(root);
    const dirsBefore = ourWorkDirs();

    const r = await runProgram('bash', [join(dir, 'web.sh'), root], { timeoutMs: 120_000 });
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    // The page, as written inside web (its hostname is its identity) and fetched over the switch.
    assert.match(r.stdout, /^hello from web-\d+, served by busybox httpd$/m);
    assert.match(r.stdout, /in its TOP \(ROOT is untouched\): \.\/upper\/www\/index\.html$/m);

    assert.is(treeDigest(root), before, 'ROOT byte-for-byte unchanged');
    assert.equal([...ourWorkDirs()].filter((d) => !dirsBefore.has(d)), [], 'work directory removed');
    assert.equal(processesWith(root), [], 'no container of this root left');
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'bad input: a missing root, a non-empty target; clear errors, nothing changed', async () => {
  const lab = new Lab();
  try {
    const base = await lab.tempDir('containet-exbb-');
    const dirsBefore = ourWorkDirs();
    const missing = await runProgram('bash', [join(dir, 'web.sh'), join(base, 'no-such-root')]);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, /no-such-root: no such root filesystem \(make one with examples\/busybox\/make-root\.sh\)/);
    assert.equal([...ourWorkDirs()].filter((d) => !dirsBefore.has(d)), []);

    const full = join(base, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep'), 'mine');
    const refused = await runProgram('bash', [join(dir, 'make-root.sh'), full]);
    assert.is(refused.code, 1);
    assert.match(refused.stderr, /full is not empty: give a new directory/);
    assert.equal(readdirSync(full), ['keep']);
    assert.is(readFileSync(join(full, 'keep'), 'utf8'), 'mine');

    const usage = await runProgram('bash', [join(dir, 'web.sh')]);
    assert.is(usage.code, 2);
    assert.match(usage.stderr, /usage: .*web\.sh ROOT/);
  } finally {
    await lab.close();
  }
});

test.run();
