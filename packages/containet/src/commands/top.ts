/** `containet top HOST:PORT`: the dashboard's live view in a terminal, from its WebSocket. */
import WebSocket from 'ws';
import { ContainetError, UsageError, type PortInfo } from '@containet/common';
import { formatTable, humanBytes } from '../table.js';
import { parseListen } from '../web/dashboard.js';
import type { PortRates } from '../daemon.js';

export const commandNames = ['top'];

export const help = 'Show ports with live rx/tx rates and recent events, refreshed every second, from the dashboard of a containet started with --listen.';

export interface TopOptions {
  token?: string;
  /** Print one sample (the first with rates) and return. */
  once?: boolean;
}

type RatedPort = PortInfo & { rates: PortRates };

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

function describe(ev: Record<string, unknown>): string | null {
  switch (ev['event']) {
    case 'port-attached': {
      const p = ev['port'] as PortInfo;
      return `port ${p.port} attached: ${p.node} ${p.ifname}`;
    }
    case 'port-detached':
      return `port ${String(ev['port'])} detached: ${String(ev['node'])} (${String(ev['reason'])})`;
    case 'mac-learned':
    case 'mac-aged':
    case 'mac-evicted':
    case 'mac-flushed':
      return `${String(ev['mac'])} ${String(ev['event']).slice(4)} on port ${String(ev['port'])}`;
    case 'mac-moved':
      return `${String(ev['mac'])} moved from port ${String(ev['from'])} to ${String(ev['port'])}`;
    default:
      return null;
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
      const ev = JSON.parse(String(data)) as Record<string, unknown>;
      if (ev['event'] === 'snapshot') {
        const st = ev['status'] as { pid: number; socket: string; macAgeSeconds: number };
        header = `containet pid ${st.pid} on ${st.socket} (dashboard ${where})`;
        return;
      }
      if (ev['event'] !== 'counters') {
        const line = describe(ev);
        if (line) events.push(`${new Date().toLocaleTimeString()}  ${line}`);
        if (events.length > 100) events.shift();
        return;
      }
      samples++;
      const screen = renderTop(ev['ports'] as RatedPort[], events, header);
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
