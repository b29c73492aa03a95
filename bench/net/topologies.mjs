/**
 * The three ways two endpoints are wired in the benchmark. Each setup returns
 * the same shape, so the measurements run unchanged on every one:
 *
 *   { serverAddr, startServer(argv) -> child, client: Shell }
 *
 * The server side runs one long-lived program (iperf3 -s); the client side is
 * a shell the measurements type commands into. Everything is registered on
 * the Lab, which removes it all, also on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Shell, must, runTag, startContainer, startSwitch, waitUntil, lastLines } from '../../examples/lib/lab.mjs';

const PREFIX = 24;

/** Two named network namespaces with lo up, each removed at teardown. */
async function twoNamespaces(lab, tag, kind) {
  const names = [`cnb-${kind}a-${tag}`, `cnb-${kind}b-${tag}`];
  for (const ns of names) {
    await lab.acquire(`network namespace ${ns}`, () => must('ip', 'netns', 'add', ns), () => must('ip', 'netns', 'del', ns));
    await must('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  return names;
}

/** Address an interface inside a namespace and bring it up. */
async function configure(ns, ifname, address) {
  await must('ip', '-n', ns, 'addr', 'add', `${address}/${PREFIX}`, 'dev', ifname);
  await must('ip', '-n', ns, 'link', 'set', ifname, 'up');
}

/** The server and client halves shared by both namespace-based setups. */
function netnsEnds(lab, [nsA, nsB], serverAddr, kind) {
  const client = new Shell(lab.start('ip', ['netns', 'exec', nsB, 'sh'], { stdin: 'pipe', group: true, label: `${kind} client shell` }));
  return {
    serverAddr,
    startServer: (argv) => lab.start('ip', ['netns', 'exec', nsA, ...argv], { label: `${kind} ${argv[0]}` }),
    client,
  };
}

/**
 * (1) The ceiling: a kernel bridge with one veth pair per namespace, the
 * layout Docker and Mininet's default switch use.
 */
export async function kernelBridge(lab) {
  const tag = runTag();
  const ns = await twoNamespaces(lab, tag, 'br');
  const bridge = `cnbbr${tag}`.slice(0, 15);
  await lab.acquire(`bridge ${bridge}`, () => must('ip', 'link', 'add', bridge, 'type', 'bridge'), () => must('ip', 'link', 'del', bridge));
  await must('ip', 'link', 'set', bridge, 'up');
  const addrs = ['10.231.0.1', '10.231.0.2'];
  for (const [i, n] of ns.entries()) {
    const host = `cnbv${i}${tag}`.slice(0, 15);
    // The host end stays in the root namespace on the bridge; deleting it
    // deletes the pair, and deleting the namespace would too.
    await lab.acquire(
      `veth ${host}`,
      () => must('ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n),
      () => must('ip', 'link', 'del', host).catch(() => {}),
    );
    await must('ip', 'link', 'set', host, 'master', bridge, 'up');
    await configure(n, 'eth0', addrs[i]);
  }
  return netnsEnds(lab, ns, addrs[0], 'bridge');
}

/**
 * (2) vde_switch with one vde_plug2tap per namespace. vde_plug2tap opens its
 * tap in the root namespace; a tap can then be moved into another namespace
 * while its fd stays open (ip-link(8) `netns`), and it disappears when
 * vde_plug2tap exits.
 */
export async function vdeSwitch(lab) {
  const tag = runTag();
  const dir = await lab.tempDir('containet-bench-vde-');
  const sock = join(dir, 'switch');
  // In the foreground vde_switch reads management commands from stdin and
  // quits at end of file, so stdin stays an open pipe until teardown.
  const sw = lab.start('vde_switch', ['--sock', sock, '--mgmt', join(dir, 'mgmt')], { stdin: 'pipe', stdout: 'ignore', label: 'vde_switch' });
  await waitUntil(async () => {
    if (sw.exitCode !== null) throw new Error(`vde_switch exited ${sw.exitCode}: ${lastLines(sw)}`);
    return existsSync(join(sock, 'ctl'));
  }, 'vde_switch to listen');
  const ns = await twoNamespaces(lab, tag, 'vde');
  const addrs = ['10.232.0.1', '10.232.0.2'];
  for (const [i, n] of ns.entries()) {
    const tap = `cnbt${i}${tag}`.slice(0, 15);
    const plug = lab.start('vde_plug2tap', ['--sock', sock, tap], { label: `vde_plug2tap ${tap}` });
    await waitUntil(async () => {
      if (plug.exitCode !== null) throw new Error(`vde_plug2tap exited ${plug.exitCode}: ${lastLines(plug)}`);
      return (await must('ip', '-o', 'link', 'show').catch(() => '')).includes(` ${tap}:`);
    }, `tap ${tap}`);
    await must('ip', 'link', 'set', tap, 'netns', n);
    await configure(n, tap, addrs[i]);
  }
  return netnsEnds(lab, ns, addrs[0], 'vde');
}

/**
 * (3) containet with two containode containers. Without -r a container sees
 * the host's filesystem, so the host's iperf3 and ping run inside it.
 */
export async function containetSwitch(lab, { datapath } = {}) {
  const tag = runTag();
  const dir = await lab.tempDir('containet-bench-');
  const socket = join(dir, 'switch.sock');
  // CONTAINET_DATAPATH=epoll makes the daemon take its read/write path
  // instead of io_uring (the child inherits the environment at spawn).
  const saved = process.env.CONTAINET_DATAPATH;
  if (datapath) process.env.CONTAINET_DATAPATH = datapath;
  let sw;
  try {
    sw = await startSwitch(lab, socket);
  } finally {
    if (saved === undefined) delete process.env.CONTAINET_DATAPATH;
    else process.env.CONTAINET_DATAPATH = saved;
  }
  const addrs = ['10.233.0.1', '10.233.0.2'];
  const client = new Shell(startContainer(lab, { socket, address: `${addrs[1]}/${PREFIX}`, id: `bench-c-${tag}`, program: ['/bin/sh'] }));
  // The shell answers once containode has attached eth0 and started it.
  await client.run('true', 20_000);
  let servers = 0;
  return {
    // The daemon's pid: its CPU time (all threads, /proc/PID/stat) is the switch's cost.
    switchPid: sw.pid,
    socket,
    serverAddr: addrs[0],
    startServer: (argv) =>
      startContainer(lab, { socket, address: `${addrs[0]}/${PREFIX}`, id: `bench-s${++servers}-${tag}`, program: argv, stdin: 'ignore' }),
    client,
  };
}
