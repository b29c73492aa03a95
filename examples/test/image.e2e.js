// examples/image: a local registry serving a busybox image, and a container
// run from that image after mocker pulled and unpacked it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab, REPO, runProgram, stopChild, suiteCommand } from '../lib/lab.mjs';
import { printed, processesWith } from './support.js';

const dir = join(REPO, 'examples', 'image');

/** Why mocker can't run this example yet, or null. */
async function whyNoMocker() {
  try {
    const [file, args] = suiteCommand('mocker', ['--help']);
    const help = await runProgram(file, args);
    if (help.code !== 0) {
      const lines = (help.stderr || help.stdout).trim().split('\n');
      return `mocker --help fails: ${lines.find((l) => /error|mocker:/i.test(l)) ?? lines[0]}`;
    }
    for (const cmd of ['pull', 'rootfs']) if (!new RegExp(`^\\s+${cmd}\\b`, 'm').test(help.stdout)) return `mocker has no ${cmd} command yet`;
    return null;
  } catch (err) {
    return `mocker unavailable: ${err.message.split('\n')[0]}`;
  }
}

const skipRegistry = whyNoRoot() ?? whyMissing('docker-registry', 'skopeo', 'umoci', 'busybox');
const skipMocker = skipRegistry ?? (await whyNoMocker());

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const registryDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('containet-registry-') || n.startsWith('containet-image-')));

/** Start serve-busybox-image.sh on a free port; resolves with the child and the image reference. */
async function serveImage(lab) {
  const port = await freePort();
  const child = lab.start('bash', [join(dir, 'serve-busybox-image.sh'), String(port)], { label: 'serve-busybox-image.sh', graceMs: 10_000 });
  let text = '';
  child.stdout.on('data', (b) => (text += b));
  child.stderr.on('data', (b) => (text += b));
  child.output = () => text;
  await printed(child, /^ready: \S+$/m, 60_000);
  return { child, port, ref: /^ready: (\S+)$/m.exec(text)[1] };
}

testIf(test, skipMocker, 'run-image.sh: mocker pulls the busybox image from the local registry and containode runs it', async () => {
  const lab = new Lab();
  const before = registryDirs();
  try {
    const store = await lab.tempDir('containet-exstore-');
    const { child, ref } = await serveImage(lab);
    process.env.CONTAINET_IMAGES = store;
    const r = await runProgram('bash', [join(dir, 'run-image.sh'), ref], { timeoutMs: 120_000 });
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^hostname: image-\d+$/m);
    // The image's root (busybox's own /linuxrc and the /www of make-root.sh), not the host's.
    assert.match(r.stdout, /^root: bin dev etc linuxrc proc root run sbin sys tmp usr var www$/m);
    assert.match(r.stdout, /^BusyBox v1\.\d+/m);
    // The image went to the private store.
    const [file, args] = suiteCommand('mocker', ['images']);
    const images = await runProgram(file, args);
    delete process.env.CONTAINET_IMAGES;
    assert.is(images.code, 0, images.stderr);
    const repo = ref.replace(/:latest$/, '');
    assert.ok(images.stdout.split('\n').some((l) => l.split(/\s+/)[0] === repo && l.split(/\s+/)[1] === 'latest'), images.stdout);

    const end = await stopChild(child, 10_000);
    assert.is(end.code, 143, child.output());
    assert.equal([...registryDirs()].filter((d) => !before.has(d)), [], 'registry storage and unpacked root removed');
    assert.equal(processesWith(ref.split('/')[0]), []);
  } finally {
    delete process.env.CONTAINET_IMAGES;
    await lab.close();
  }
});

