/**
 * `containet top [-s SOCK | HOST:PORT]`: ports with live rates and the last
 * events, refreshed every second, read from the control socket (a
 * `subscribe` to counters and MAC changes) or from the dashboard's
 * WebSocket of a containet started with --listen. `q` quits.
 */
import WebSocket from 'ws';
import { ContainetError, ControlClient, DEFAULT_SOCKET, UsageError, decodeEvent, switchStatus, type ControlEvent } from '@containet/common';
import { parseListen } from '../web/dashboard.js';
import { TopScreen } from '../top/screen.js';
import { TopTerminal } from '../top/terminal.js';

export { renderTop } from '../top/screen.js';

export const commandNames = ['top'];

export const help =
  'Show ports with live rx/tx rates and recent events, refreshed every second, from the control socket (-s) or, given HOST:PORT, from the dashboard of a containet started with --listen. q (or Ctrl-C) quits.';

export interface TopOptions {
  socket?: string;
  token?: string;
  /** Print one sample (the first with rates) and return. */
  once?: boolean;
}

/** Where events come from; `stop` ends it, `ended` settles when it ends by itself (or fails). */
interface Source {
  stop(): void;
  ended: Promise<void>;
}

type Sink = { event: (ev: ControlEvent) => void; header: (text: string) => void };

async function socketSource(path: string, sink: Sink): Promise<Source> {
  let gone!: (err: Error) => void;
  const ended = new Promise<void>((_resolve, reject) => (gone = reject));
  let stopping = false;
  const client = await ControlClient.connect(path, {
    onEvent: (ev) => sink.event(ev),
    onClose: () => {
      if (!stopping) gone(new ContainetError('CN_SWITCH_GONE', `containet at ${path} closed the connection`));
    },
  });
  try {
    const { status } = await client.request({ op: 'status' });
    sink.header(`containet pid ${status.pid} on ${status.socket}`);
    await client.request({ op: 'subscribe', macs: true, counters: true });
  } catch (err) {
    client.close();
    throw err;
  }
  return {
    stop: () => {
      stopping = true;
      client.close();
    },
    ended,
  };
}

async function dashboardSource(where: string, token: string | undefined, sink: Sink): Promise<Source> {
  const { host, port } = parseListen(where);
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url);
  sink.header(`containet at ${where}`);
  let stopping = false;
  const ended = new Promise<void>((resolve, reject) => {
    ws.on('error', (err) =>
      reject(new ContainetError('CN_DASHBOARD_UNREACHABLE', `cannot reach the containet dashboard at ${where}: ${err.message}`, { hint: 'start containet with --listen HOST:PORT (and give --token if it has one)' })),
    );
    ws.on('unexpected-response', (_req, res) => {
      reject(new ContainetError('CN_DASHBOARD_REFUSED', `the dashboard at ${where} refused the connection (HTTP ${res.statusCode})`, { hint: 'give the right --token' }));
      ws.terminate();
    });
    ws.on('close', () => (stopping ? resolve() : reject(new ContainetError('CN_SWITCH_GONE', `the dashboard at ${where} closed the connection`))));
  });
  ws.on('message', (data) => {
    try {
      const msg = JSON.parse(String(data)) as { event?: unknown; status?: unknown };
      if (msg.event === 'snapshot') {
        const st = switchStatus(msg.status, 'snapshot.status');
        sink.header(`containet pid ${st.pid} on ${st.socket} (dashboard ${where})`);
        return;
      }
      if (msg.event === 'error' || msg.event === 'macs') return;
      sink.event(decodeEvent(msg));
    } catch {
      // not for us to show
    }
  });
  return {
    stop: () => {
      stopping = true;
      ws.close();
    },
    ended,
  };
}

export async function handler(opts: TopOptions, args: string[]): Promise<string> {
  const [where, extra] = args;
  if (extra !== undefined) throw new UsageError('top takes at most one HOST:PORT, the address given to containet --listen', 'without it, top reads the control socket (-s)');
  if (where !== undefined) parseListen(where); // a usage error before anything starts
  const screen = new TopScreen('containet');
  let done!: (text: string) => void;
  const result = new Promise<string>((resolve) => (done = resolve));
  let terminal: TopTerminal | undefined;
  const sink: Sink = {
    header: (text) => (screen.header = text),
    event: (ev) => {
      const text = screen.push(ev);
      if (text === undefined) return;
      // The first sample has no rates yet (no previous counters).
      if (opts.once) {
        if (screen.samples >= 2) done(text);
      } else terminal?.draw(text);
    },
  };
  const source = where === undefined ? await socketSource(opts.socket ?? DEFAULT_SOCKET, sink) : await dashboardSource(where, opts.token, sink);
  if (!opts.once) terminal = new TopTerminal(() => done(''));
  try {
    return await Promise.race([result, source.ended.then(() => '')]);
  } finally {
    terminal?.restore();
    source.stop();
    source.ended.catch(() => {});
  }
}
