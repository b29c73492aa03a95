/**
 * What runs while scripts/bundle.mjs builds the plugin's V8 startup
 * snapshot: the steps of ADD and DEL on made-up input, so that the
 * functions they call, ours and Node's (net, child_process), are in the
 * snapshot compiled; V8 compiles a function at its first call, and that is
 * otherwise paid by every run (measured with perf stat: 3 ms of CPU for the
 * pure steps, 3-4 ms more for the child processes and the connection).
 * The switch is a stand-in on a temporary socket that answers hello and
 * detach; the delegated plugin is cat. Node takes the snapshot once
 * the event loop is empty, so everything here is closed and removed by
 * then, and nothing of the environment it ran in is kept.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleIsCurrent } from '@containet/common/launcher';
import { encodeFrame, FrameDecoder, readCniRecord, removeCniRecord, writeCniRecord } from '@containet/common';
import { routesToApply } from './commands/add.js';
import { parseNetConf } from './config.js';
import { runDelegate, runDelegateAsync } from './delegate.js';
import { readEnvironment } from './environment.js';
import { attachmentMac, portIdentity } from './port-identity.js';
import { SwitchConnection } from './switch-attach.js';
import { LATEST_VERSION } from './versions.js';

/** A stand-in switch: ok to every request, as the daemon answers hello and detach. */
function standInSwitch(path: string): Promise<() => Promise<void>> {
  const server = createServer((conn) => {
    const decoder = new FrameDecoder(() => {});
    conn.on('data', (chunk: Buffer) => {
      for (const { message } of decoder.push(chunk)) {
        const m = message as { id: number; op: string; port?: string };
        conn.write(encodeFrame(m.op === 'hello' ? { id: m.id, ok: true, version: 1, pid: process.pid } : { id: m.id, ok: true, port: 1, node: m.port }));
      }
    });
    conn.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(() => new Promise((closed) => server.close(() => closed()))));
  });
}

export async function warmUp(inputs: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'containet-cni-snapshot-'));
  const savedState = process.env['CONTAINET_CNI_STATE'];
  try {
    const conf = parseNetConf(JSON.stringify({ cniVersion: LATEST_VERSION, name: 'warm-up', type: 'containet', socket: '/run/containet.sock', ipam: { type: 'host-local', subnet: '10.0.0.0/24' } }));
    const env = readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a'.repeat(64), CNI_NETNS: '/run/netns/warm-up', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: 'IgnoreUnknown=1' });
    const node = portIdentity(env.containerId, env.ifname);
    const mac = attachmentMac(env.containerId, env.ifname);
    routesToApply({ cniVersion: conf.cniVersion, ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }], routes: [{ dst: '0.0.0.0/0' }] });
    JSON.stringify({ cniVersion: conf.cniVersion, interfaces: [{ name: env.ifname, mac, mtu: 1500, sandbox: env.netns }] });
    bundleIsCurrent(inputs);

    process.env['CONTAINET_CNI_STATE'] = join(dir, 'state');
    writeCniRecord({ version: 1, network: conf.name, containerId: env.containerId, ifname: env.ifname, netns: env.netns, socket: '/run/containet.sock', node, mac, mtu: 1500, ipam: null, config: conf.raw, createdAt: new Date().toISOString() });
    readCniRecord(conf.name, env.containerId, env.ifname);
    removeCniRecord(conf.name, env.containerId, env.ifname);

    // The IPAM plugin's run, blocking (ADD) and not (DEL); cat reads the
    // configuration and answers with it, as a plugin answers with a result.
    runDelegate('cat', 'ADD', conf.raw, ['/bin', '/usr/bin']);
    await runDelegateAsync('cat', 'DEL', conf.raw, ['/bin', '/usr/bin']);

    const socket = join(dir, 'switch.sock');
    const close = await standInSwitch(socket);
    try {
      const sw = await SwitchConnection.connect(socket);
      await sw.hello;
      sw.attachFrame({ op: 'attach', node, ifname: env.ifname, mac, addresses: ['10.0.0.2/24'], persist: true });
      await sw.send({ op: 'detach', port: node });
      sw.close();
    } finally {
      await close();
    }
  } finally {
    if (savedState === undefined) delete process.env['CONTAINET_CNI_STATE'];
    else process.env['CONTAINET_CNI_STATE'] = savedState;
    rmSync(dir, { recursive: true, force: true });
  }
}
