import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { mkdirSync, writeFileSync, readFileSync, readlinkSync, lstatSync, statSync, readdirSync, rmSync, existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { testIf, whyMissing } from '@containet/common/testing';
import { applyLayer } from '@containet/mocker';
import { makeTar, snapshot, tempDir, sha, compress, type LayerEntry } from './fixtures.js';
import { openLayer } from '../src/unpack/decompress.js';

const asRoot = process.getuid?.() === 0 ? null : 'needs root (owners, device nodes)';

interface Sandbox {
  base: string;
  root: string;
  outside: string;
  before: Record<string, string>;
  /** Assert nothing outside the root changed and nothing appeared next to it. */
  checkOutside(): void;
  done(): void;
}

function sandbox(): Sandbox {
  const base = realpathSync(tempDir('unpack'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'do not touch\n');
  writeFileSync(join(outside, 'dir', 'keep'), 'keep\n');
  const before = snapshot(outside, true);
  return {
    base,
    root,
    outside,
    before,
    checkOutside() {
      assert.equal(snapshot(outside, true), before, 'the directory outside the root is unchanged, metadata included');
      assert.equal(readdirSync(base).sort(), ['outside', 'root'], 'nothing appeared beside the root');
    },
    done() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

async function apply(root: string, entries: LayerEntry[], layer = 1, diffId?: string): Promise<void> {
  await applyLayer(root, Readable.from([await makeTar(entries)]), { layer, diffId });
}

async function refused(p: Promise<unknown>, code = 'MOCKER_BAD_LAYER'): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.is((err as { code: string }).code, code, (err as Error).message);
    return (err as Error).message;
  }
  assert.unreachable('the layer was accepted');
  return '';
}

test('layers apply in order: whiteouts, opaque directories anywhere in the archive, dir over dir', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/a', data: 'A1' },
      { name: 'etc/b', data: 'B1' },
      { name: 'opq-first/', type: 'directory' },
      { name: 'opq-first/lower', data: 'x' },
      { name: 'opq-last/', type: 'directory' },
      { name: 'opq-last/lower', data: 'x' },
      { name: 'opq-last/sub/', type: 'directory' },
      { name: 'opq-last/sub/lower', data: 'x' },
      { name: 'gone/', type: 'directory' },
      { name: 'gone/deep', data: 'x' },
      { name: 'was-file', data: 'file' },
      { name: 'was-dir/', type: 'directory' },
      { name: 'was-dir/x', data: 'x' },
    ]);
    await apply(s.root, [
      { name: 'etc/', type: 'directory', mode: 0o750 }, // dir over dir: keeps etc/b
      { name: 'etc/a', data: 'A2' },
      { name: 'etc/.wh.b' },
      { name: 'opq-first/.wh..wh..opq' },
      { name: 'opq-first/new', data: 'n' },
      { name: 'opq-last/new', data: 'n' },
      { name: 'opq-last/sub/new', data: 'n' }, // parent made implicitly
      { name: 'opq-last/.wh..wh..opq' }, // after this layer's own entries
      { name: '.wh.gone' },
      { name: 'was-file/', type: 'directory' },
      { name: 'was-file/in', data: 'in' },
      { name: 'was-dir', data: 'now a file' },
      { name: 'ghost/.wh.nothing' }, // whiteout under a missing dir: no-op, nothing created
    ], 2);
    assert.is(readFileSync(join(s.root, 'etc/a'), 'utf8'), 'A2');
    assert.not.ok(existsSync(join(s.root, 'etc/b')));
    assert.is(statSync(join(s.root, 'etc')).mode & 0o777, 0o750);
    assert.equal(readdirSync(join(s.root, 'opq-first')), ['new']);
    assert.equal(readdirSync(join(s.root, 'opq-last')).sort(), ['new', 'sub']);
    assert.equal(readdirSync(join(s.root, 'opq-last/sub')), ['new']);
    assert.not.ok(existsSync(join(s.root, 'gone')));
    assert.is(readFileSync(join(s.root, 'was-file/in'), 'utf8'), 'in');
    assert.is(readFileSync(join(s.root, 'was-dir'), 'utf8'), 'now a file');
    assert.not.ok(existsSync(join(s.root, 'ghost')));
    // Whiteout files themselves never appear.
    assert.not.ok(Object.keys(snapshot(s.root)).some((p) => p.includes('.wh.')));
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('a whiteout in the same layer as an entry does not hide it (layer.md)', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [{ name: 'f', data: 'lower' }, { name: 'd/', type: 'directory' }, { name: 'd/lower', data: 'x' }]);
    await apply(s.root, [{ name: 'f', data: 'upper' }, { name: '.wh.f' }, { name: 'd/upper', data: 'u' }, { name: '.wh.d' }], 2);
    assert.is(readFileSync(join(s.root, 'f'), 'utf8'), 'upper');
    assert.equal(readdirSync(join(s.root, 'd')), ['upper']);
  } finally {
    s.done();
  }
});

