/**
 * What `containet top` shows: the ports with their rates and counters, and
 * the last events, rebuilt from the control protocol's events (the same
 * ones the control socket and the dashboard's WebSocket carry).
 */
import type { ControlEvent, RatedPort } from '@containet/common';
import { bitRate, formatTable, humanBytes } from '../table.js';

/** One screen: the ports table and the last events. */
export function renderTop(ports: RatedPort[], events: string[], header: string): string {
  const table =
    ports.length === 0
      ? 'no ports attached\n'
      : formatTable(
          ['PORT', 'NODE', 'IFNAME', 'ADDRESSES', 'RX/S', 'TX/S', 'RX-PKTS', 'TX-PKTS', 'RX-BYTES', 'TX-BYTES', 'DROPS'],
          ports.map((p) => [
            p.port,
            p.node,
            p.ifname,
            p.addresses.join(',') || '-',
            bitRate(p.rates.rxBps),
            bitRate(p.rates.txBps),
            p.counters.rxPackets,
            p.counters.txPackets,
            humanBytes(p.counters.rxBytes),
            humanBytes(p.counters.txBytes),
            p.counters.drops,
          ]),
        );
  return `${header}\n\n${table}\n${events.slice(-8).join('\n')}\n`;
}

/** The lines an event adds to the screen's log. */
export function describe(ev: ControlEvent): string[] {
  switch (ev.event) {
    case 'port-attached':
      return [`port ${ev.port.port} attached: ${ev.port.node} ${ev.port.ifname}`];
    case 'port-detached':
      return [`port ${ev.port} detached: ${ev.node} (${ev.reason})`];
    case 'mac-changes':
      return [
        ...ev.changes.map((c) => (c.change === 'moved' ? `${c.mac} moved from port ${c.from} to ${c.port}` : `${c.mac} ${c.change} on port ${c.port}`)),
        ...(ev.lost ? [`(${ev.lost} more MAC changes)`] : []),
      ];
    default:
      return [];
  }
}

/**
 * Events in, screens out: a screen per complete `counters` sample (a
 * switch with many ports sends one in several events).
 */
export class TopScreen {
  header: string;
  samples = 0;
  #events: string[] = [];
  #ports: RatedPort[] = [];

  constructor(header: string) {
    this.header = header;
  }

  /** Return: the new screen when `ev` completes a sample, else undefined. */
  push(ev: ControlEvent): string | undefined {
    if (ev.event !== 'counters') {
      for (const line of describe(ev)) this.#events.push(`${new Date().toLocaleTimeString()}  ${line}`);
      this.#events.splice(0, Math.max(0, this.#events.length - 100));
      return undefined;
    }
    this.#ports.push(...ev.ports);
    if (ev.more) return undefined;
    this.samples++;
    const screen = renderTop(this.#ports, this.#events, this.header);
    this.#ports = [];
    return screen;
  }
}
