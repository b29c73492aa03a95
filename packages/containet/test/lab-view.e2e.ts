/**
 * The live topology view of labs, as a user meets it over HTTP: a switch
 * daemon's dashboard (--listen) lists the deployed lab, draws its nodes and
 * links, shows a link's rates rise while a node pings over it (in headless
 * Chromium too, when installed: the page's script fills them), shows a link
 * down while its switch does not answer (stopped with SIGSTOP) and the
 * dashboard still answering meanwhile, `lab graph --serve` serving the same
 * view until Ctrl-C, and the lab gone from the list once destroyed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup, killAndWait, run, testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { STATE, containet, labDir, labExec, startContainet, writeTopology } from './lab-helpers.js';
import { startDaemon } from './helpers.js';
import type { LabLiveState, LabSummary } from '../src/lab/live-rates.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip');

function lab(name: string): string {
  return `name: ${name}
topology:
  nodes:
    h1: {kind: linux, exec: ["ip link set eth1 up", "ip addr add 10.41.0.1/24 dev eth1", "ip link set eth2 up", "ip addr add 10.42.0.1/24 dev eth2"]}
    h2: {kind: linux, exec: ["ip link set eth1 up", "ip addr add 10.41.0.2/24 dev eth1", "ip link set eth2 up", "ip addr add 10.42.0.2/24 dev eth2"]}
    sw: {kind: bridge}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
    - endpoints: ["h1:eth2", "sw:p1"]
    - endpoints: ["h2:eth2", "sw:p2"]
`;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as T };
}

testIf(test, skip, 'the dashboard draws a deployed lab with live link rates and states; lab graph --serve serves it; destroy removes it', async () => {
  const name = uniqueName('lab');
  const dir = labDir();
  const file = writeTopology(dir, name, lab(name));
  const cleanup = new Cleanup();
  let deployed = false;
  try {
    const d = await startDaemon(cleanup, ['--listen', '127.0.0.1:0']);
    const base = d.log().match(/dashboard on (http:\/\/\S+)/)![1]!;
    const dep = await containet(['lab', 'deploy', '-t', file]);
    assert.is(dep.code, 0, dep.stderr);
    deployed = true;

    // The list, and the dashboard's page links to it.
    assert.ok((await (await fetch(base)).text()).includes('href="/labs"'));
    const list = await getJson<{ labs: LabSummary[] }>(`${base}labs.json`);
    assert.equal(list.body.labs.find((l) => l.name === name), { ...list.body.labs.find((l) => l.name === name)!, name, state: 'running', nodes: 2, links: 3 });
    assert.ok((await (await fetch(`${base}labs`)).text()).includes(`href="/labs/${name}"`));

    // The graph: every node, every link (with its rate label), nothing from elsewhere.
    const page = await fetch(`${base}labs/${name}`);
    assert.is(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    for (const n of ['h1', 'h2', 'sw', 'eth1', 'eth2', 'p1', 'p2']) assert.ok(html.includes(`>${n}<`), n);
    for (const i of [0, 1, 2]) assert.ok(html.includes(`id="link-${i}"`) && html.includes(`id="rate-${i}"`), `link ${i}`);
    assert.not.match(html.replace('xmlns="http://www.w3.org/2000/svg"', ''), /src=|@import|url\(|https?:\/\//);

    // Every link up once two samples were taken, then h1 pings h2 over the point-to-point link (link 0).
    const stateUrl = `${base}labs/${name}/state.json`;
    await waitFor(async () => (await getJson<LabLiveState>(stateUrl)).body.links.every((l) => l.state === 'up' && l.ab !== null), 'every link up with rates', 15_000);
    const ping = labExec(file, 'h1', 'ping', '-c', '40', '-i', '0.2', '-s', '1000', '-W', '3', '10.41.0.2');
    let seen: LabLiveState | undefined;
    await waitFor(
      async () => {
        const s = (await getJson<LabLiveState>(stateUrl)).body;
        const l = s.links[0]!;
        if (l.ab && l.ba && l.ab.packetsPerSecond > 0 && l.ba.packetsPerSecond > 0 && l.ab.bitsPerSecond > 1000 * 8) seen = s;
        return seen !== undefined;
      },
      'link 0 carrying the ping both ways',
      20_000,
    );
    // About 5 pings a second of ~1 KiB each: a wide band for a loaded machine.
    assert.ok(seen!.links[0]!.ab!.packetsPerSecond < 100, JSON.stringify(seen!.links[0]));
    if (!whyMissing('chromium')) {
      // In a real browser (its script under the page's CSP): the rates filled in, each way named by the link's ends.
      const profile = mkdtempSync(join(tmpdir(), 'cnchrome-'));
      cleanup.add('chromium profile', () => rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
      const dom = await run(
        'chromium',
        ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=5000', '--dump-dom', `${base}labs/${name}`],
        { timeoutMs: 60_000 },
      );
      assert.match(dom.stdout, /id="live">lab running, /, dom.stdout);
      assert.match(dom.stdout, /id="rate-0"[^>]*>h1→h2 \d+(\.\d)? (k|M)?bit\/s \d+(\.\d)? pkt\/s</, dom.stdout);
      assert.match(dom.stdout, /id="back-0"[^>]*>h2→h1 \d/);
    }
    assert.is((await ping).code, 0, 'the ping got its replies');

    // A switch that does not answer: its links down, the others up, the dashboard answering meanwhile.
    const rec = JSON.parse(readFileSync(join(STATE, 'labs', name, 'lab.json'), 'utf8')) as { switches: Array<{ id: string; pid: number }> };
    const links = rec.switches.find((s) => s.id === 'links')!;
    process.kill(links.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const down = await waitFor(
        async () => {
          const s = (await getJson<LabLiveState>(stateUrl)).body;
          return s.links[0]!.state === 'down' ? s : undefined;
        },
        'link 0 down',
        15_000,
      );
      assert.is(down!.links[1]!.state, 'up');
      assert.is(down!.links[2]!.state, 'up');
      assert.equal(down!.switches.find((s) => s.id === 'links')!.up, false);
      assert.ok(Date.now() - t0 < 12_000);
      const t1 = Date.now();
      assert.is((await fetch(base)).status, 200);
      assert.ok(Date.now() - t1 < 2000, 'the dashboard page answers while a lab switch does not');
    } finally {
      process.kill(links.pid, 'SIGCONT');
    }
    await waitFor(async () => (await getJson<LabLiveState>(stateUrl)).body.links[0]!.state === 'up', 'link 0 up again', 15_000);

    // The same view without a dashboard, until Ctrl-C.
    const served = startContainet(['lab', 'graph', '-t', file, '--serve', '127.0.0.1:0']);
    cleanup.add('lab graph --serve', () => killAndWait(served.child));
    const url = (await waitFor(() => served.stderr().match(/live view on (http:\/\/\S+)/)?.[1], 'lab graph --serve to listen', 15_000))!;
    const own = await (await fetch(url)).text();
    assert.ok(own.includes('id="link-2"') && own.includes('>h2<'));
    await waitFor(async () => (await getJson<LabLiveState>(`${url}/state.json`)).body.links.every((l) => l.state === 'up'), 'served state', 15_000);
    const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
    served.child.kill('SIGINT');
    assert.is(await exited, 0, served.stderr());

    const del = await containet(['lab', 'destroy', '-t', file]);
    assert.is(del.code, 0, del.stderr);
    deployed = false;
    assert.not.ok((await getJson<{ labs: LabSummary[] }>(`${base}labs.json`)).body.labs.some((l) => l.name === name));
    assert.is((await fetch(stateUrl)).status, 404);
    assert.is((await fetch(`${base}labs/${name}`)).status, 404);
  } finally {
    if (deployed) await containet(['lab', 'destroy', '-t', file]);
    await cleanup.run();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lab graph --serve is refused on a non-loopback address, and for a lab not deployed', async () => {
  const name = uniqueName('lab');
  const dir = labDir();
  try {
    const file = writeTopology(dir, name, lab(name));
    const wide = await containet(['lab', 'graph', '-t', file, '--serve', '0.0.0.0:0']);
    assert.is(wide.code, 2);
    assert.match(wide.stderr, /not loopback/);
    const none = await containet(['lab', 'graph', '-t', file, '--serve', '127.0.0.1:0']);
    assert.is(none.code, 1);
    assert.match(none.stderr, new RegExp(`lab ${name} is not deployed`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