test('symlinks keep absolute targets verbatim, hard links share the inode, modes and mtimes are applied', async () => {
  const s = sandbox();
  try {
    const mtime = new Date('2021-05-06T07:08:09Z');
    await apply(s.root, [
      { name: 'usr/bin/', type: 'directory' },
      { name: 'usr/bin/tool', data: 'tool', mode: 0o4755, mtime },
      { name: 'bin', type: 'symlink', linkname: '/usr/bin' },
      { name: 'rel', type: 'symlink', linkname: '../x/../usr/bin/tool' },
      { name: 'usr/bin/hard', type: 'link', linkname: 'usr/bin/tool' },
      { name: 'dir-mtime/', type: 'directory', mtime },
      { name: 'dir-mtime/child', data: 'c' },
    ]);
    assert.is(readlinkSync(join(s.root, 'bin')), '/usr/bin');
    assert.is(readlinkSync(join(s.root, 'rel')), '../x/../usr/bin/tool');
    const a = statSync(join(s.root, 'usr/bin/tool'));
    const b = statSync(join(s.root, 'usr/bin/hard'));
    assert.is(a.ino, b.ino);
    assert.is(a.nlink, 2);
    assert.is(a.mode & 0o7777, 0o4755);
    assert.is(a.mtime.getTime(), mtime.getTime());
    assert.is(statSync(join(s.root, 'dir-mtime')).mtime.getTime(), mtime.getTime(), 'a directory keeps its mtime after its children are written');
    // A later layer writing through /bin (absolute link) lands in usr/bin of the root.
    await apply(s.root, [{ name: 'bin/new', data: 'n' }], 2);
    assert.is(readFileSync(join(s.root, 'usr/bin/new'), 'utf8'), 'n');
    s.checkOutside();
  } finally {
    s.done();
  }
});

testIf(test, asRoot, 'as root: owners, device nodes and fifos', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [
      { name: 'home/', type: 'directory', uid: 1000, gid: 1000, mode: 0o700 },
      { name: 'home/f', data: 'x', uid: 1234, gid: 5678, mode: 0o2755 },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
      { name: 'run/pipe', type: 'fifo', mode: 0o600 },
    ]);
    const f = statSync(join(s.root, 'home/f'));
    assert.equal([f.uid, f.gid, f.mode & 0o7777], [1234, 5678, 0o2755]);
    assert.equal([statSync(join(s.root, 'home')).uid, statSync(join(s.root, 'home')).mode & 0o777], [1000, 0o700]);
    const n = lstatSync(join(s.root, 'dev/null'));
    assert.ok(n.isCharacterDevice());
    assert.is(n.rdev, (1 << 8) | 3);
    assert.is(n.mode & 0o777, 0o666);
    assert.ok(lstatSync(join(s.root, 'dev/loop9')).isBlockDevice());
    assert.ok(lstatSync(join(s.root, 'run/pipe')).isFIFO());
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('escape: names with ".." are refused and change nothing outside', async () => {
  for (const name of ['../evil', 'a/../../evil', './../outside/secret', '../.wh.secret', '../outside/.wh..wh..opq']) {
    const s = sandbox();
    try {
      const msg = await refused(apply(s.root, [{ name, data: 'pwned' }]));
      assert.match(msg, /leads out of the root/);
      s.checkOutside();
    } finally {
      s.done();
    }
  }
});

