import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Cleanup, killAndWait, pingFrom, run, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { BIN, node, ports, startDaemon } from './helpers.js';
import * as top from '../src/commands/top.js';

const root = whyNoRoot();

function dashboardUrl(log: string): string {
  const m = log.match(/dashboard on (http:\/\/\S+)/);
  if (!m) throw new Error(`no dashboard URL in the log: ${log}`);
  return m[1]!;
}

/** A WebSocket client that records every message. */
async function watch(cleanup: Cleanup, url: string): Promise<{ ws: WebSocket; messages: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(url);
  cleanup.add('ws client', () => ws.terminate());
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, messages };
}

/** Whether `m` is a mac-changes event with a change of this kind on `port`. */
function hasChange(m: Record<string, unknown>, change: string, port: number): boolean {
  return m['event'] === 'mac-changes' && (m['changes'] as Array<{ change: string; port: number }>).some((c) => c.change === change && c.port === port);
}

/** Keep pinging in the background until cleanup. */
function pingForever(cleanup: Cleanup, ns: string, ip: string) {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-q', '-i', '0.05', ip], { stdio: 'ignore' });
  cleanup.add('background ping', () => killAndWait(child, 'SIGINT'));
}

testIf(test, root, 'a WebSocket client sees attach events, MAC learning and counter updates while two containers ping; top shows them', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--listen', '127.0.0.1:0']);
    const url = dashboardUrl(d.log());
    const { messages } = await watch(cleanup, `${url.replace('http', 'ws')}ws`);
    await waitFor(() => messages.some((m) => m['event'] === 'snapshot'), 'snapshot');
    const a = await node(cleanup, d.socket, '10.89.0.1/24');
    const b = await node(cleanup, d.socket, '10.89.0.2/24');
    await waitFor(() => messages.filter((m) => m['event'] === 'port-attached').length === 2, 'two attach events');
    pingForever(cleanup, a.ns, b.ip);
    await waitFor(() => messages.some((m) => hasChange(m, 'learned', b.att.port)), 'b learned');
    await waitFor(
      () =>
        messages.some(
          (m) =>
            m['event'] === 'counters' &&
            (m['ports'] as Array<{ port: number; rates: { rxPps: number } }>).filter((p) => p.rates.rxPps > 0).length === 2,
        ),
      'counters with both ports receiving',
      5000,
    );
    const screen = await top.handler({ once: true }, [url.replace(/^http:\/\//, '').replace(/\/$/, '')]);
    assert.match(screen, new RegExp(`\\b${a.att.port}\\b.*eth0`));
    // The dashboard's unit style: SI bit/s as iperf3 prints rates.
    assert.match(screen, /\d+(\.\d)? (k|M)?bit\/s/);
    assert.match(screen, /containet pid \d+ on /);

    // MAC ages come from the switch: a MAC refreshed by the pings stays young on the page too.
    await new Promise((r) => setTimeout(r, 3000));
    const from = messages.length;
    await waitFor(() => messages.slice(from).some((m) => m['event'] === 'macs'), 'a macs event', 5000);
    const ages = messages.slice(from).find((m) => m['event'] === 'macs')!['macs'] as Array<{ mac: string; age: number }>;
    const listed = (await run(process.execPath, [BIN, 'macs', '--json', '-s', d.socket], { timeoutMs: 10_000 })).stdout;
    const switchAges = new Map((JSON.parse(listed) as Array<{ mac: string; age: number }>).map((m) => [m.mac, m.age]));
    assert.ok(ages.length >= 2, 'both MACs');
    for (const m of ages) {
      assert.ok(switchAges.has(m.mac), `${m.mac} is in containet macs`);
      assert.ok(Math.abs(switchAges.get(m.mac)! - m.age) <= 2, `${m.mac}: page ${m.age} s, switch ${switchAges.get(m.mac)} s`);
      assert.ok(m.age <= 1, `${m.mac} is refreshed by the pings (age ${m.age} s)`);
    }
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'control-socket subscribers get port, MAC and counter events too', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const events: Array<Record<string, unknown>> = [];
    const { ControlClient } = await import('@containet/common');
    const c = await ControlClient.connect(d.socket, { onEvent: (e) => events.push({ ...e }) });
    cleanup.add('subscriber', () => c.close());
    await c.request({ op: 'subscribe', macs: true, counters: true });
    const a = await node(cleanup, d.socket, '10.97.0.1/24');
    const b = await node(cleanup, d.socket, '10.97.0.2/24');
    assert.ok((await pingFrom(a.ns, b.ip, 2)) >= 1);
    await waitFor(() => events.filter((e) => e['event'] === 'port-attached').length === 2, 'attach events');
    await waitFor(() => events.some((e) => hasChange(e, 'learned', a.att.port)), 'a learned');
    await waitFor(() => events.some((e) => e['event'] === 'counters'), 'a counters event', 3000);
    await killAndWait(b.att.child, 'SIGKILL');
    await waitFor(() => events.some((e) => e['event'] === 'port-detached' && e['port'] === b.att.port), 'detach event');
    await waitFor(() => events.some((e) => hasChange(e, 'flushed', b.att.port)), 'b flushed');
  } finally {
    await cleanup.run();
  }
});

testIf(test, root, 'the dashboard is read-only unless an admin token is set and given; off loopback it needs a token', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--listen', '127.0.0.1:0', '--admin-token', 'sekrit-admin']);
    const a = await node(cleanup, d.socket, '10.90.0.1/24');
    const url = `${dashboardUrl(d.log()).replace('http', 'ws')}ws`;
    const { ws, messages } = await watch(cleanup, url);
    ws.send(JSON.stringify({ op: 'detach', port: a.att.port }));
    await waitFor(() => messages.some((m) => m['code'] === 'CN_READ_ONLY'), 'a read-only refusal');
    assert.is((await ports(d.socket)).length, 1, 'nothing changed');
    // Port changes too: refused without the token, checked as port-set is, applied with it.
    ws.send(JSON.stringify({ op: 'port-set', port: a.att.port, vlan: { mode: 'access', vlan: 12 } }));
    await waitFor(() => messages.filter((m) => m['code'] === 'CN_READ_ONLY').length === 2, 'a second read-only refusal');
    ws.send(JSON.stringify({ op: 'port-set', port: a.att.port, adminToken: 'sekrit-admin', vlan: { mode: 'access', vlan: 5000 } }));
    await waitFor(() => messages.some((m) => m['code'] === 'CN_BAD_REQUEST'), 'VLAN 5000 refused');
    ws.send(JSON.stringify({ op: 'port-set', port: a.att.port, adminToken: 'sekrit-admin', vlan: { mode: 'access', vlan: 12 }, impair: { delayUs: 5000 } }));
    await waitFor(async () => (await ports(d.socket))[0]?.impair?.out?.delayUs === 5000, 'impairment set from the dashboard');
    assert.equal((await ports(d.socket))[0]!.vlan, { mode: 'access', vlan: 12 });
    ws.send(JSON.stringify({ op: 'detach', port: a.att.port, adminToken: 'sekrit-admin' }));
    await waitFor(async () => (await ports(d.socket)).length === 0, 'detached with the admin token');

    const r = await run(process.execPath, [BIN, '-s', join(tmpdir(), `${uniqueName('cnx')}.sock`), '--listen', '0.0.0.0:0'], { timeoutMs: 10_000 });
    assert.is(r.code, 2);
    assert.match(r.stderr, /needs --token/);

    const t = await startDaemon(cleanup, ['--listen', '127.0.0.1:0', '--token', 'watch-token']);
    const turl = dashboardUrl(t.log());
    const refused = await new Promise<number>((resolve) => {
      const ws2 = new WebSocket(`${turl.replace('http', 'ws')}ws`);
      ws2.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws2.on('error', () => resolve(-1));
    });
    assert.is(refused, 403);
    const page = await fetch(turl);
    assert.is(page.status, 401);
    const ok = await fetch(`${turl}?token=watch-token`);
    assert.is(ok.status, 200);
    assert.match(await ok.text(), /<title>containet<\/title>/);
    await watch(cleanup, `${turl.replace('http', 'ws')}ws?token=watch-token`);
  } finally {
    await cleanup.run();
  }
});