testIf(test, skipMocker, 'a lab node from an image: deploy pulls it when missing; /etc/hosts in its root names every node; binds on it and on a host-files node', async () => {
  const lab = new Lab();
  const before = registryDirs();
  const name = `img${process.pid.toString(36)}`;
  try {
    const store = await lab.tempDir('containet-exstore-');
    const work = await lab.tempDir('containet-exlab-');
    const { child, ref } = await serveImage(lab);
    process.env.CONTAINET_IMAGES = store;
    const file = join(work, 'img.clab.yml');
    // Binds: relative sources (to the file); on the image node the mount points are made in its root's upper layer,
    // on the host-files node b the target must exist on the host.
    mkdirSync(join(work, 'data'));
    writeFileSync(join(work, 'ro.txt'), 'read only\n');
    const bTarget = join(work, 'b-target');
    mkdirSync(bTarget);
    writeFileSync(
      file,
      `name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux, image: "${ref}", cmd: "sleep 3600", binds: ["data:/data", "ro.txt:/etc/ro.txt:ro"], exec: ["ip addr add 10.6.0.1/24 dev eth1"]}\n    b: {kind: linux, binds: ["data:${bTarget}"], exec: ["ip addr add 10.6.0.2/24 dev eth1"]}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n`,
    );
    const cn = (...args) => {
      const [f, a] = suiteCommand('containet', ['lab', ...args]);
      return runProgram(f, a, { timeoutMs: 180_000 });
    };
    const d = await cn('deploy', '-t', file);
    assert.is(d.code, 0, d.stderr);
    assert.match(d.stderr, new RegExp(`pulling ${ref.replace(/[.]/g, '\\.')}`));
    try {
      // The image's root (busybox), with the lab's /etc/hosts in its upper layer.
      const hosts = await cn('exec', '-t', file, 'a', '--', 'cat', '/etc/hosts');
      assert.match(hosts.stdout, new RegExp(`\\tclab-${name}-b b\\n`));
      const bb = await cn('exec', '-t', file, 'a', '--', 'busybox');
      assert.match(bb.stdout + bb.stderr, /BusyBox v1\./);
      const ping = await cn('exec', '-t', file, 'a', '--', 'ping', '-c', '2', '-W', '3', '10.6.0.2');
      assert.is(ping.code, 0, ping.stdout);
      const byName = await cn('exec', '-t', file, 'b', '--', 'ping', '-c', '2', '-W', '3', 'a');
      assert.is(byName.code, 0, byName.stdout);
      // a writes through its bind, the host and b (through its own bind of the same directory) read the bytes.
      const w = await cn('exec', '-t', file, 'a', '--', 'sh', '-c', 'echo from-a > /data/x; cat /etc/ro.txt; echo no > /etc/ro.txt');
      assert.is(w.stdout, 'read only\n', w.stderr);
      assert.ok(w.code !== 0 && /Read-only file system/.test(w.stderr), w.stderr);
      assert.is(readFileSync(join(work, 'data', 'x'), 'utf8'), 'from-a\n');
      assert.is(readFileSync(join(work, 'ro.txt'), 'utf8'), 'read only\n');
      const r = await cn('exec', '-t', file, 'b', '--', 'cat', join(bTarget, 'x'));
      assert.is(r.stdout, 'from-a\n', r.stderr);
      assert.equal(readdirSync(bTarget), [], 'b bound it in its own mount namespace only');
    } finally {
      const del = await cn('destroy', '-t', file);
      assert.is(del.code, 0, del.stderr);
    }
    assert.equal(processesWith(`clab-${name}-`), []);
    delete process.env.CONTAINET_IMAGES;
    const end = await stopChild(child, 10_000);
    assert.is(end.code, 143, child.output());
    assert.equal([...registryDirs()].filter((d) => !before.has(d)), []);
  } finally {
    delete process.env.CONTAINET_IMAGES;
    await lab.close();
  }
});

testIf(test, skipRegistry, 'serve-busybox-image.sh: the image is in the registry; a port in use is refused', async () => {
  const lab = new Lab();
  const before = registryDirs();
  try {
    const { child, port, ref } = await serveImage(lab);
    const inspect = await runProgram('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
    assert.is(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout);
    assert.is(info.Layers.length, 1);
    assert.equal(info.Env, ['PATH=/usr/sbin:/usr/bin:/sbin:/bin']);

    // A second one on the same port: refused before it makes anything.
    const clash = await runProgram('bash', [join(dir, 'serve-busybox-image.sh'), String(port)]);
    assert.is(clash.code, 1);
    assert.match(clash.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is in use: give another port`));

    const end = await stopChild(child, 10_000);
    assert.is(end.code, 143, child.output());
    assert.equal([...registryDirs()].filter((d) => !before.has(d)), []);

    const bad = await runProgram('bash', [join(dir, 'serve-busybox-image.sh'), 'http']);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /usage: .*\[PORT\]/);
  } finally {
    await lab.close();
  }
});

test.run();