test('escape: absolute names land inside the root', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [{ name: `${s.outside}/secret`, data: 'pwned' }, { name: '/etc/evil', data: 'x' }]);
    assert.is(readFileSync(join(s.root, s.outside, 'secret'), 'utf8'), 'pwned');
    assert.ok(existsSync(join(s.root, 'etc/evil')));
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('escape: a symlink planted earlier in the layer, or in a lower layer, leads nowhere outside', async () => {
  for (const target of ['OUT', 'OUT/dir', '../../../..', '/']) {
    for (const split of [false, true]) {
      const s = sandbox();
      try {
        const link = target.replace('OUT', s.outside);
        const plant: LayerEntry[] = [{ name: 'esc', type: 'symlink', linkname: link }];
        const attack: LayerEntry[] = [
          { name: 'esc/pwned', data: 'pwned' },
          { name: 'esc/secret', data: 'overwritten' },
          { name: 'esc/dir/', type: 'directory', mode: 0o777 },
          { name: 'esc/dir/keep', data: 'overwritten' },
          { name: 'esc/.wh.secret' },
          { name: 'esc/dir/.wh.keep' },
          { name: 'esc/.wh..wh..opq' },
          { name: 'esc/dir/.wh..wh..opq' },
          { name: 'esc/fifo', type: 'fifo' },
        ];
        if (split) {
          await apply(s.root, plant);
          await apply(s.root, attack, 2);
        } else await apply(s.root, [...plant, ...attack]);
        s.checkOutside();
        // (An opaque marker under a link to the root hides the lower-layer link itself.)
        if (!(split && !target.startsWith('OUT'))) assert.is(readlinkSync(join(s.root, 'esc')), link, `the link itself is kept (${target})`);
      } finally {
        s.done();
      }
    }
  }
});

