/**
 * The `bandwidth` capability applied by the plugin on the switch port
 * (port-set impairments), as a runtime passes it in runtimeConfig: iperf3
 * between plugin-attached namespaces runs at the limited rates in both
 * directions while an unshaped pod is not limited; CHECK sees the shaping;
 * a switch restart gives the re-attached port its shaping again. A shaping
 * the switch refuses (or a switch that cannot shape ports) fails ADD with
 * nothing left behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, ControlClient } from '@containet/common';
import { Cleanup, inNetns, killAndWait, linkExists, makeNetns, run, start, testIf, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { portIdentity } from '@containet/cni';
import { containerId, leases, netConf, ports, privateDirs, runPlugin, startSwitch, type Attachment } from './helpers.js';

const MBIT = 1_000_000;

/**
 * Whether this build's switch takes port-set impairments: asked of a switch
 * started for the purpose (port-set of a port that does not exist: refused
 * as unsupported, or as no such port).
 */
async function switchShapes(): Promise<string | null> {
  const cleanup = new Cleanup();
  try {
    const sw = await startSwitch(cleanup);
    const c = await ControlClient.connect(sw.socket);
    try {
      await c.request({ op: 'port-set', port: 'cni-probe', impair: { rateBps: MBIT } });
      return null;
    } catch (err) {
      if (err instanceof ContainetError && err.code === 'CN_UNSUPPORTED') return `this switch refuses port-set (${err.message}): it needs the datapath's link impairments (rateBps, queueLimitBytes per direction)`;
      return null;
    } finally {
      c.close();
    }
  } finally {
    await cleanup.run();
  }
}

const base = whyNoRoot() ?? whyMissing('iperf3', 'ss') ?? (existsSync('/usr/lib/cni/host-local') ? null : 'needs /usr/lib/cni/host-local (Debian containernetworking-plugins)');
const cannotShape = base ? null : await switchShapes();

/** iperf3 from `client` to the server in `server` at `ip` (reverse: the server sends); bits per second received. */
async function iperf(cleanup: Cleanup, serverNs: string, clientNs: string, ip: string, reverse: boolean): Promise<number> {
  const server = start('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', ip]);
  cleanup.add(`iperf3 server ${server.pid}`, () => killAndWait(server));
  await waitFor(async () => (await run('ip', ['netns', 'exec', serverNs, 'ss', '-ltnH', 'sport', '=', ':5201'])).stdout.includes('5201'), 'iperf3 to listen', 10_000);
  const r = await inNetns(clientNs, 'iperf3', ['-c', ip, '-t', '3', '-J', ...(reverse ? ['-R'] : [])], { timeoutMs: 30_000 });
  assert.is(r.code, 0, r.stdout + r.stderr);
  await killAndWait(server);
  const out = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return out.end.sum_received.bits_per_second;
}

