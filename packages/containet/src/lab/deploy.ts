/**
 * Deploy a lab, all or nothing: check everything that can be checked before
 * anything starts (the file, images, binds, names taken on the host), then
 * start the switches, the nodes, plug their links, set the links'
 * impairments and run the nodes' exec commands. A failure or an interrupt
 * (the AbortSignal: Ctrl-C) at any step removes what was made, from the
 * record written as it was made, and says which step failed.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainetError, ControlClient, eachLimit } from '@containet/common';
import { destroyLab } from './destroy.js';
import { chooseSubnet, hostRoutes, overlaps, parseSubnet, type Subnet } from './mgmt-subnet.js';
import { nodeProblem, runExecs, startNode } from './nodes.js';
import { planLab, runDirFor, type LabPlan, type PortPlan } from './plan.js';
import { attachPort } from './port-attach.js';
import { lastError, run, suiteProgram } from './programs.js';
import { allRecords, loadRecord, saveRecord, withLabsLock, type LabRecord } from './record.js';
import { startSwitch } from './switches.js';
import { readTopology, type LabTopology } from './topology.js';

export interface DeployOptions {
  /** Replace the lab if it is deployed. */
  reconfigure?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Containers started at once (default 8). */
  parallel?: number;
}

/** eachLimit(), stopping with CN_LAB_INTERRUPTED before the next item once `signal` is aborted. */
function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  return eachLimit(items, limit, async (item) => {
    if (signal?.aborted) throw interrupted();
    await fn(item);
  });
}

function interrupted(): ContainetError {
  return new ContainetError('CN_LAB_INTERRUPTED', 'interrupted', { exitCode: 130 });
}

/** Pull the images the nodes name that mocker's store lacks. */
async function ensureImages(topo: LabTopology, log: (l: string) => void): Promise<void> {
  const images = [...new Set(topo.nodes.map((n) => n.image).filter((i): i is string => i !== undefined))];
  for (const image of images) {
    const [file, args] = suiteProgram('mocker', ['inspect', image]);
    if ((await run(file, args, { tls: true })).code === 0) continue;
    log(`pulling ${image}`);
    const [pf, pa] = suiteProgram('mocker', ['pull', image]);
    const r = await run(pf, pa, { timeoutMs: 600_000, tls: true });
    if (r.code !== 0) {
      const node = topo.nodes.find((n) => n.image === image)!;
      throw new ContainetError('CN_LAB_IMAGE', `${node.place}: topology.nodes.${node.name}.image: cannot pull ${image}: ${lastError(r)}`, {
        hint: 'mocker pull IMAGE by hand, or leave `image` out to run the node on the host\'s files',
      });
    }
  }
}

