/**
 * N containers on one containet switch, each running a shell we type into,
 * and the all-pairs ping check Mininet calls `pingall`.
 */
import { join } from 'node:path';
import { Shell, parsePing, runTag, startContainer, startSwitch } from './lab.mjs';

/**
 * Start a switch on a private socket and `count` containers h1..hN with
 * addresses SUBNET.1..SUBNET.N/24. Resolves when every container's shell
 * answers, i.e. each has its eth0 attached and up (containode starts the
 * program only after that).
 */
export async function startMesh(lab, { count, subnet = '10.0.0', log = () => {} }) {
  const dir = await lab.tempDir('containet-demo-');
  const socket = join(dir, 'switch.sock');
  log(`*** Starting the containet switch on ${socket}`);
  await startSwitch(lab, socket);
  const tag = runTag();
  const hosts = [];
  for (let i = 1; i <= count; i++) {
    const name = `h${i}`;
    const address = `${subnet}.${i}`;
    const child = startContainer(lab, { socket, address: `${address}/24`, id: `${name}-${tag}`, program: ['/bin/sh'] });
    hosts.push({ name, address, shell: new Shell(child) });
  }
  log(`*** Starting ${count} containers: ${hosts.map((h) => `${h.name} ${h.address}`).join(', ')}`);
  await Promise.all(hosts.map((h) => h.shell.run('true', 30_000)));
  return { socket, hosts };
}

/**
 * Every host pings every other once (`ping -c 1 -W TIMEOUT`, as Mininet's
 * pingall does). Each host works through its list in order; hosts run in
 * parallel. Returns, per host, the names it reached and the ones it did not.
 */
export async function pingAll(hosts, { timeoutS = 2 } = {}) {
  return Promise.all(
    hosts.map(async (src) => {
      const reached = new Set();
      for (const dst of hosts) {
        if (dst === src) continue;
        const r = await src.shell.run(`ping -n -c 1 -W ${timeoutS} ${dst.address}`, (timeoutS + 10) * 1000);
        if (parsePing(r.output).received === 1) reached.add(dst.name);
      }
      return { src, reached };
    }),
  );
}

/**
 * Mininet's pingall report: `h1 -> h2 h3` per host with X for a host not
 * reached, then `*** Results: P% dropped (R/S received)` with P truncated
 * to a whole percent, as Mininet prints it.
 */
export function formatPingAll(hosts, results) {
  const lines = [];
  let sent = 0;
  let received = 0;
  for (const { src, reached } of results) {
    const cells = hosts.filter((h) => h !== src).map((h) => (reached.has(h.name) ? h.name : 'X'));
    sent += cells.length;
    received += reached.size;
    lines.push(`${src.name} -> ${cells.join(' ')}`);
  }
  const dropped = sent === 0 ? 0 : Math.trunc((100 * (sent - received)) / sent);
  lines.push(`*** Results: ${dropped}% dropped (${received}/${sent} received)`);
  return { lines, sent, received };
}
