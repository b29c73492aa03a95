/**
 * mocker rm and running containers: an image whose root filesystem is the
 * lower layer of a running containode container is refused (the record in
 * containode's state directory names its digest, and its init is alive by
 * the pid + start-time rule) unless --force; once the container ended, or
 * while another name keeps the image, rm goes ahead.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, run, testIf, waitFor, whyMissing, whyNoRoot, uniqueName } from '@containet/common/testing';
import { startRegistry, pushImage } from './fixtures.js';

const MOCKER = fileURLToPath(new URL('../../bin/mocker.cjs', import.meta.url));
const CONTAINODE = fileURLToPath(new URL('../../../containode/bin/containode.js', import.meta.url));
const reason = whyNoRoot() ?? whyMissing('docker-registry', 'busybox') ?? (existsSync(CONTAINODE) ? null : 'needs packages/containode');

const stateDir = mkdtempSync(join(tmpdir(), 'mocker-rm-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

function record(id: string): { status?: string } | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'containers', id, 'state.json'), 'utf8')) as { status?: string };
  } catch {
    return null;
  }
}

testIf(test, reason, 'rm refuses an image a running container uses, unless forced; goes ahead once it stopped or another name keeps it', async () => {
  const c = new Cleanup();
  try {
    const reg = await startRegistry();
    c.add('registry', () => reg.stop());
    await pushImage(reg.url, 'test/inuse', 'v1', {
      layers: [{ entries: [{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 }, { name: 'bin/sleep', type: 'symlink', linkname: 'busybox' }] }],
      config: { Cmd: ['/bin/sleep', '30'] },
    });
    const store = mkdtempSync(join(tmpdir(), 'mocker-rm-store-'));
    c.add('store', () => rmSync(store, { recursive: true, force: true }));
    const env = { ...process.env, CONTAINET_IMAGES: store, CONTAINET_STATE: stateDir };
    const image = `${reg.host}/test/inuse:v1`;
    const mocker = (...args: string[]) => run(process.execPath, [MOCKER, ...args], { env, timeoutMs: 60_000 });
    assert.is((await mocker('pull', '-q', image)).code, 0);

    const id = uniqueName('inuse');
    const child = spawn(process.execPath, [CONTAINODE, '-i', id, '-N', '--rm', '--image', image], { env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    c.add('container', async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    await waitFor(() => record(id)?.status === 'running', `${id} to run`, 20_000);

    const refused = await mocker('rm', image);
    assert.is(refused.code, 1, refused.stderr);
    assert.is(refused.stderr, `mocker: image ${image} is used by running container ${id}\nmocker: hint: stop the container first (containode stop ID), or remove it anyway with mocker rm --force\n`);
    assert.match((await mocker('images')).stdout, /test\/inuse/);

    // Another name for the same image: untagging one name leaves the image, so that goes ahead.
    const digest = (record(id) as { imageDigest?: string }).imageDigest!;
    const byDigest = `${reg.host}/test/inuse@${digest}`;
    assert.is((await mocker('pull', '-q', byDigest)).code, 0);
    const untag = await mocker('rm', image);
    assert.is(untag.code, 0, untag.stderr);
    assert.match(untag.stdout, /^Untagged: /);
    const last = await mocker('rm', byDigest);
    assert.is(last.code, 1, last.stderr);
    assert.match(last.stderr, /is used by running container/);

    // --force removes it while the container runs.
    const forced = await mocker('rm', '--force', byDigest);
    assert.is(forced.code, 0, forced.stderr);
    assert.not.match((await mocker('images')).stdout, /test\/inuse/);

    // Stopped: pulled again, rm goes ahead without --force.
    child.kill('SIGKILL');
    await exited;
    await waitFor(() => record(id) === null || !existsSync(`/proc/${child.pid}`), 'the container to end', 10_000);
    assert.is((await mocker('pull', '-q', image)).code, 0);
    const removed = await mocker('rm', image);
    assert.is(removed.code, 0, removed.stderr);
  } finally {
    await c.run();
  }
});

test.run();
