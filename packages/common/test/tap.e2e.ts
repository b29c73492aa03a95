import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { Cleanup, killAndWait, makeNetns, run, testIf, whyNoRoot, linkExists } from '@containet/common/testing';

const commonIndex = fileURLToPath(new URL('../src/index.js', import.meta.url));

testIf(test, whyNoRoot(), 'a tap created inside a fresh network namespace shows there, not on the host', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup, 'cntap');
    // A child process in the namespace opens the tap and holds it open.
    const script = `import(${JSON.stringify(commonIndex)}).then((c) => {
      const t = c.openTap('cntest0', { vnetHdr: true });
      const info = c.tapInfo(t.fd);
      process.stdout.write(JSON.stringify({ name: t.name, vnet: info.vnetHdr }) + '\\n');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));
    });`;
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.add('tap holder', () => killAndWait(child));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(String(d)));
      child.once('exit', (c) => reject(new Error(`tap holder exited ${c}`)));
    });
    const info = JSON.parse(line) as { name: string; vnet: boolean };
    assert.is(info.name, 'cntest0');
    assert.ok(info.vnet, 'vnet header flag is set');
    const shown = await run('ip', ['-n', ns, '-d', 'link', 'show', 'cntest0']);
    assert.is(shown.code, 0);
    assert.match(shown.stdout, /tun type tap/);
    assert.match(shown.stdout, /vnet_hdr on/);
    assert.not.ok(await linkExists(null, 'cntest0'), 'not visible in the host namespace');
    child.stdin!.end();
  } finally {
    await cleanup.run();
  }
});

testIf(test, whyNoRoot(), 'tapInfo refuses an fd that is not a tap', async () => {
  const { tapInfo } = await import('@containet/common');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync('/dev/null', 'r');
  try {
    assert.throws(() => tapInfo(fd), (e: { code: string }) => e.code === 'ENOTTY' || e.code === 'EINVAL' || e.code === 'EBADFD');
  } finally {
    closeSync(fd);
  }
});

test.run();
