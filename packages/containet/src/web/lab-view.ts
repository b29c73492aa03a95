/**
 * The live topology view of the labs deployed on this machine, as HTTP
 * routes any server mounts (the dashboard; `containet lab graph --serve`):
 *   /labs              the labs, linked
 *   /labs.json         the same as JSON
 *   /labs/NAME         the lab's graph (src/lab/graph.ts), its links' rates
 *                      and state filled in every second by an inline script
 *   /labs/NAME/state.json  what that script reads (src/lab/live-rates.ts)
 * The switches are read only while a page asks, so nothing runs without one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ContainetError } from '@containet/common';
import { LabRates } from '../lab/live-rates.js';
import { renderGraphPage } from '../lab/graph.js';

/** Nothing from elsewhere: the script and styles are the page's own. */
export const PAGE_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:";

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Fills each link's label (`rate-I`) from state.json, every second; the query (a token) is kept. */
const LIVE_SCRIPT = `
(function () {
  var base = location.pathname.replace(/\\/$/, '') + '/state.json' + location.search;
  function si(v) {
    if (v >= 1e9) return (v / 1e9).toFixed(1) + ' G';
    if (v >= 1e6) return (v / 1e6).toFixed(1) + ' M';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + ' k';
    return v.toFixed(v > 0 && v < 10 ? 1 : 0) + ' ';
  }
  function fmt(r) { return r ? si(r.bitsPerSecond) + 'bit/s ' + r.packetsPerSecond.toFixed(r.packetsPerSecond < 10 ? 1 : 0) + ' pkt/s' : '…'; }
  var status = document.getElementById('live');
  function show(s) {
    status.textContent = 'lab ' + s.state + ', ' + new Date(s.time).toLocaleTimeString() + s.switches.filter(function (w) { return !w.up; }).map(function (w) { return '; switch ' + w.id + ' down: ' + w.error; }).join('');
    s.links.forEach(function (l, i) {
      var t = document.getElementById('rate-' + i), back = document.getElementById('back-' + i), line = document.getElementById('link-' + i);
      if (!t || !back || !line) return;
      var a = t.getAttribute('data-a'), b = t.getAttribute('data-b');
      t.textContent = l.state === 'up' ? a + '→' + b + ' ' + fmt(l.ab) : l.state === 'down' ? 'down: its switch does not answer' : 'no port on its switch';
      back.textContent = l.state === 'up' ? b + '→' + a + ' ' + fmt(l.ba) : '';
      t.setAttribute('class', l.state === 'up' ? 'rate' : 'rate down');
      line.setAttribute('class', l.state === 'up' ? 'link' : 'link down');
    });
  }
  function tick() {
    fetch(base, { cache: 'no-store' }).then(function (r) {
      if (r.status === 404) { status.textContent = 'the lab is gone'; return null; }
      return r.json();
    }).then(function (s) { if (s) { show(s); setTimeout(tick, 1000); } }, function (e) {
      status.textContent = 'no answer: ' + e; setTimeout(tick, 2000);
    });
  }
  tick();
})();
`;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP }).end(body);
}

export class LabView {
  readonly rates = new LabRates();

  /** Answer `req` if its path is one of the view's; false leaves it to the caller. `query` is kept on links (a token). */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): boolean {
    if (path === '/labs.json') {
      send(res, 200, 'application/json', JSON.stringify({ labs: this.rates.list() }) + '\n');
      return true;
    }
    if (path === '/labs' || path === '/labs/') {
      const rows = this.rates.list().map((l) => `<li><a href="/labs/${encodeURIComponent(l.name)}${esc(query)}">${esc(l.name)}</a> ${esc(l.state)}, ${l.nodes} nodes, ${l.links} links, since ${esc(l.created)}</li>`);
      send(
        res,
        200,
        'text/html; charset=utf-8',
        `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>labs</title>
<style>body{font-family:sans-serif;margin:1em;color:#222}</style></head><body>
<p><a href="/${esc(query)}">dashboard</a></p><h1>labs on this machine</h1>
${rows.length ? `<ul>\n${rows.join('\n')}\n</ul>` : '<p>no lab is deployed (containet lab deploy -t FILE)</p>'}
</body></html>
`,
      );
      return true;
    }
    const m = path.match(/^\/labs\/([^/]+)(\/state\.json)?\/?$/);
    if (!m) return false;
    let name = '';
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      // a malformed escape names no lab: 404 below
    }
    if (m[2]) {
      this.rates.state(name).then(
        (s) => (s ? send(res, 200, 'application/json', JSON.stringify(s) + '\n') : send(res, 404, 'application/json', JSON.stringify({ error: `lab ${name} is not deployed` }) + '\n')),
        (err: Error) => send(res, 500, 'application/json', JSON.stringify({ error: err.message }) + '\n'),
      );
      return true;
    }
    const model = this.rates.graph(name);
    if (!model) {
      send(res, 404, 'text/plain', `lab ${name} is not deployed\n`);
      return true;
    }
    send(res, 200, 'text/html; charset=utf-8', renderGraphPage(model, { script: LIVE_SCRIPT, header: `<p><a href="/labs${esc(query)}">labs</a> · <span id="live">connecting…</span></p>\n` }));
    return true;
  }

  close(): void {
    this.rates.close();
  }
}

/** At most this many HTTP connections to a standalone view (`lab graph --serve`), each given 10 s to send its request. */
const SERVE_MAX_CONNECTIONS = 64;

/**
 * The view on its own HTTP server (`containet lab graph --serve`), for a
 * machine without a dashboard: the same routes, `/` leading to /labs.
 */
export async function serveLabView(host: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const view = new LabView();
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/') {
      res.writeHead(302, { location: '/labs' }).end();
      return;
    }
    if (req.method !== 'GET' || !view.handle(req, res, path, '')) send(res, 404, 'text/plain', 'not found\n');
  });
  http.maxConnections = SERVE_MAX_CONNECTIONS;
  http.headersTimeout = 10_000;
  http.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', (err: NodeJS.ErrnoException) => reject(new ContainetError('CN_LISTEN', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err })));
    http.listen(port, host, () => resolve());
  });
  const addr = http.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`,
    close: async () => {
      view.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
