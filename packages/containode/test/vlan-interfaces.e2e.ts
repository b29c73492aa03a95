/**
 * --net's vlan= and trunk= from the command line: the port's 802.1Q
 * membership as the switch lists it, VLAN 10 isolated from VLAN 20 and
 * the default VLAN 1 (pings), for foreground and detached containers, and
 * kept when the ports are re-attached to a restarted switch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, start, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { CONTAINET, containode, startContainode } from './helpers.js';

const noRoot = whyNoRoot();
const noContainet = existsSync(CONTAINET) ? null : 'needs packages/containet (containet daemon)';
const stateDir = mkdtempSync(join(tmpdir(), 'cnode-vlan-state-'));
process.env['CONTAINET_STATE'] = stateDir;
test.after(() => rmSync(stateDir, { recursive: true, force: true }));

interface Port {
  node: string;
}

async function startSwitch(cleanup: Cleanup, sock: string) {
  const sw = start(process.execPath, [CONTAINET, '-s', sock]);
  cleanup.add(`containet ${sw.pid}`, () => killAndWait(sw));
  await waitFor(async () => (await run(process.execPath, [CONTAINET, 'status', '-s', sock])).code === 0, 'containet to answer', 10_000);
  return sw;
}

async function ports(sock: string): Promise<Port[]> {
  const r = await run(process.execPath, [CONTAINET, 'ports', '-s', sock, '--json']);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Port[];
}

function removeAfter(cleanup: Cleanup, id: string): void {
  cleanup.add(`rm ${id}`, async () => {
    await containode(['rm', '-f', id]).catch(() => undefined);
  });
}

const ping = (from: string, to: string) => containode(['exec', from, 'ping', '-c', '1', '-W', '1', to]);

interface VlanPort extends Port {
  vlan?: { mode: string; vlan?: number; allowed?: number[]; native?: number };
}

testIf(test, noRoot ?? noContainet ?? whyMissing('ping'), '--net SOCK,vlan=10 puts the port in VLAN 10 and isolates it, also after a switch restart; trunk= and native= reach the switch', async () => {
  const cleanup = new Cleanup();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'cnode-ifs-'));
    cleanup.add('dir', () => rmSync(dir, { recursive: true, force: true }));
    const s = join(dir, 's.sock');
    const first = await startSwitch(cleanup, s);
    const [a, b, c, d, t] = ['vla', 'vlb', 'vlc', 'vld', 'vlt'].map((p) => uniqueName(p)) as [string, string, string, string, string];
    startContainode(cleanup, ['-i', a, '--net', `${s},ip=10.76.0.1/24,vlan=10`, 'sleep', '120']);
    // b detached: its supervisor's attach carries the VLAN too.
    removeAfter(cleanup, b);
    const rb = await containode(['run', '-d', '--name', b, '--net', `${s},ip=10.76.0.2/24,vlan=10`, '--', 'sleep', '120']);
    assert.is(rb.code, 0, rb.stderr);
    startContainode(cleanup, ['-i', c, '--net', `${s},ip=10.76.0.3/24,vlan=20`, 'sleep', '120']);
    startContainode(cleanup, ['-i', d, '--net', `${s},ip=10.76.0.4/24`, 'sleep', '120']);
    startContainode(cleanup, ['-i', t, '--net', `${s},if=trunk0,trunk=10,20,native=30`, 'sleep', '120']);
    const vlans = async () => {
      const list = (await ports(s)) as VlanPort[];
      return Object.fromEntries(list.map((p) => [p.node, p.vlan]));
    };
    await waitFor(async () => Object.keys(await vlans()).length === 5, 'five ports', 15_000, 100);
    const check = async () => {
      const v = await vlans();
      assert.equal(v[a], { mode: 'access', vlan: 10 });
      assert.equal(v[b], { mode: 'access', vlan: 10 });
      assert.equal(v[c], { mode: 'access', vlan: 20 });
      assert.equal(v[d], { mode: 'access', vlan: 1 }, 'no vlan=: the switch\'s default');
      assert.equal(v[t], { mode: 'trunk', allowed: [10, 20], native: 30 });
      await waitFor(async () => (await ping(b, '10.76.0.1')).code === 0, 'b to reach a in VLAN 10', 10_000, 100);
      assert.is.not((await ping(c, '10.76.0.1')).code, 0, 'VLAN 20 does not reach VLAN 10');
      assert.is.not((await ping(d, '10.76.0.1')).code, 0, 'VLAN 1 does not reach VLAN 10');
    };
    await check();
    first.kill('SIGKILL');
    await new Promise((res) => first.once('exit', res));
    await startSwitch(cleanup, s);
    await waitFor(async () => Object.keys(await vlans()).length === 5, 'five ports again', 15_000, 100);
    await check();
  } finally {
    await cleanup.run();
  }
});

test.run();
