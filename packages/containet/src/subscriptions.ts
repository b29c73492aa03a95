/**
 * Who receives events (control connections that subscribed, dashboard
 * clients) and the fan-out: each event is turned into JSON once and handed
 * to every sink that wants it; a sink bounds its own queue (a control
 * connection or a WebSocket that does not read is dropped, never buffered
 * for without limit). MAC table changes are gathered and sent once per
 * MAC_CHANGES_WINDOW_MS (at most MAC_CHANGES_MAX, the rest counted as
 * lost): a flood of new sources costs one message per window per sink, not
 * one per change. Every second, subscribers to counters get each port's
 * counters and rates, in parts of at most one frame.
 */
import { MAC_CHANGES_MAX, MAC_CHANGES_WINDOW_MS, MAX_FRAME, type ControlEvent, type MacChange, type PortInfo, type RatedPort } from '@containet/common';
import type { DatapathEvent } from './datapath.js';
import type { Switch } from './switch.js';
import { PortRateSampler } from './port-rates.js';

export interface Subscription {
  /** Also MAC learned/moved/aged/evicted/flushed events. */
  macs: boolean;
  /** A `counters` event every second with each port's counters and rates. */
  counters: boolean;
}

/** Where events go: a control connection, a WebSocket, a test. Must not throw. */
export interface EventSink {
  sendJson(json: string): void;
}

/** The most control connections that may subscribe at once (each may queue up to its limit). */
export const MAX_SUBSCRIBERS = 32;

/** JSON of a counters event's ports kept under this, so each fits a frame. */
const COUNTERS_PART_BYTES = MAX_FRAME - 1024;

export class Subscriptions {
  readonly rates = new PortRateSampler();
  readonly #switch: Switch;
  #subs = new Map<EventSink, Subscription>();
  #timer: NodeJS.Timeout;
  #closed = false;
  #changes: MacChange[] = [];
  #lost = 0;
  /** The window is full: the datapath stops reporting MAC changes until it is sent. */
  #muted = false;
  #flush: NodeJS.Timeout | undefined;
  readonly #log: (line: string) => void;

  constructor(sw: Switch, log: (line: string) => void) {
    this.#switch = sw;
    this.#log = log;
    sw.on('attached', (port: PortInfo) => this.broadcast({ event: 'port-attached', port }));
    sw.on('detached', (d: { port: number; node: string; reason: string }) => this.broadcast({ event: 'port-detached', ...d }));
    sw.on('mac', (ev: DatapathEvent) => this.#macChange(ev));
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  get size(): number {
    return this.#subs.size;
  }

  has(sink: EventSink): boolean {
    return this.#subs.has(sink);
  }

  /** Receive events until the returned function is called. */
  add(sink: EventSink, sub: Subscription): () => void {
    this.#subs.set(sink, sub);
    this.#updateMacWatch();
    return () => this.remove(sink);
  }

  remove(sink: EventSink): void {
    if (this.#subs.delete(sink)) this.#updateMacWatch();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#flush);
    this.#subs.clear();
  }

  #macChange(ev: DatapathEvent): void {
    if (ev.type === 'port-down' || ev.type === 'capture-down') return;
    if (this.#changes.length >= MAC_CHANGES_MAX) {
      this.#lost++;
      // A flood of new sources: stop the datapath reporting until this
      // window is out, or draining its reports would take the event loop.
      if (!this.#muted) {
        this.#muted = true;
        this.#updateMacWatch();
      }
      return;
    }
    const change = ev.type.slice(4) as MacChange['change'];
    this.#changes.push(ev.type === 'mac-moved' ? { change, mac: ev.mac, port: ev.port, from: ev.from } : { change, mac: ev.mac, port: ev.port });
    this.#flush ??= setTimeout(() => {
      this.#flush = undefined;
      const changes = this.#changes;
      const lost = this.#lost;
      this.#changes = [];
      this.#lost = 0;
      if (this.#muted) {
        this.#muted = false;
        this.#updateMacWatch();
      }
      this.broadcast({ event: 'mac-changes', changes, lost }, (s) => s.macs);
    }, MAC_CHANGES_WINDOW_MS);
  }

  broadcast(event: ControlEvent, want: (s: Subscription) => boolean = () => true): void {
    let json: string | undefined;
    for (const [sink, sub] of [...this.#subs]) {
      if (!want(sub)) continue;
      json ??= JSON.stringify(event);
      try {
        sink.sendJson(json);
      } catch (err) {
        this.#log(`events: a subscriber failed and was removed: ${(err as Error).message}`);
        this.remove(sink);
      }
    }
  }

  #updateMacWatch(): void {
    if (this.#closed) return;
    this.#switch.datapath.watchMacs(!this.#muted && [...this.#subs.values()].some((s) => s.macs));
  }

  #tick(): void {
    if (![...this.#subs.values()].some((s) => s.counters)) return;
    try {
      const time = Date.now();
      const macCount = this.#switch.status().macs;
      // No MAC table scan every second: a big table would make each tick cost milliseconds.
      const ports = this.rates.sample(this.#switch.ports({ scanMacs: false }), time);
      for (const part of countersParts(ports)) {
        this.broadcast({ event: 'counters', time, macCount, ports: part.ports, ...(part.more ? { more: true } : {}) }, (s) => s.counters);
      }
    } catch (err) {
      this.#log(`events: counters not sent: ${(err as Error).message}`);
    }
  }
}

/** Ports split so that each counters event fits a frame. */
export function countersParts(ports: RatedPort[]): Array<{ ports: RatedPort[]; more: boolean }> {
  const parts: Array<{ ports: RatedPort[]; more: boolean }> = [];
  let cur: RatedPort[] = [];
  let size = 0;
  for (const p of ports) {
    const bytes = Buffer.byteLength(JSON.stringify(p));
    if (cur.length > 0 && size + bytes > COUNTERS_PART_BYTES) {
      parts.push({ ports: cur, more: true });
      cur = [];
      size = 0;
    }
    cur.push(p);
    size += bytes + 1;
  }
  parts.push({ ports: cur, more: false });
  return parts;
}
