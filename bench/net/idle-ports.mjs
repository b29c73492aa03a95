#!/usr/bin/env node
/**
 * Idle ports for bench:net (run inside a network namespace of its own:
 * `ip netns exec NS node idle-ports.mjs SOCKET COUNT`): opens COUNT vnet
 * taps, attaches each to the switch on one control connection, prints
 * `ready COUNT` and holds them, idle, until stdin closes; the switch then
 * detaches them with the connection. It measures what attached ports that
 * carry nothing cost the ports that do.
 */
import { execFileSync } from 'node:child_process';
import { ControlClient, closeFd, openTap } from '@containet/common';

const [socket, countText] = process.argv.slice(2);
const count = Number(countText);
if (!socket || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: idle-ports.mjs SOCKET COUNT\n');
  process.exit(2);
}
// Idle means silent: no IPv6 autoconfiguration (router solicitations,
// duplicate address detection, MLD reports) from 100 interfaces coming up,
// which the switch would flood to every port. This namespace only.
execFileSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
const client = await ControlClient.connect(socket, { onClose: () => process.exit(3) });
for (let i = 0; i < count; i++) {
  const tap = openTap(`idle${i}`, { vnetHdr: true });
  try {
    await client.request({ op: 'attach', node: `idle-${process.pid}-${i}`, ifname: `idle${i}`, persist: false }, tap.fd);
  } finally {
    closeFd(tap.fd); // the switch holds its own copy
  }
  // Up, as a container's interface is: flooded frames reach its stack.
  execFileSync('ip', ['link', 'set', `idle${i}`, 'up']);
}
process.stdout.write(`ready ${count}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  client.close();
  process.exit(0);
});
