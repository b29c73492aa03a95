/**
 * The live state of deployed labs for the topology view: each link's rates
 * (bits/s and packets/s each way) and state, from the `ports` listings of
 * the lab's switches, read over their control sockets when a page asks
 * (never in the background) and at most once a second per lab, however
 * many pages ask. Bounded: at most MAX_LABS labs kept, MAX_SWITCHES_AT_ONCE
 * listings in flight, each switch given SWITCH_TIMEOUT_MS to answer (one
 * that does not is shown down), and only the counters of the lab's links
 * kept between polls.
 */
import { ControlClient, type PortInfo } from '@containet/common';
import { graphOfPlan, type GraphModel } from './graph.js';
import { HOST_NODE, LAB_NAME } from './topology.js';
import { allRecords, loadRecord, type LabRecord } from './record.js';
import { runDirFor, type LabPlan } from './plan.js';

export const MAX_LABS = 16;
export const MAX_SWITCHES_AT_ONCE = 4;
export const SWITCH_TIMEOUT_MS = 1500;
/** A lab's answer is reused for this long: a second's pages share one poll. */
const FRESH_MS = 900;
/** A lab no page asked about for this long is forgotten. */
const FORGET_MS = 10_000;

export interface Rate {
  bitsPerSecond: number;
  packetsPerSecond: number;
}

export interface LinkState {
  /** `up`: its port answered; `down`: its switch did not answer; `missing`: the switch has no such port. */
  state: 'up' | 'down' | 'missing';
  /** From the first endpoint to the second, and back (null until two samples exist). */
  ab: Rate | null;
  ba: Rate | null;
}

export interface LabLiveState {
  name: string;
  state: LabRecord['state'];
  time: number;
  switches: Array<{ id: string; up: boolean; error?: string }>;
  links: LinkState[];
}

export interface LabSummary {
  name: string;
  state: LabRecord['state'];
  created: string;
  nodes: number;
  links: number;
}

/** Where link i's rates are read: the port of its first endpoint that is not a bridge node's, and whether that endpoint is the link's second. */
interface LinkPort {
  switchId: string;
  node: string;
  ifname: string;
  reversed: boolean;
}

interface Sample {
  time: number;
  /** NODE/IFNAME -> counters, only the ports of the lab's links. */
  ports: Map<string, { port: PortInfo['counters'] }>;
}

interface LabEntry {
  asked: number;
  last?: LabLiveState;
  inFlight?: Promise<LabLiveState>;
  samples: Map<string, Sample>;
}

function linkPorts(plan: LabPlan): Array<LinkPort | undefined> {
  const bridges = new Set(plan.others.filter((o) => o.switchId !== undefined).map((o) => o.name));
  const containers = new Map(plan.nodes.map((n) => [n.name, n.container]));
  return plan.links.map((l) => {
    const i = l.endpoints.findIndex((e) => !bridges.has(e.node));
    const e = l.endpoints[i];
    if (!e) return undefined;
    return { switchId: l.switchId, node: containers.get(e.node) ?? HOST_NODE, ifname: e.ifname, reversed: i === 1 };
  });
}

const key = (node: string, ifname: string): string => `${node}/${ifname}`;

function rate(bytes: number, packets: number, seconds: number): Rate {
  return { bitsPerSecond: Math.max(0, (bytes * 8) / seconds), packetsPerSecond: Math.max(0, packets / seconds) };
}

export class LabRates {
  #labs = new Map<string, LabEntry>();
  #clients = new Set<ControlClient>();
  #slots = MAX_SWITCHES_AT_ONCE;
  #waiting: Array<() => void> = [];
  #closed = false;

  /** The labs deployed on this machine (at most MAX_LABS, by name). */
  list(): LabSummary[] {
    return allRecords()
      .sort((a, b) => a.plan.name.localeCompare(b.plan.name))
      .slice(0, MAX_LABS)
      .map((r) => ({ name: r.plan.name, state: r.state, created: r.created, nodes: r.plan.nodes.length, links: r.plan.links.length }));
  }

  /** The picture of lab `name`, or undefined if it is not deployed. */
  graph(name: string): GraphModel | undefined {
    const rec = this.#record(name);
    return rec && graphOfPlan(rec.plan);
  }

