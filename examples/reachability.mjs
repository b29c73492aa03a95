#!/usr/bin/env node
/**
 * N containers on one containet switch, and a check of full reachability:
 * every container pings every other (all at once, so the switch learns and
 * forwards under some load), then the switch must show N ports and have
 * learned each container's MAC on that container's port.
 *
 *   sudo node examples/reachability.mjs 8
 *
 * Prints a reachability matrix; exits 0 when all N*(N-1) pairs answered
 * and the switch's tables agree, 1 otherwise, 2 for a bad command line.
 * Everything is torn down at the end, on failure and on Ctrl-C.
 */
import { Lab, runProgram, suiteCommand } from './lib/lab.mjs';
import { pingAll, startMesh } from './lib/mesh.mjs';

const USAGE = 'usage: node examples/reachability.mjs N   (2 <= N <= 250, as root)';

function usage(message) {
  process.stderr.write(`reachability: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function switchTable(socket, what) {
  const [file, args] = suiteCommand('containet', [what, '-s', socket, '--json']);
  const r = await runProgram(file, args, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`containet ${what}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

function matrix(hosts, results) {
  const width = Math.max(...hosts.map((h) => h.name.length)) + 2;
  const cell = (s) => s.padStart(width);
  const lines = [''.padEnd(width) + hosts.map((h) => cell(h.name)).join('')];
  for (const { src, reached } of results) {
    lines.push(src.name.padEnd(width) + hosts.map((h) => cell(h === src ? '-' : reached.has(h.name) ? 'ok' : 'X')).join(''));
  }
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.length !== 1) usage('give the number of containers');
  const count = Number(args[0]);
  if (!Number.isInteger(count) || count < 2 || count > 250) usage(`${args[0]}: give a whole number from 2 to 250`);
  if (process.getuid() !== 0) {
    process.stderr.write('reachability: run as root: containers need namespaces and taps\n');
    process.exit(1);
  }

  const lab = new Lab().trapSignals();
  let ok = false;
  try {
    const { socket, hosts } = await startMesh(lab, { count, log: (l) => console.log(l) });
    console.log(`*** Every container pings the ${count - 1} others`);
    const results = await pingAll(hosts);
    console.log(matrix(hosts, results));
    const pairs = count * (count - 1);
    const reached = results.reduce((n, r) => n + r.reached.size, 0);

    // The switch's side of the story: one port per container, and each
    // container's MAC learned on its own port.
    const ports = await switchTable(socket, 'ports');
    const macs = await switchTable(socket, 'macs');
    const portOf = new Map(macs.map((m) => [m.mac, m.port]));
    const learned = ports.filter((p) => p.macs.some((mac) => portOf.get(mac) === p.port)).length;
    console.log(`*** ${reached}/${pairs} pairs reachable; switch: ${ports.length} ports, ${learned} with their MAC learned, ${macs.length} MAC entries`);
    ok = reached === pairs && ports.length === count && learned === count;
  } catch (err) {
    if (!lab.interrupted) process.stderr.write(`reachability: ${err.message}\n`);
  } finally {
    if (!(await lab.close())) ok = false;
  }
  process.exitCode = ok ? 0 : 1;
}

main();
