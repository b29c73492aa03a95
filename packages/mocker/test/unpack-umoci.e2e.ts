/**
 * mocker's unpack against umoci's, entry by entry: an image made by GNU tar
 * (`--xattrs --xattrs-include=*`, PAX format) from a directory with file
 * capabilities (v2, and v3 with a root uid), user.* and trusted.*
 * attributes, nanosecond times and directories of known times, plus a
 * second layer that adds to and whites out of directories it does not name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, whyMissing, testIf } from '@containet/common/testing';
import { Readable } from 'node:stream';
import { ImageStore, applyLayer } from '@containet/mocker';
import { startRegistry, pushTarImage, makeTar, tempDir, sha, runCommand } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const missing = whyMissing('docker-registry', 'umoci', 'setcap', 'getcap', 'setfattr', 'getfattr', 'tar', 'touch') ?? (process.getuid?.() === 0 ? null : 'needs root (trusted.* attributes, owners)');

/** Every entry under `root`: type, mode, owner, size, links, mtime to the nanosecond, bytes or target. */
function describe(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p, { bigint: true });
    let what = `mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} nlink=${st.nlink} mtime=${st.mtimeNs}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
    else if (st.isFile()) what += ` size=${st.size} ${sha(readFileSync(p))}`;
    else if (!st.isDirectory()) what += ` rdev=${st.rdev}`;
    out[rel || '.'] = what;
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

/** Every extended attribute under `root` (all namespaces, not through symlinks), as getfattr prints them in hex. */
function xattrs(root: string): Record<string, string> {
  const r = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const out: Record<string, string> = {};
  let cur = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) cur = line.slice(8).slice(root.length).replace(/^\//, '') || '.';
    else if (line) out[cur] = `${out[cur] ?? ''}${line}\n`;
  }
  return out;
}

testIf(test, missing, 'unpack keeps what umoci keeps: file capabilities (v2 and v3), user.* and trusted.* xattrs, nanosecond mtimes, directory times', async () => {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    const work = tempDir('xattr');
    c.add('work', () => rmSync(work, { recursive: true, force: true }));
    const src = join(work, 'src');
    for (const d of ['bin', 'etc', 'data', 'empty']) mkdirSync(join(src, d), { recursive: true });
    copyFileSync('/bin/true', join(src, 'bin/pinger'));
    copyFileSync('/bin/true', join(src, 'bin/v3'));
    execFileSync('setcap', ['cap_net_raw+ep', join(src, 'bin/pinger')]);
    // A v3 capability (VFS_CAP_REVISION_3) names the root uid of its user namespace; cap_setfcap (bit 31) makes a byte >= 0x80.
    execFileSync('setcap', ['-n', '1000', 'cap_net_raw,cap_setfcap+ep', join(src, 'bin/v3')]);
    linkSync(join(src, 'bin/v3'), join(src, 'bin/v3-hard'));
    writeFileSync(join(src, 'etc/conf'), 'conf\n');
    execFileSync('setfattr', ['-n', 'user.comment', '-v', 'hello', join(src, 'etc/conf')]);
    execFileSync('setfattr', ['-n', 'user.binary', '-v', '0x00ff80fe0a3d', join(src, 'etc/conf')]);
    execFileSync('setfattr', ['-n', 'trusted.origin', '-v', 'test', join(src, 'etc/conf')]);
    execFileSync('setfattr', ['-n', 'user.dir', '-v', 'yes', join(src, 'data')]);
    writeFileSync(join(src, 'data/gone'), 'x');
    writeFileSync(join(src, 'data/kept'), 'k');
    symlinkSync('../etc/conf', join(src, 'data/link'));
    execFileSync('setfattr', ['-h', '-n', 'trusted.link', '-v', 'l', join(src, 'data/link')]);
    // Times with nanoseconds, directories last (creating their entries changed them).
    for (const f of ['bin/pinger', 'bin/v3', 'etc/conf', 'data/gone', 'data/kept']) execFileSync('touch', ['-d', '2020-01-02 03:04:05.123456789', join(src, f)]);
    execFileSync('touch', ['-h', '-d', '2019-05-06 07:08:09.5', join(src, 'data/link')]);
    for (const [d, t] of [['bin', '2001-02-03 04:05:06.987654321'], ['etc', '2002-03-04 05:06:07'], ['data', '2003-04-05 06:07:08.25'], ['empty', '2004-05-06 07:08:09'], ['.', '2005-06-07 08:09:10']]) execFileSync('touch', ['-d', t!, join(src, d!)]);
    const layer1 = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '--numeric-owner', '-C', src, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
    // Layer 2 changes etc/ and data/ without entries for them: both keep their times.
    const layer2 = await makeTar([{ name: 'etc/added', data: 'new' }, { name: 'data/.wh.gone' }, { name: 'bin/pinger', data: 'replaced', mode: 0o755 }]);
    await pushTarImage(reg.url, 'caps/image', '1', [layer1, layer2]);

    const store = join(work, 'store');
    const pull = await runCommand([process.execPath, MOCKER, '--store', store, 'pull', '-q', `${reg.host}/caps/image:1`]);
    assert.is(pull.status, 0, pull.stderr);
    const ours = join(work, 'mocker');
    const u = await runCommand([process.execPath, MOCKER, '--store', store, 'unpack', `${reg.host}/caps/image:1`, ours]);
    assert.is(u.status, 0, u.stderr);
    assert.is(u.stderr, '', 'no warnings');

    const ref = new ImageStore(store).images()[0]!.descriptor.annotations!['org.opencontainers.image.ref.name']!;
    const theirs = join(work, 'umoci');
    const um = spawnSync('umoci', ['raw', 'unpack', '--image', `${store}:${ref}`, theirs], { encoding: 'utf8' });
    assert.is(um.status, 0, um.stderr);

    // Layer 1 alone too, where the capabilities are still on bin/pinger.
    const first = join(work, 'first');
    mkdirSync(first);
    await applyLayer(first, Readable.from([layer1]));
    assert.match(execFileSync('getcap', [join(first, 'bin/pinger')], { encoding: 'utf8' }), /cap_net_raw=ep/);
    assert.match(execFileSync('getcap', ['-n', join(first, 'bin/v3')], { encoding: 'utf8' }), /cap_net_raw,cap_setfcap=ep \[rootid=1000\]/);
    assert.equal(xattrs(first)['bin/pinger'], xattrs(src)['bin/pinger']);
    assert.equal(xattrs(first)['etc/conf'], xattrs(src)['etc/conf']);
    const srcTree = describe(src);
    const firstTree = describe(first);
    for (const p of ['bin', 'etc', 'data', 'empty', 'etc/conf', 'data/link', 'bin/v3']) assert.is(firstTree[p], srcTree[p], p);

    const a = describe(ours);
    const b = describe(theirs);
    assert.equal(Object.keys(a), Object.keys(b), 'the same entries');
    for (const k of Object.keys(b)) assert.is(a[k], b[k], k);
    assert.equal(xattrs(ours), xattrs(theirs), 'the same extended attributes');
    // What the comparison covers, so an equal pair of empty trees cannot pass.
    assert.match(xattrs(ours)['bin/v3'] ?? '', /security\.capability=0x0100000300200080000000000000000000000000e8030000\n/);
    assert.match(xattrs(ours)['etc/conf'] ?? '', /user\.binary=0x00ff80fe0a3d/);
    assert.match(xattrs(ours)['data/link'] ?? '', /trusted\.link=0x6c/);
    assert.not.ok(xattrs(ours)['bin/pinger'], 'the replaced file has no capability');
    assert.match(a['etc']!, /mtime=1015218367000000000$/, 'etc/ keeps its time although layer 2 added to it');
    assert.match(a['bin']!, /mtime=981173106987654321$/);
  } finally {
    await c.run();
  }
});

test.run();
