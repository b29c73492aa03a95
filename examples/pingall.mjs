#!/usr/bin/env node
/**
 * The main demo (`pnpm demo`, as root): a lab from a containerlab topology
 * file (examples/labs/demo.clab.yml: three hosts on a switch), every host
 * pinging every other over its link, Mininet's pingall summary, the lab as
 * `containet lab inspect` shows it, then `containet lab destroy`. The lab is
 * destroyed at the end, on a failing step and on Ctrl-C; the exit status is 1
 * if any ping failed.
 *
 * No image and no internet are needed: nodes without an image run on the
 * host's files (its /bin/sh and ping, iputils-ping from scripts/setup.sh)
 * in their own namespaces.
 *
 * Each linux node with a `demo.ipv4` label is pinged at that address.
 *
 * Usage: node examples/pingall.mjs [-t FILE]
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { REPO, hasCommand, runProgram, suiteCommand } from './lib/lab.mjs';
import { formatPingAll } from './lib/mesh.mjs';

const USAGE = 'usage: node examples/pingall.mjs [-t TOPOLOGY.clab.yml]   (as root)';

function fail(message, status = 2) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(status);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({ options: { topo: { type: 'string', short: 't', default: join(REPO, 'examples/labs/demo.clab.yml') }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return { topo: values.topo };
}

/** `containet lab ACTION -t FILE ARGS...`, output collected. */
function lab(action, topo, args = [], timeoutMs = 120_000) {
  const [file, argv] = suiteCommand('containet', ['lab', action, '-t', topo, ...args]);
  return runProgram(file, argv, { timeoutMs });
}

/** Every host pings every other once (`ping -c 1 -W 2`, as Mininet's pingall); hosts in parallel. */
async function pingAll(topo, hosts) {
  return Promise.all(
    hosts.map(async (src) => {
      const reached = new Set();
      for (const dst of hosts) {
        if (dst === src) continue;
        const r = await lab('exec', topo, [src.name, '--', 'ping', '-n', '-c', '1', '-W', '2', dst.address], 30_000);
        if (r.code === 0) reached.add(dst.name);
      }
      return { src, reached };
    }),
  );
}

async function main() {
  const { topo } = options();
  if (process.getuid() !== 0) fail('run as root (sudo pnpm demo): nodes need new namespaces and taps', 1);
  if (!hasCommand('ping')) fail('no ping on this machine: run `bash scripts/setup.sh` (it installs iputils-ping)', 1);
  const log = (line) => console.log(line);
  let deployed = false;
  let deploying = false;
  let interrupted = null;
  let status = 1;
  const destroy = async () => {
    if (!deployed) return true;
    deployed = false;
    log('*** Destroying the lab');
    const r = await lab('destroy', topo);
    if (r.code !== 0) process.stderr.write(r.stderr);
    return r.code === 0;
  };
  const exitFor = (signal) => 128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal];
  // Ctrl-C reaches the lab command too (same process group): a deploy undoes
  // itself, and is waited for; once deployed, the lab is destroyed here.
  const onSignal = (signal) => {
    if (interrupted) return;
    interrupted = signal;
    log(`\n*** ${signal}: tearing down`);
    if (!deploying) destroy().finally(() => process.exit(exitFor(signal)));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, onSignal);
  try {
    log(`*** Deploying ${topo}`);
    deploying = true;
    const d = await lab('deploy', topo, ['--json']);
    deploying = false;
    deployed = d.code === 0;
    if (interrupted) {
      await destroy();
      process.exit(exitFor(interrupted));
    }
    if (d.code !== 0) {
      process.stderr.write(d.stderr);
      process.exitCode = 1;
      return;
    }
    const view = JSON.parse(d.stdout);
    const hosts = view.nodes.filter((n) => n.labels['demo.ipv4']).map((n) => ({ name: n.name, address: n.labels['demo.ipv4'] }));
    log(`*** Lab ${view.name}: ${hosts.length} hosts (${hosts.map((h) => `${h.name} ${h.address}`).join(', ')}), management ${view.mgmt.subnet}`);
    log('*** Ping: testing ping reachability');
    const results = await pingAll(topo, hosts);
    const { lines, sent, received } = formatPingAll(hosts, results);
    for (const line of lines) log(line);
    const insp = await lab('inspect', topo);
    if (insp.code === 0) log(`*** The lab\n${insp.stdout.trimEnd()}`);
    status = received === sent && sent > 0 ? 0 : 1;
  } catch (err) {
    if (!interrupted) process.stderr.write(`demo: ${err.message}\n`);
  } finally {
    if (!interrupted && !(await destroy())) status = 1;
  }
  if (!interrupted) process.exitCode = status;
}

main();