test('escape: a file, directory or node named like a planted symlink replaces the link, not its target', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [
      { name: 'f', type: 'symlink', linkname: `${s.outside}/secret` },
      { name: 'd', type: 'symlink', linkname: `${s.outside}/dir` },
      { name: 'p', type: 'symlink', linkname: `${s.outside}/secret` },
    ]);
    await apply(s.root, [
      { name: 'f', data: 'mine', mode: 0o600 },
      { name: 'd/', type: 'directory', mode: 0o700 },
      { name: 'p', type: 'fifo' },
    ], 2);
    assert.is(readFileSync(join(s.root, 'f'), 'utf8'), 'mine');
    assert.ok(lstatSync(join(s.root, 'd')).isDirectory());
    assert.ok(lstatSync(join(s.root, 'p')).isFIFO());
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('escape: a directory replaced by a symlink later in the layer does not get its mtime set through the link', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [
      { name: 'd/', type: 'directory', mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'd', type: 'symlink', linkname: `${s.outside}/dir` },
      { name: 'e/', type: 'directory', mode: 0o777 },
      { name: 'e', type: 'symlink', linkname: s.outside },
    ]);
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('files written in flight: a directory turned into a symlink mid-layer, the same path twice, hard links to fresh files', async () => {
  const s = sandbox();
  try {
    const many: LayerEntry[] = Array.from({ length: 300 }, (_, i) => ({ name: `d/f${i}`, data: `file ${i}` }));
    await apply(s.root, [
      ...many,
      { name: 'd', type: 'symlink', linkname: s.outside },
      { name: 'd/after', data: 'after' },
      { name: 'twice', data: 'first' },
      { name: 'twice', data: 'second' },
      { name: 'fresh', data: 'fresh' },
      { name: 'hl', type: 'link', linkname: 'fresh' },
    ]);
    assert.is(readlinkSync(join(s.root, 'd')), s.outside);
    assert.is(readFileSync(join(s.root, s.outside, 'after'), 'utf8'), 'after');
    assert.is(readFileSync(join(s.root, 'twice'), 'utf8'), 'second');
    assert.is(statSync(join(s.root, 'hl')).ino, statSync(join(s.root, 'fresh')).ino);
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('a hard link to a planted symlink links the symlink itself, inside the root', async () => {
  const s = sandbox();
  try {
    await apply(s.root, [{ name: 'sl', type: 'symlink', linkname: `${s.outside}/secret` }, { name: 'hl', type: 'link', linkname: 'sl' }]);
    assert.ok(lstatSync(join(s.root, 'hl')).isSymbolicLink());
    assert.is(lstatSync(join(s.root, 'hl')).ino, lstatSync(join(s.root, 'sl')).ino);
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('escape: hard links to anything outside the root are refused', async () => {
  const cases: Array<(outside: string) => LayerEntry[]> = [
    () => [{ name: 'hl', type: 'link', linkname: '../outside/secret' }],
    (o) => [{ name: 'esc', type: 'symlink', linkname: o }, { name: 'hl', type: 'link', linkname: 'esc/secret' }],
    (o) => [{ name: 'hl', type: 'link', linkname: `${o}/secret` }],
  ];
  for (const make of cases) {
    const s = sandbox();
    try {
      await refused(apply(s.root, make(s.outside)));
      assert.is(statSync(join(s.outside, 'secret')).nlink, 1);
      s.checkOutside();
    } finally {
      s.done();
    }
  }
});

test('a symlink loop is an error, not a hang', async () => {
  const s = sandbox();
  try {
    const msg = await refused(apply(s.root, [{ name: 'loop', type: 'symlink', linkname: 'loop' }, { name: 'loop/x', data: 'x' }]));
    assert.match(msg, /too many levels of symbolic links/);
    s.checkOutside();
  } finally {
    s.done();
  }
});

test('a layer whose content does not match its diff_id is refused', async () => {
  const s = sandbox();
  try {
    const tar = await makeTar([{ name: 'a', data: 'a' }]);
    await applyLayer(s.root, Readable.from([tar]), { diffId: sha(tar) });
    await refused(applyLayer(s.root, Readable.from([tar]), { diffId: sha(Buffer.from('other')) }), 'MOCKER_DIGEST_MISMATCH');
  } finally {
    s.done();
  }
});

testIf(test, whyMissing('zstd'), 'gzip, zstd and uncompressed layers are recognised by their bytes; a truncated one is an error', async () => {
  const s = sandbox();
  try {
    const tar = await makeTar([{ name: 'big', data: Buffer.alloc(3 << 20, 7) }, { name: 'small', data: 'small' }]);
    for (const how of ['gzip', 'zstd', 'none'] as const) {
      const file = join(s.base, `layer.${how}`);
      writeFileSync(file, compress(tar, how));
      const root = join(s.base, `r-${how}`);
      mkdirSync(root);
      await applyLayer(root, await openLayer(file), { diffId: sha(tar) });
      assert.is(readFileSync(join(root, 'big')).length, 3 << 20);
      assert.is(readFileSync(join(root, 'small'), 'utf8'), 'small');
      rmSync(root, { recursive: true });
      if (how !== 'none') {
        const blob = compress(tar, how);
        writeFileSync(file, blob.subarray(0, blob.length >> 1));
        mkdirSync(root);
        await refused(applyLayer(root, await openLayer(file), { diffId: sha(tar) }), 'MOCKER_UNPACK');
        rmSync(root, { recursive: true });
      }
      rmSync(file);
    }
  } finally {
    s.done();
  }
});

test('small files are written by helper threads, which end once idle: bytes, modes and mtimes as in the layer', async () => {
  const box = sandbox();
  const threads = (): number => readdirSync('/proc/self/task').length;
  try {
    const entries: LayerEntry[] = [{ name: 'many/', type: 'directory' }];
    for (let i = 0; i < 300; i++) entries.push({ name: `many/f${i}`, data: `file ${i}\n`.repeat(i), mode: i % 2 ? 0o600 : 0o755, mtime: new Date(1_000_000_000_000 + i * 1000) });
    await apply(box.root, entries);
    const during = threads();
    for (const i of [0, 1, 150, 299]) {
      const p = join(box.root, `many/f${i}`);
      assert.is(readFileSync(p, 'utf8'), `file ${i}\n`.repeat(i));
      assert.is(statSync(p).mode & 0o777, i % 2 ? 0o600 : 0o755);
      assert.is(statSync(p).mtimeMs, 1_000_000_000_000 + i * 1000);
    }
    const deadline = Date.now() + 5000;
    while (threads() >= during && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(threads() < during, 'idle writer threads end (IDLE_MS 2 s)');
    box.checkOutside();
  } finally {
    box.done();
  }
});

test.run();