/** The host's interfaces, by name (/sys/class/net). */
function hostHasInterface(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

function preflight(plan: LabPlan): void {
  for (const n of plan.nodes) {
    const problem = nodeProblem(n);
    if (problem) throw new ContainetError('CN_LAB_NODE', `${n.spec.place}: topology.nodes.${n.name}: ${problem}`, { exitCode: 2 });
  }
  for (const t of plan.hostTaps) {
    if (hostHasInterface(t.ifname)) throw new ContainetError('CN_LAB_HOST_TAP', `host:${t.ifname}: the host already has an interface of that name`, { hint: 'give the host end of the link another name', exitCode: 2 });
  }
  if (existsSync(plan.dir)) {
    throw new ContainetError('CN_LAB_DIR', `${plan.dir} exists, but lab ${plan.name} is not deployed (left by a deploy that was killed?)`, {
      hint: `containet lab destroy -t ${plan.file} --cleanup removes what is left`,
    });
  }
}

/** The management subnet: the file's, checked against the host's routes and other labs; else a free one. */
function managementSubnet(topo: LabTopology): Subnet {
  const others = allRecords().map((r) => parseSubnet(r.plan.subnet));
  const taken = [...hostRoutes(), ...others];
  if (topo.mgmt.ipv4Subnet) {
    const s = parseSubnet(topo.mgmt.ipv4Subnet);
    const clash = taken.find((t) => overlaps(s, t));
    if (clash) {
      throw new ContainetError('CN_LAB_SUBNET', `mgmt.ipv4-subnet ${topo.mgmt.ipv4Subnet} overlaps ${clash.network === s.network ? 'a route of the host or another lab' : 'a route of the host'}`, {
        hint: 'give another subnet, or leave mgmt.ipv4-subnet out to have a free one chosen',
        exitCode: 2,
      });
    }
    return s;
  }
  const s = chooseSubnet(taken);
  if (!s) throw new ContainetError('CN_LAB_SUBNET', 'no free /24 in 172.20.20.0-172.31.255.0 for the management network', { hint: 'set mgmt.ipv4-subnet' });
  return s;
}

export interface DeployResult {
  record: LabRecord;
  ms: number;
}

export async function deployLab(file: string, opts: DeployOptions = {}): Promise<DeployResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const topo = readTopology(file);
  const existing = loadRecord(runDirFor(topo.name));
  if (existing && !opts.reconfigure) {
    throw new ContainetError('CN_LAB_RUNNING', `lab ${topo.name} is already deployed (from ${existing.plan.file}, ${existing.created})`, {
      hint: `containet lab deploy --reconfigure -t ${file} replaces it; containet lab destroy -t ${file} removes it`,
    });
  }
  if (existing) {
    log(`destroying the running lab ${topo.name} (--reconfigure)`);
    const problems = await destroyLab(existing);
    if (problems.length) throw new ContainetError('CN_LAB_DESTROY', `lab ${topo.name} could not be destroyed for --reconfigure: ${problems.join('; ')}`);
  }
  // A plan without the host's state first: the file's own problems (mgmt-ipv4 outside its subnet) before any look-up.
  planLab(topo, parseSubnet(topo.mgmt.ipv4Subnet ?? '172.20.20.0/24'));
  await ensureImages(topo, log);
  if (opts.signal?.aborted) throw interrupted();
  const rec = await withLabsLock(() => {
    const plan = planLab(topo, managementSubnet(topo));
    preflight(plan);
    try {
      mkdirSync(plan.runDir, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ContainetError('CN_LAB_RUNNING', `lab ${topo.name} is already deployed`, { hint: `containet lab inspect -t ${file}` });
      throw err;
    }
    const r: LabRecord = { version: 1, state: 'deploying', created: new Date().toISOString(), plan, switches: [], containers: [], hostTaps: [] };
    saveRecord(r);
    return r;
  });
  let step = 'preparing the lab directory';
  try {
    await build(rec, opts, log, (s) => (step = s));
  } catch (err) {
    const what = (err as ContainetError).code === 'CN_LAB_INTERRUPTED' ? 'interrupted' : 'failed';
    log(`deploy ${what} while ${step}; removing what was made`);
    const problems = await destroyLab(rec);
    const left = problems.length ? `; NOT removed: ${problems.join('; ')}` : '; everything it made was removed';
    const e = err as ContainetError;
    throw new ContainetError(e.code ?? 'CN_LAB_DEPLOY', `lab ${topo.name}: deploy ${what} while ${step}: ${e.message}${left}`, { hint: e.hint, exitCode: e.exitCode ?? 1, cause: err });
  }
  return { record: rec, ms: performance.now() - t0 };
}

async function build(rec: LabRecord, opts: DeployOptions, log: (l: string) => void, stepIs: (s: string) => void): Promise<void> {
  const plan = rec.plan;
  const check = (): void => {
    if (opts.signal?.aborted) throw interrupted();
  };
  mkdirSync(plan.dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(plan.dir, 'topology-data.json'), JSON.stringify(plan, null, 2) + '\n', { mode: 0o644 });

  stepIs(`starting ${plan.switches.length} switches`);
  log(`starting ${plan.switches.length} switches (management ${plan.subnet})`);
  check();
  await Promise.all(
    plan.switches.map((sw) =>
      startSwitch(sw, join(plan.runDir, `${sw.id}.log`), (running) => {
        rec.switches.push(running);
        saveRecord(rec);
      }),
    ),
  );
  check();

  // Each node with all its interfaces (containode run --net): its links are up when it starts.
  stepIs(`starting ${plan.nodes.length} nodes`);
  log(`starting ${plan.nodes.length} nodes, ${plan.links.length} links`);
  await pool(
    plan.nodes,
    opts.parallel ?? 8,
    async (node) => {
      rec.containers.push(node.container);
      saveRecord(rec);
      await startNode(plan, node);
    },
    opts.signal,
  );
  check();

  stepIs('plugging the host\'s links');
  const socketOf = new Map(plan.switches.map((s) => [s.id, s.socket]));
  for (const tap of plan.hostTaps) {
    check();
    rec.hostTaps.push(tap.ifname);
    saveRecord(rec);
    await attachPort(socketOf.get(tap.switchId)!, '/proc/self/ns/net', tap);
  }
  check();

  const tagged = [...plan.nodes.flatMap((n) => n.interfaces), ...plan.hostTaps].filter((p) => p.vlan !== undefined);
  if (tagged.length) {
    stepIs('checking the ports\' VLANs');
    await checkVlans(socketOf, tagged);
  }

  const impaired = [...plan.nodes.flatMap((n) => n.interfaces), ...plan.hostTaps].filter((p) => p.impair);
  if (impaired.length) {
    stepIs('setting link impairments');
    for (const p of impaired) await setImpairment(socketOf.get(p.switchId)!, p);
  }
  check();

  const withExec = plan.nodes.filter((n) => n.spec.exec.length);
  if (withExec.length) {
    stepIs('running the nodes\' exec commands');
    log(`running exec commands on ${withExec.length} nodes`);
    await pool(withExec, opts.parallel ?? 8, runExecs, opts.signal);
  }
  check();
  rec.state = 'running';
  saveRecord(rec);
}

/** A link's impairments on its port, both directions (the control protocol's port-set). */
async function setImpairment(socket: string, port: PortPlan): Promise<void> {
  const client = await ControlClient.connect(socket);
  try {
    await client.request({ op: 'port-set', port: `${port.attachNode}:${port.ifname}`, direction: 'both', impair: port.impair });
  } catch (err) {
    const e = err as ContainetError;
    throw new ContainetError(e.code ?? 'CN_LAB_IMPAIR', `${port.attachNode}:${port.ifname}: link vars: the switch refused the impairments: ${e.message}`, { hint: e.hint ?? 'this switch does not apply link impairments yet; remove delay/jitter/loss/rate from the link vars' });
  } finally {
    client.close();
  }
}

/**
 * The attach asked for each port's access VLAN; a switch that predates
 * VLANs takes the request and leaves the port on VLAN 1, which would join
 * segments the file keeps apart: refuse instead of ignoring it.
 */
async function checkVlans(socketOf: Map<string, string>, ports: PortPlan[]): Promise<void> {
  for (const [switchId, socket] of socketOf) {
    const wanted = ports.filter((p) => p.switchId === switchId);
    if (!wanted.length) continue;
    const client = await ControlClient.connect(socket);
    try {
      const { ports: listed } = await client.request({ op: 'ports' });
      for (const p of wanted) {
        const got = listed.find((l) => l.node === p.attachNode && l.ifname === p.ifname);
        if (got?.vlan?.mode !== 'access' || got.vlan.vlan !== p.vlan) {
          throw new ContainetError('CN_LAB_VLAN', `${p.attachNode}:${p.ifname}: link vars: the switch did not put the port on VLAN ${p.vlan}`, {
            hint: 'this switch does not do VLANs yet; remove vlan from the link vars',
          });
        }
      }
    } finally {
      client.close();
    }
  }
}
