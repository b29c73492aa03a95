/**
 * `containet lab deploy|destroy|inspect|exec|graph -t FILE`: labs from
 * containerlab topology files (packages/containet/src/lab).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ContainetError, UsageError } from '@containet/common';
import { deployLab } from '../lab/deploy.js';
import { destroyLab } from '../lab/destroy.js';
import { renderGraph } from '../lab/graph.js';
import { deployedRecord, formatLab, inspectLab } from '../lab/inspect.js';
import { planLab, runDirFor } from '../lab/plan.js';
import { parseSubnet } from '../lab/mgmt-subnet.js';
import { programEnv, suiteProgram } from '../lab/programs.js';
import { loadRecord, type LabRecord } from '../lab/record.js';
import { readTopology } from '../lab/topology.js';
import { readTopologyName } from '../lab/topology-name.js';

export const commandNames = ['lab'];

export const help =
  "Labs from containerlab topology files: deploy starts a lab's switches and nodes (detached containode containers, eth0 on the lab's management network) and plugs its links; " +
  'destroy removes all of it; inspect shows its nodes, interfaces and switches; exec runs a command in a node; graph draws it (HTML/SVG).';

export const actions = ['deploy', 'destroy', 'inspect', 'exec', 'graph'] as const;

export interface LabOptions {
  topo?: string;
  json?: boolean;
  reconfigure?: boolean;
  cleanup?: boolean;
  output?: string;
  /** Progress lines (deploy, destroy); the CLI writes them to stderr. */
  log?: (line: string) => void;
  /** Interrupts a deploy (Ctrl-C): it then removes what it made. */
  signal?: AbortSignal;
}

const USAGE = 'usage: containet lab deploy|destroy|inspect|graph -t FILE, containet lab exec -t FILE NODE -- CMD...';

function topoFile(opts: LabOptions): string {
  if (!opts.topo) throw new UsageError('a lab command needs the topology file', `${USAGE} (-t, --topo FILE)`);
  return opts.topo;
}

export async function handler(opts: LabOptions, args: string[]): Promise<string> {
  const [action, ...rest] = args;
  switch (action) {
    case 'deploy':
      return deploy(opts);
    case 'destroy':
      return destroy(opts);
    case 'inspect': {
      const view = await inspectLab(deployedRecord(topoFile(opts)));
      return opts.json ? JSON.stringify(view, null, 2) + '\n' : formatLab(view);
    }
    case 'exec':
      process.exitCode = await exec(opts, rest);
      return '';
    case 'graph':
      return graph(opts);
    default:
      throw new UsageError(action === undefined ? 'containet lab needs an action' : `unknown lab action '${action}'`, USAGE);
  }
}

async function deploy(opts: LabOptions): Promise<string> {
  const { record, ms } = await deployLab(topoFile(opts), { reconfigure: opts.reconfigure, log: opts.log, signal: opts.signal });
  if (opts.json) return JSON.stringify(await inspectLab(record), null, 2) + '\n';
  return `lab ${record.plan.name} deployed in ${(ms / 1000).toFixed(2)} s\n${formatLab(await inspectLab(record))}`;
}

async function destroy(opts: LabOptions): Promise<string> {
  const file = topoFile(opts);
  const name = readTopologyName(file);
  let rec = loadRecord(runDirFor(name));
  if (!rec) {
    if (!opts.cleanup) throw new ContainetError('CN_LAB_NOT_DEPLOYED', `lab ${name} is not deployed`, { hint: `containet lab destroy -t ${file} --cleanup removes what a killed deploy may have left` });
    // No record: what the file names (containers, host taps, the lab directory) is swept.
    const topo = readTopology(file);
    const plan = planLab(topo, parseSubnet(topo.mgmt.ipv4Subnet ?? '172.20.20.0/24'));
    rec = { version: 1, state: 'failed', created: '', plan, switches: [], containers: [], hostTaps: [] } satisfies LabRecord;
  }
  const t0 = performance.now();
  const problems = await destroyLab(rec);
  if (problems.length) throw new ContainetError('CN_LAB_DESTROY', `lab ${name}: not everything was removed: ${problems.join('; ')}`, { hint: `run containet lab destroy -t ${file} --cleanup again` });
  const ms = performance.now() - t0;
  if (opts.json) return JSON.stringify({ lab: name, destroyed: true, ms: Math.round(ms) }) + '\n';
  return `lab ${name} destroyed in ${(ms / 1000).toFixed(2)} s: ${rec.plan.nodes.length} nodes, ${rec.switches.length} switches\n`;
}

async function exec(opts: LabOptions, rest: string[]): Promise<number> {
  const [node, ...words] = rest;
  // `NODE -- CMD...` goes to containode exec as it is: `--` ends its options, as docker exec's.
  const cmd = words[0] === '--' ? words.slice(1) : words;
  if (node === undefined || !cmd.length) throw new UsageError('lab exec needs a node and a command', 'containet lab exec -t FILE NODE -- CMD...');
  const rec = deployedRecord(topoFile(opts));
  const target = rec.plan.nodes.find((n) => n.name === node || n.container === node);
  if (!target) {
    throw new UsageError(`lab ${rec.plan.name} has no linux node ${JSON.stringify(node)}`, `its nodes: ${rec.plan.nodes.map((n) => n.name).join(', ')}`);
  }
  const [file, args] = suiteProgram('containode', ['exec', target.container, ...words]);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env: programEnv() });
    child.on('error', (err) => reject(new ContainetError('CN_LAB_PROGRAM', `cannot run containode: ${err.message}`)));
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 + 15 : 1)));
  });
}

function graph(opts: LabOptions): string {
  const file = topoFile(opts);
  const topo = readTopology(file);
  const html = renderGraph(topo);
  if (opts.output === '-') return html;
  const out = opts.output ?? join(dirname(resolve(file)), `${topo.name}.graph.html`);
  writeFileSync(out, html, { mode: 0o644 });
  return opts.json ? JSON.stringify({ lab: topo.name, graph: out }) + '\n' : `${out}\n`;
}