  /** Lab `name`'s links now, or undefined if it is not deployed. */
  async state(name: string): Promise<LabLiveState | undefined> {
    const rec = this.#record(name);
    const now = Date.now();
    for (const [n, e] of this.#labs) if (now - e.asked > FORGET_MS && !e.inFlight) this.#labs.delete(n);
    if (!rec) {
      this.#labs.delete(name);
      return undefined;
    }
    let entry = this.#labs.get(name);
    if (!entry) {
      // The least recently asked lab makes room.
      if (this.#labs.size >= MAX_LABS) {
        const oldest = [...this.#labs].filter(([, e]) => !e.inFlight).sort((a, b) => a[1].asked - b[1].asked)[0];
        if (oldest) this.#labs.delete(oldest[0]);
      }
      entry = { asked: now, samples: new Map() };
      if (this.#labs.size < MAX_LABS) this.#labs.set(name, entry);
    }
    entry.asked = now;
    if (entry.last && now - entry.last.time < FRESH_MS) return entry.last;
    if (!entry.inFlight) {
      const e = entry;
      e.inFlight = this.#poll(rec, e).finally(() => (e.inFlight = undefined));
    }
    return entry.inFlight;
  }

  /** Drop the connections in flight (their switches count as down). Safe twice. */
  close(): void {
    this.#closed = true;
    for (const c of this.#clients) c.destroy();
    this.#clients.clear();
    // Those waiting for a slot see #closed and give it on.
    for (const w of this.#waiting.splice(0)) w();
  }

  #record(name: string): LabRecord | undefined {
    if (!LAB_NAME.test(name)) return undefined;
    const rec = loadRecord(runDirFor(name));
    return rec?.plan.name === name ? rec : undefined;
  }

  async #poll(rec: LabRecord, entry: LabEntry): Promise<LabLiveState> {
    const plan = rec.plan;
    const where = linkPorts(plan);
    const wanted = new Map<string, Set<string>>();
    for (const lp of where) if (lp) (wanted.get(lp.switchId) ?? wanted.set(lp.switchId, new Set()).get(lp.switchId)!).add(key(lp.node, lp.ifname));
    // Only the switches that carry drawn links: the management switch (a port per node) is never listed.
    const sockets = new Map(rec.switches.map((s) => [s.id, s.socket]));
    const results = await Promise.all(
      [...wanted].map(async ([id, keys]) => {
        const socket = sockets.get(id);
        if (!socket) return { id, error: 'not started' };
        try {
          const ports = await this.#listPorts(socket);
          const sample: Sample = { time: Date.now(), ports: new Map() };
          for (const p of ports) if (keys.has(key(p.node, p.ifname))) sample.ports.set(key(p.node, p.ifname), { port: p.counters });
          return { id, sample };
        } catch (err) {
          return { id, error: (err as Error).message };
        }
      }),
    );
    const now = new Map<string, Sample>();
    const errors = new Map<string, string>();
    for (const r of results) {
      if (r.sample) now.set(r.id, r.sample);
      else errors.set(r.id, r.error ?? 'no answer');
    }
    const links: LinkState[] = where.map((lp) => {
      if (!lp) return { state: 'missing', ab: null, ba: null };
      const cur = now.get(lp.switchId);
      if (!cur) return { state: 'down', ab: null, ba: null };
      const c = cur.ports.get(key(lp.node, lp.ifname))?.port;
      if (!c) return { state: 'missing', ab: null, ba: null };
      const prev = entry.samples.get(lp.switchId);
      const p = prev?.ports.get(key(lp.node, lp.ifname))?.port;
      const seconds = prev ? (cur.time - prev.time) / 1000 : 0;
      if (!p || seconds <= 0) return { state: 'up', ab: null, ba: null };
      // The port's rx is what its node sent into the switch, toward the link's other end.
      const out = rate(c.rxBytes - p.rxBytes, c.rxPackets - p.rxPackets, seconds);
      const back = rate(c.txBytes - p.txBytes, c.txPackets - p.txPackets, seconds);
      return { state: 'up', ab: lp.reversed ? back : out, ba: lp.reversed ? out : back };
    });
    entry.samples = now;
    const state: LabLiveState = {
      name: plan.name,
      state: rec.state,
      time: Date.now(),
      switches: [...wanted.keys()].map((id) => (errors.has(id) ? { id, up: false, error: errors.get(id)! } : { id, up: true })),
      links,
    };
    entry.last = state;
    return state;
  }

  async #listPorts(socket: string): Promise<PortInfo[]> {
    await this.#acquire();
    let client: ControlClient | undefined;
    let late = false;
    const timer = setTimeout(() => client?.destroy(new Error(`no answer in ${SWITCH_TIMEOUT_MS} ms`)), SWITCH_TIMEOUT_MS);
    try {
      if (this.#closed) throw new Error('closed');
      const connecting = ControlClient.connect(socket, { timeoutMs: SWITCH_TIMEOUT_MS });
      // A connect that hangs (a stopped daemon's full backlog) is bounded too; one that succeeds too late is closed.
      connecting.then((c) => late && c.destroy(), () => {});
      client = await Promise.race([
        connecting,
        new Promise<never>((_, reject) => setTimeout(() => ((late = true), reject(new Error(`no answer in ${SWITCH_TIMEOUT_MS} ms`))), SWITCH_TIMEOUT_MS).unref()),
      ]);
      this.#clients.add(client);
      return (await client.request({ op: 'ports' })).ports;
    } finally {
      late = true;
      clearTimeout(timer);
      if (client) {
        this.#clients.delete(client);
        client.close();
      }
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#slots > 0) {
      this.#slots--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Hand the slot to the next poll waiting, or give it back. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#slots++;
  }
}
