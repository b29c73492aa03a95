/**
 * A real CNI client: Debian's podman 4.3 (CNI backend) with a private CNI
 * config directory holding a conflist of type containet, private storage
 * (vfs), run and tmp directories and containers.conf. Two containers on
 * that network ping each other through the switch; `podman rm` removes
 * their ports, leases and records. podman's state goes after, also on failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, makeBusyboxRoot, run, sh, testIf, uniqueName, whyMissing, whyNoRoot } from '@containet/common/testing';
import { stateDir } from '@containet/common';
import { leases, PLUGIN, ports, startSwitch } from './helpers.js';

const reason = whyNoRoot() ?? whyMissing('podman', 'runc', 'conmon') ?? (existsSync('/usr/lib/cni/host-local') ? null : 'needs /usr/lib/cni/host-local');

/** Unmount whatever podman may have left mounted under `dir` (a container's shm), deepest first. */
function unmountUnder(dir: string): Promise<unknown> {
  const points = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  return Promise.all(points.map((p) => run('umount', ['-l', p])));
}

testIf(test, reason, 'podman run --network NAME: two containers ping each other through containet; podman rm removes their ports', async () => {
  const cleanup = new Cleanup();
  const base = mkdtempSync(join(tmpdir(), 'cni-podman-'));
  cleanup.add(`rm -r ${base}`, async () => {
    await unmountUnder(base);
    rmSync(base, { recursive: true, force: true });
  });
  try {
    const sw = await startSwitch(cleanup);
    const network = uniqueName('cnpod');
    const netDir = join(base, 'cni.d');
    const pluginDir = join(base, 'cni-bin');
    // Records in the default directory: podman runs the DEL of a container
    // that stops from `podman container cleanup`, which conmon starts with
    // its own environment, so CONTAINET_CNI_STATE would not reach it. The
    // network's name is unique to this run, and so is its directory there.
    const state = join(stateDir(), 'cni');
    cleanup.add(`rm -r ${join(state, network)}`, () => rmSync(join(state, network), { recursive: true, force: true }));
    const ipamData = join(base, 'ipam');
    mkdirSync(netDir);
    mkdirSync(join(base, 'tmp'));
    // The plugin as CNI runtimes find it: a file named after its type in a plugin directory.
    mkdirSync(pluginDir);
    await sh('ln', '-s', process.env['CNI_TEST_PLUGIN'] ?? PLUGIN, join(pluginDir, 'containet'));
    writeFileSync(
      join(netDir, `${network}.conflist`),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [{ type: 'containet', socket: sw.socket, ipam: { type: 'host-local', subnet: '10.98.0.0/24', dataDir: ipamData, routes: [{ dst: '0.0.0.0/0' }] } }],
      }),
    );
    // podman asks for RLIMIT_NOFILE 1048576 (and a large RLIMIT_NPROC),
    // above this machine's hard limits: the containers get small ones.
    writeFileSync(
      join(base, 'containers.conf'),
      [
        '[containers]',
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        '[network]',
        'network_backend = "cni"',
        `network_config_dir = "${netDir}"`,
        `cni_plugin_dirs = ["${pluginDir}", "/usr/lib/cni"]`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "none"',
        `tmp_dir = "${join(base, 'tmp')}"`,
        'runtime = "runc"',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: join(base, 'containers.conf') };
    delete env['CONTAINET_CNI_STATE'];
    const podman = (...args: string[]) =>
      run('podman', ['--root', join(base, 'root'), '--runroot', join(base, 'runroot'), '--storage-driver', 'vfs', ...args], { env, timeoutMs: 60_000 });
    const must = async (...args: string[]) => {
      const r = await podman(...args);
      if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout.trim();
    };
    cleanup.add('podman rm -af', () => podman('rm', '-af', '-t', '0'));

    // An image built here: busybox-static in a root filesystem, imported from a tar.
    const rootfs = join(base, 'rootfs');
    mkdirSync(rootfs);
    await makeBusyboxRoot(rootfs);
    await sh('tar', '-C', rootfs, '-cf', join(base, 'rootfs.tar'), '.');
    const image = `localhost/${network}:latest`;
    await must('import', join(base, 'rootfs.tar'), image);

    const names = [uniqueName('cnpa'), uniqueName('cnpb')];
    for (const name of names) await must('run', '-d', '--name', name, '--network', network, '--cap-add', 'NET_RAW', image, 'sleep', '300');
    const attached = await ports(sw.socket);
    assert.is(attached.length, 2, 'one port per container');
    const ipOf = (name: string) => must('inspect', name, '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`);
    const ipB = await ipOf(names[1]!);
    assert.match(ipB, /^10\.98\.0\.\d+$/);
    assert.ok(attached.some((p) => p.addresses.includes(`${ipB}/24`)));
    const ping = await podman('exec', names[0]!, 'ping', '-c', '3', '-W', '2', ipB);
    assert.is(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /3 packets received/);
    assert.is(leases(ipamData, network).length, 2);
    assert.is(readdirSync(join(state, network)).length, 2);

    const rm = await podman('rm', '-f', '-t', '0', ...names);
    assert.is(rm.code, 0, rm.stderr);
    assert.not.match(rm.stderr, /error|warn/i, rm.stderr);
    assert.equal(await ports(sw.socket), [], 'podman rm removed the ports');
    assert.equal(leases(ipamData, network), []);
    assert.equal(readdirSync(join(state, network)), []);
    await must('rmi', image);
  } finally {
    await cleanup.run();
  }
  assert.not.ok(existsSync(base));
});

test.run();
