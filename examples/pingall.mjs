#!/usr/bin/env node
/**
 * The main demo (`pnpm demo`, as root): a containet switch, three containode
 * containers h1, h2, h3 on 10.0.0.0/24, every container pinging every other,
 * and Mininet's pingall summary. Everything is torn down at the end, on a
 * failing step, and on Ctrl-C; the exit status is 1 if any ping failed.
 *
 * No image and no internet are needed: without -r a container sees the
 * host's filesystem, so it runs the host's /bin/sh and ping (iputils-ping,
 * installed by scripts/setup.sh) in its own namespaces.
 *
 * Usage: node examples/pingall.mjs [--hosts N] [--subnet A.B.C]
 */
import { parseArgs } from 'node:util';
import { Lab, hasCommand, runProgram, suiteCommand } from './lib/lab.mjs';
import { formatPingAll, pingAll, startMesh } from './lib/mesh.mjs';

const USAGE = 'usage: node examples/pingall.mjs [--hosts N] [--subnet A.B.C]   (as root)';

function fail(message, status = 2) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(status);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { hosts: { type: 'string', default: '3' }, subnet: { type: 'string', default: '10.0.0' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const count = Number(values.hosts);
  if (!Number.isInteger(count) || count < 2 || count > 250) fail(`--hosts ${values.hosts}: give a whole number from 2 to 250\n${USAGE}`);
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(values.subnet) || values.subnet.split('.').some((o) => Number(o) > 255)) {
    fail(`--subnet ${values.subnet}: give the first three octets of a /24, e.g. 10.0.0\n${USAGE}`);
  }
  return { count, subnet: values.subnet };
}

async function main() {
  const { count, subnet } = options();
  if (process.getuid() !== 0) fail('run as root (sudo pnpm demo): containers need new namespaces and a tap each', 1);
  if (!hasCommand('ping')) fail('no ping on this machine: run `bash scripts/setup.sh` (it installs iputils-ping)', 1);
  const log = (line) => console.log(line);
  const lab = new Lab().trapSignals();
  let status = 1;
  try {
    const { socket, hosts } = await startMesh(lab, { count, subnet, log });
    log('*** Ping: testing ping reachability');
    const results = await pingAll(hosts);
    const { lines, sent, received } = formatPingAll(hosts, results);
    for (const line of lines) log(line);
    // The switch's own view: each container is a port, with its frame counters.
    const [file, args] = suiteCommand('containet', ['ports', '-s', socket]);
    const ports = await runProgram(file, args, { timeoutMs: 10_000 });
    if (ports.code === 0) log(`*** Switch ports\n${ports.stdout.trimEnd()}`);
    status = received === sent ? 0 : 1;
  } catch (err) {
    // After Ctrl-C the failing step is only the interruption itself.
    if (!lab.interrupted) process.stderr.write(`demo: ${err.message}\n`);
  } finally {
    log(`*** Stopping ${count} containers and the switch`);
    if (!(await lab.close())) status = 1;
  }
  process.exitCode = status;
}

main();