testIf(test, base ?? cannotShape, 'runtimeConfig.bandwidth: the port is shaped both ways (iperf3), CHECK sees it, a restarted switch shapes it again', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const env = { CONTAINET_CNI_STATE: state };
    let sw = await startSwitch(cleanup, [], undefined, undefined, env);
    const plain = netConf('cnibw', sw.socket, ipamData, '10.94.0.0/24');
    // Into the container 8 Mbit/s, out of it 4 Mbit/s; bursts of 64 KiB and 32 KiB.
    const bandwidth = { ingressRate: 8 * MBIT, ingressBurst: 64 * 1024 * 8, egressRate: 4 * MBIT, egressBurst: 32 * 1024 * 8 };
    const shaped = { ...plain, runtimeConfig: { bandwidth } };
    const pods: Array<{ ns: string; att: Attachment; ip: string; result: Record<string, unknown> }> = [];
    for (const conf of [plain, shaped, plain]) {
      const ns = await makeNetns(cleanup, 'cnibw');
      const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
      const r = await runPlugin({ command: 'ADD', att, state }, conf);
      assert.is(r.status, 0, r.stdout + r.stderr);
      cleanup.add(`DEL ${att.containerId}`, () => runPlugin({ command: 'DEL', att, state }, conf));
      pods.push({ ns, att, ip: ((r.json as any).ips[0].address as string).split('/')[0]!, result: r.json! });
    }
    const [client, limited, free] = pods as [(typeof pods)[0], (typeof pods)[0], (typeof pods)[0]];
    const node = portIdentity(limited.att.containerId, 'eth0');
    const shapedPort = async () => (await ports(sw.socket)).find((p) => p.node === node);
    const port = await shapedPort();
    assert.is(port?.impair?.out?.rateBps, 8 * MBIT, 'ingress is what the switch sends to the port');
    assert.is(port?.impair?.in?.rateBps, 4 * MBIT, 'egress is what the port sends');
    const check = await runPlugin({ command: 'CHECK', att: limited.att, state }, { ...shaped, prevResult: limited.result });
    assert.is(check.status, 0, check.stdout);

    const into = await iperf(cleanup, limited.ns, client.ns, limited.ip, false);
    const outOf = await iperf(cleanup, limited.ns, client.ns, limited.ip, true);
    const unshaped = await iperf(cleanup, free.ns, client.ns, free.ip, false);
    const fig = `into ${(into / MBIT).toFixed(1)}, out of ${(outOf / MBIT).toFixed(1)}, unshaped ${(unshaped / MBIT).toFixed(1)} Mbit/s`;
    console.log(`  iperf3: ${fig} (limits 8 and 4)`);
    assert.ok(into <= 8 * MBIT * 1.25 && into >= 8 * MBIT * 0.3, fig);
    assert.ok(outOf <= 4 * MBIT * 1.25 && outOf >= 4 * MBIT * 0.3, fig);
    assert.ok(unshaped > 8 * MBIT * 3, fig);

    // A restart: the switch re-attaches the pod from its record, shaping included.
    const socket = sw.socket;
    await killAndWait(sw.child, 'SIGKILL');
    sw = await startSwitch(cleanup, [], socket, undefined, env);
    await waitFor(async () => (await ports(socket)).length === 3, 'the switch to re-attach the pods', 20_000);
    const again = await shapedPort();
    assert.is(again?.impair?.out?.rateBps, 8 * MBIT);
    assert.is(again?.impair?.in?.rateBps, 4 * MBIT);
  } finally {
    await cleanup.run();
  }
});

testIf(test, base, 'a shaping the switch refuses (a rate under 8 bit/s), or a switch that cannot shape: ADD fails, no port, tap, lease or record is left', async () => {
  const cleanup = new Cleanup();
  try {
    const { state, ipamData } = privateDirs(cleanup);
    const sw = await startSwitch(cleanup);
    const conf = { ...netConf('cnibwno', sw.socket, ipamData, '10.95.0.0/24'), runtimeConfig: { bandwidth: { ingressRate: 1, ingressBurst: 8 } } };
    const ns = await makeNetns(cleanup, 'cnibwn');
    const att = { containerId: containerId(), netns: `/run/netns/${ns}`, ifname: 'eth0' };
    const r = await runPlugin({ command: 'ADD', att, state }, conf);
    assert.is.not(r.status, 0);
    assert.is(r.json?.['code'], 101, r.stdout);
    assert.match(String(r.json?.['msg']), /cannot shape the port \(bandwidth\)/);
    assert.match(String(r.json?.['details']), cannotShape ? /CN_UNSUPPORTED/ : /rate 1 bit\/s/);
    await waitFor(async () => (await ports(sw.socket)).length === 0, 'the port to be detached', 5000);
    assert.not.ok(await linkExists(ns, 'eth0'));
    assert.equal(leases(ipamData, 'cnibwno'), []);
    assert.equal(existsSync(join(state, 'cnibwno')) ? readdirSync(join(state, 'cnibwno')) : [], []);
  } finally {
    await cleanup.run();
  }
});

test.run();
