import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Cleanup, inNetns, makeNetns, testIf, whyMissing, whyNoRoot } from '@containet/common/testing';

const firewall = fileURLToPath(new URL('../src/host/firewall.js', import.meta.url));

/** Run one firewall function inside a namespace (rules are per namespace). */
async function callIn(ns: string, call: string): Promise<string> {
  const script = `import(${JSON.stringify(firewall)}).then(async (f) => { const r = await ${call}; process.stdout.write(JSON.stringify(r ?? null)); })`;
  const r = await inNetns(ns, process.execPath, ['--input-type=module', '-e', script]);
  if (r.code !== 0) throw new Error(`${call} failed: ${r.stderr}`);
  return r.stdout;
}

const reason = whyNoRoot() ?? whyMissing('iptables');

testIf(test, reason, 'NAT rules are tagged, found by tag and all removed', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup, 'cnfw');
    const rules = JSON.stringify({ tag: 'test1', subnet: '10.9.0.0/24', hostIf: 'cnhost0' });
    assert.is(await callIn(ns, `f.installNat(${rules}, 'iptables')`), '"iptables"');
    const nat = (await inNetns(ns, 'iptables', ['-t', 'nat', '-S', 'POSTROUTING'])).stdout;
    assert.match(nat, /-A POSTROUTING -s 10\.9\.0\.0\/24 ! -o cnhost0 .*containet:test1.* -j MASQUERADE/);
    const fwd = (await inNetns(ns, 'iptables', ['-S', 'FORWARD'])).stdout;
    assert.is((fwd.match(/containet:test1/g) ?? []).length, 2);
    // A second install (a restart after a crash) replaces rather than duplicates.
    await callIn(ns, `f.installNat(${rules}, 'iptables')`);
    const again = (await inNetns(ns, 'iptables-save', [])).stdout;
    assert.is((again.match(/containet:test1/g) ?? []).length, 3);
    assert.is(await callIn(ns, `f.removeNat('test1', 'iptables')`), '3');
    const after = (await inNetns(ns, 'iptables-save', [])).stdout;
    assert.not.match(after, /containet:/);
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'a FORWARD policy of DROP is detected', async () => {
  const cleanup = new Cleanup();
  try {
    const ns = await makeNetns(cleanup, 'cnfw');
    assert.is(await callIn(ns, 'f.forwardPolicyDrops()'), 'false');
    await inNetns(ns, 'iptables', ['-P', 'FORWARD', 'DROP']);
    assert.is(await callIn(ns, 'f.forwardPolicyDrops()'), 'true');
  } finally {
    await cleanup.run();
  }
});

test('iptables -S lines split back into arguments', async () => {
  const { splitRule } = await import('../src/host/firewall.js');
  assert.equal(splitRule('-D FORWARD -i x -m comment --comment "containet:a b" -j ACCEPT'), [
    '-D', 'FORWARD', '-i', 'x', '-m', 'comment', '--comment', 'containet:a b', '-j', 'ACCEPT',
  ]);
});

test.run();