/** Minimal Chrome DevTools Protocol session over the browser's WebSocket. */
class Cdp {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, (r: Record<string, unknown>) => void>();
  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (d) => {
      const msg = JSON.parse(String(d)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg.error ? { error: msg.error } : (msg.result ?? {}));
    });
  }
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }
}

testIf(test, root ?? whyMissing('chromium'), 'the page in headless Chromium shows the ports and a nonzero rate (screenshot taken)', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup, ['--listen', '127.0.0.1:0']);
    const a = await node(cleanup, d.socket, '10.91.0.1/24');
    const b = await node(cleanup, d.socket, '10.91.0.2/24');
    pingForever(cleanup, a.ns, b.ip);
    const profile = mkdtempSync(join(tmpdir(), 'cnchrome-'));
    // Retried: a helper process of Chromium may still be writing in it.
    cleanup.add('chromium profile', () => rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
    const chrome = spawn(
      'chromium',
      [
        '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
        '--disable-extensions', '--no-first-run', '--metrics-recording-only', '--no-default-browser-check',
        '--disable-domain-reliability', '--disable-client-side-phishing-detection',
        `--user-data-dir=${profile}`, '--remote-debugging-port=0', '--window-size=1280,800', 'about:blank',
      ],
      // Its own process group: the renderer and other helpers go with it.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    cleanup.add('chromium', async () => {
      await killAndWait(chrome);
      try {
        process.kill(-chrome.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    });
    let err = '';
    chrome.stderr!.on('data', (x) => (err += String(x)));
    const devtools = (await waitFor(() => err.match(/DevTools listening on (ws:\/\/\S+)/)?.[1], 'chromium DevTools', 20_000))!;
    const bws = new WebSocket(devtools);
    cleanup.add('cdp', () => bws.terminate());
    await new Promise((r) => bws.once('open', r));
    const cdp = new Cdp(bws);
    const { targetId } = (await cdp.send('Target.createTarget', { url: dashboardUrl(d.log()) })) as { targetId: string };
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const evaluate = async (expression: string) =>
      ((await cdp.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)) as { result?: { value?: unknown } }).result?.value;
    let last = '';
    const view = await waitFor(
      async () => {
        const v = (await evaluate(
          `JSON.stringify({ text: document.body.innerText, rates: [...document.querySelectorAll('tr.port')].map((r) => Number(r.dataset.rxBps)) })`,
        )) as string | undefined;
        last = v ?? '';
        const parsed = v ? (JSON.parse(v) as { text: string; rates: number[] }) : null;
        return parsed && parsed.rates.length === 2 && parsed.rates.every((r) => r > 0) ? parsed : null;
      },
      'both ports with a nonzero rate on the page',
      15_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; page: ${last}`);
    });
    assert.match(view!.text, /10\.91\.0\.|eth0/);
    assert.match(view!.text, /\d+(\.\d)? (kbit|Mbit|bit)\/s/);
    const shot = (await cdp.send('Page.captureScreenshot', { format: 'png' }, sessionId)) as { data: string };
    const png = Buffer.from(shot.data, 'base64');
    assert.is(png.subarray(1, 4).toString(), 'PNG');
    const file = join(tmpdir(), 'containet-dashboard.png');
    writeFileSync(file, png);
    console.log(`  screenshot: ${file} (${png.length} bytes)`);
  } finally {
    await cleanup.run();
  }
});

test.run();
