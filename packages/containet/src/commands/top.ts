/** `containet top HOST:PORT`: the dashboard's live view in a terminal, from its WebSocket. */
import WebSocket from 'ws';
import { ContainetError, UsageError, decodeEvent, switchStatus, type ControlEvent, type RatedPort } from '@containet/common';
import { formatTable, humanBytes } from '../table.js';
import { parseListen } from '../web/dashboard.js';

export const commandNames = ['top'];

export const help = 'Show ports with live rx/tx rates and recent events, refreshed every second, from the dashboard of a containet started with --listen.';

export interface TopOptions {
  token?: string;
  /** Print one sample (the first with rates) and return. */
  once?: boolean;
}

function bits(bps: number): string {
  const units = ['b', 'Kb', 'Mb', 'Gb'];
  let v = bps;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 && u > 0 ? 1 : 0)}${units[u]}/s`;
}

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
            bits(p.rates.rxBps),
            bits(p.rates.txBps),
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
function describe(ev: ControlEvent): string[] {
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

export async function handler(opts: TopOptions, args: string[]): Promise<string> {
  const [where, extra] = args;
  if (!where || extra !== undefined) throw new UsageError('top takes one HOST:PORT, the address given to containet --listen');
  const { host, port } = parseListen(where);
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}/ws${opts.token ? `?token=${encodeURIComponent(opts.token)}` : ''}`;
  const ws = new WebSocket(url);
  const events: string[] = [];
  let header = `containet at ${where}`;
  let samples = 0;
  /** The parts of one counters sample so far. */
  let ports: RatedPort[] = [];
  return new Promise<string>((resolve, reject) => {
    const stop = () => {
      ws.close();
      resolve('');
    };
    process.once('SIGINT', stop);
    ws.on('error', (err) =>
      reject(new ContainetError('CN_DASHBOARD_UNREACHABLE', `cannot reach the containet dashboard at ${where}: ${err.message}`, { hint: 'start containet with --listen HOST:PORT (and give --token if it has one)' })),
    );
    ws.on('unexpected-response', (_req, res) => {
      reject(new ContainetError('CN_DASHBOARD_REFUSED', `the dashboard at ${where} refused the connection (HTTP ${res.statusCode})`, { hint: 'give the right --token' }));
      ws.terminate();
    });
    ws.on('close', () => {
      process.off('SIGINT', stop);
      resolve('');
    });
    ws.on('message', (data) => {
      let ev: ControlEvent;
      try {
        const msg = JSON.parse(String(data)) as { event?: unknown; status?: unknown };
        if (msg.event === 'snapshot') {
          const st = switchStatus(msg.status, 'snapshot.status');
          header = `containet pid ${st.pid} on ${st.socket} (dashboard ${where})`;
          return;
        }
        if (msg.event === 'error') return;
        ev = decodeEvent(msg);
      } catch {
        return; // not for us to show
      }
      if (ev.event !== 'counters') {
        for (const line of describe(ev)) events.push(`${new Date().toLocaleTimeString()}  ${line}`);
        events.splice(0, Math.max(0, events.length - 100));
        return;
      }
      ports.push(...ev.ports);
      if (ev.more) return;
      samples++;
      const screen = renderTop(ports, events, header);
      ports = [];
      // The first sample has no rates yet (no previous counters).
      if (opts.once && samples >= 2) {
        process.off('SIGINT', stop);
        ws.close();
        resolve(screen);
        return;
      }
      if (!opts.once) process.stdout.write(`\x1b[H\x1b[2J${screen}`);
    });
  });
}
