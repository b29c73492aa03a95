/**
 * containet lab from the command line, as root: a lab of nodes on the
 * host's files (no image needed) with a point-to-point link, a bridge and a
 * host link; pings over each, names from /etc/hosts, the host reaching the
 * management network, inspect --json, exec's status, a second deploy
 * refused, destroy leaving nothing; broken files refused with their place
 * and nothing started; a failing and an interrupted deploy undone; two labs
 * side by side.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '@containet/common';
import { testIf, uniqueName, waitFor, whyMissing, whyNoRoot } from '@containet/common/testing';
import { STATE, containet, hostLinks, hostState, labDir, labExec, pings, startContainet, writeTopology } from './lab-helpers.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip', 'nsenter');

interface InspectView {
  name: string;
  state: string;
  mgmt: { subnet: string; gateway: string };
  nodes: Array<{ name: string; container: string; state: string; mgmtIpv4: string; interfaces: Array<{ ifname: string; switch: string; port: number | null; mac: string | null }> }>;
  switches: Array<{ id: string; state: string; socket: string; pid: number }>;
}

/** Three nodes: h1-h2 point to point, all three on bridge sw, h3 to the host. */
function smallLab(name: string, tap: string): string {
  return `name: ${name}
topology:
  kinds:
    linux:
      exec:
        - ip link set eth1 up
  nodes:
    h1:
      kind: linux
      labels: {role: client}
      exec:
        - ip addr add 10.12.0.1/24 dev eth1
        - ip addr add 10.30.0.1/24 dev eth2
    h2:
      kind: linux
      exec: ["ip addr add 10.12.0.2/24 dev eth1", "ip addr add 10.30.0.2/24 dev eth2"]
    h3:
      kind: linux
      exec: ["ip addr add 10.30.0.3/24 dev eth1", "ip addr add 10.99.0.2/24 dev eth2"]
    sw:
      kind: bridge
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
    - endpoints: ["h1:eth2", "sw:p1"]
    - endpoints: ["h2:eth2", "sw:p2"]
    - type: veth
      endpoints:
        - {node: h3, interface: eth1, mac: "02:00:00:00:30:03"}
        - {node: sw, interface: p3}
    - endpoints: ["h3:eth2", "host:${tap}"]
`;
}

async function mgmtTaps(socket: string): Promise<string[]> {
  const c = await ControlClient.connect(socket);
  try {
    return (await c.request({ op: 'ports' })).ports.filter((p) => p.node === 'host').map((p) => p.tap);
  } finally {
    c.close();
  }
}

testIf(test, skip, 'deploy, ping over every kind of link, inspect, exec, destroy leaves nothing', async () => {
  const name = uniqueName('lab');
  const tap = `${name.slice(-8)}t`;
  const dir = labDir();
  const file = writeTopology(dir, name, smallLab(name, tap));
  const before = await hostState(name);
  let deployed = false;
  try {
    const d = await containet(['lab', 'deploy', '-t', file]);
    assert.is(d.code, 0, d.stderr);
    deployed = true;
    assert.match(d.stdout, new RegExp(`lab ${name} deployed in \\d+\\.\\d+ s`));
    const insp = await containet(['lab', 'inspect', '-t', file, '--json']);
    assert.is(insp.code, 0, insp.stderr);
    const view = JSON.parse(insp.stdout) as InspectView;
    assert.is(view.state, 'running');
    assert.equal(view.nodes.map((n) => `${n.name}:${n.container}:${n.state}`), ['h1', 'h2', 'h3'].map((n) => `${n}:clab-${name}-${n}:running`));
    assert.equal(view.switches.map((s) => `${s.id}:${s.state}`), ['mgmt:running', 'bridge-1:running', 'links:running']);
    // Every interface is on a port; the extended link's MAC is the one asked for.
    for (const n of view.nodes) for (const i of n.interfaces) assert.ok(i.port !== null, `${n.name}:${i.ifname} has no port`);
    const h3 = view.nodes.find((n) => n.name === 'h3')!;
    assert.is(h3.interfaces.find((i) => i.ifname === 'eth1')!.mac, '02:00:00:00:30:03');
    const hostPort = await mgmtTaps(view.switches[0]!.socket);
    assert.is(hostPort.length, 1);
    assert.ok((await hostLinks()).includes(tap), 'the host end of host:TAP exists');

    // The point-to-point link, the bridge (all pairs), the host link, management by name.
    assert.ok(await pings(file, 'h1', '10.12.0.2'), 'h1 -> h2 over the link');
    for (const [from, to] of [['h1', '10.30.0.2'], ['h1', '10.30.0.3'], ['h2', '10.30.0.1'], ['h2', '10.30.0.3'], ['h3', '10.30.0.1'], ['h3', '10.30.0.2']] as const) {
      assert.ok(await pings(file, from, to), `${from} -> ${to} over the bridge`);
    }
    await containet(['lab', 'exec', '-t', file, 'h3', 'true']);
    const { run } = await import('@containet/common/testing');
    await run('ip', ['addr', 'add', '10.99.0.1/24', 'dev', tap]);
    await run('ip', ['link', 'set', tap, 'up']);
    assert.is((await run('ping', ['-c', '2', '-i', '0.2', '-W', '3', '10.99.0.2'])).code, 0, 'host -> h3 over host:TAP');
    for (const n of view.nodes) {
      assert.is((await run('ping', ['-c', '2', '-i', '0.2', '-W', '3', n.mgmtIpv4.split('/')[0]!])).code, 0, `host -> ${n.name} on management`);
    }
    assert.ok(await pings(file, 'h1', 'h3'), 'h1 -> h3 by name (/etc/hosts)');
    assert.ok(await pings(file, 'h3', `clab-${name}-h2`), 'h3 -> h2 by container name');
    const hosts = await labExec(file, 'h2', 'cat', '/etc/hosts');
    for (const n of view.nodes) assert.ok(hosts.stdout.includes(`${n.mgmtIpv4.split('/')[0]}\tclab-${name}-${n.name} ${n.name}\n`), hosts.stdout);
    assert.not.ok((await run('cat', ['/etc/hosts'])).stdout.includes(name), "the host's /etc/hosts is untouched");

    // exec: the command's status and output.
    const ex = await labExec(file, 'h2', 'sh', '-c', 'hostname; exit 7');
    assert.is(ex.code, 7);
    assert.is(ex.stdout.trim(), `clab-${name}-h2`);
    const nosuch = await labExec(file, 'h9', 'true');
    assert.is(nosuch.code, 2);
    assert.match(nosuch.stderr, /has no linux node "h9"/);

    // A second deploy says the lab runs.
    const again = await containet(['lab', 'deploy', '-t', file]);
    assert.is(again.code, 1);
    assert.match(again.stderr, new RegExp(`lab ${name} is already deployed`));
    assert.match(again.stderr, /--reconfigure/);

    const g = await containet(['lab', 'graph', '-t', file, '-o', join(dir, 'g.html')]);
    assert.is(g.code, 0, g.stderr);

    const del = await containet(['lab', 'destroy', '-t', file]);
    assert.is(del.code, 0, del.stderr);
    deployed = false;
    assert.equal(await hostState(name), before);
    const links = await hostLinks();
    assert.not.ok(links.includes(tap), 'host tap removed');
    for (const t of hostPort) assert.not.ok(links.includes(t), `management host port ${t} removed`);
    assert.not.ok(existsSync(join(dir, `clab-${name}`)), 'lab directory removed');
    assert.not.ok(existsSync(join(STATE, 'labs', name)), 'run directory removed');
    const gone = await containet(['lab', 'inspect', '-t', file]);
    assert.is(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`lab ${name} is not deployed`));
  } finally {
    if (deployed) await containet(['lab', 'destroy', '-t', file]);
    rmSync(dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'link vars: a delay on a link, point-to-point links kept apart, VLANs on a bridge', async () => {
  const name = uniqueName('lab');
  const dir = labDir();
  // a-b and c-d: two point-to-point links on one subnet (each its own
  // segment); a-b delayed. e, f, g on a bridge: e and f on VLAN 10, g on 20.
  const file = writeTopology(
    dir,
    name,
    `name: ${name}
topology:
  nodes:
    a: {kind: linux, exec: ["ip addr add 10.7.0.1/24 dev eth1"]}
    b: {kind: linux, exec: ["ip addr add 10.7.0.2/24 dev eth1"]}
    c: {kind: linux, exec: ["ip addr add 10.7.0.3/24 dev eth1"]}
    d: {kind: linux, exec: ["ip addr add 10.7.0.4/24 dev eth1"]}
    e: {kind: linux, exec: ["ip addr add 10.8.0.1/24 dev eth1"]}
    f: {kind: linux, exec: ["ip addr add 10.8.0.2/24 dev eth1"]}
    g: {kind: linux, exec: ["ip addr add 10.8.0.3/24 dev eth1"]}
    br: {kind: bridge}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      vars: {delay: 60ms}
    - endpoints: ["c:eth1", "d:eth1"]
    - endpoints: ["e:eth1", "br:p1"]
      vars: {vlan: 10}
    - endpoints: ["f:eth1", "br:p2"]
      vars: {vlan: 10}
    - endpoints: ["g:eth1", "br:p3"]
      vars: {vlan: 20}
`,
  );
  const before = await hostState(name);
  let deployed = false;
  try {
    const d = await containet(['lab', 'deploy', '-t', file]);
    assert.is(d.code, 0, d.stderr);
    deployed = true;
    const r = await labExec(file, 'a', 'ping', '-c', '3', '-i', '0.2', '-W', '3', '10.7.0.2');
    assert.is(r.code, 0, r.stdout);
    const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    assert.ok(rtts.length >= 2 && Math.min(...rtts) >= 55, `RTTs ${rtts.join(', ')} ms: the 60 ms delay is on the path`);
    assert.ok(await pings(file, 'c', '10.7.0.4'), 'c -> d');
    assert.not.ok(await pings(file, 'a', '10.7.0.4'), 'a does not reach d: another link');
    assert.not.ok(await pings(file, 'c', '10.7.0.2'), 'c does not reach b: another link');
    assert.ok(await pings(file, 'e', '10.8.0.2'), 'e -> f on VLAN 10');
    assert.not.ok(await pings(file, 'e', '10.8.0.3'), 'e does not reach g on VLAN 20');
    const del = await containet(['lab', 'destroy', '-t', file]);
    assert.is(del.code, 0, del.stderr);
    deployed = false;
    assert.equal(await hostState(name), before);
  } finally {
    if (deployed) await containet(['lab', 'destroy', '-t', file]);
    rmSync(dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'broken files are refused with their place, before anything starts', async () => {
  const dir = labDir();
  const name = uniqueName('lab');
  try {
    const before = await hostState(name);
    const cases: Array<[string, RegExp]> = [
      [`name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux\n`, /bad\.clab\.yml:5:1: not valid YAML/],
      [`name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux}\n    r: {kind: nokia_srlinux}\n`, /bad\.clab\.yml:5:15: topology\.nodes\.r\.kind: unsupported kind "nokia_srlinux"[^\n]*\n[^\n]*supported kinds: linux, bridge, ovs-bridge, host/],
      [`name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n`, /bad\.clab\.yml:6:29: topology\.links\[0\]\.endpoints\[1\]: no node "b"/],
      [`name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["b:eth2", "a:eth1"]\n`, /bad\.clab\.yml:8:29: .*interface a:eth1 is used twice/],
      [`name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux, startup-config: x.cfg}\n`, /bad\.clab\.yml:4:38: topology\.nodes\.a\.startup-config: unknown field/],
    ];
    for (const [text, expected] of cases) {
      const file = writeTopology(dir, 'bad', text);
      const r = await containet(['lab', 'deploy', '-t', file]);
      assert.is(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.is(r.stderr.trim().split('\n').length, 2, `one line and a hint: ${r.stderr}`);
      assert.equal(await hostState(name), before);
      assert.not.ok(existsSync(join(dir, `clab-${name}`)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'a failing exec and an interrupt both undo the deploy and say so', async () => {
  const dir = labDir();
  const name = uniqueName('lab');
  const file = writeTopology(
    dir,
    name,
    `name: ${name}\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux, exec: ["echo about to fail >&2; exit 3"]}\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n`,
  );
  try {
    const before = await hostState(name);
    const r = await containet(['lab', 'deploy', '-t', file]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`lab ${name}: deploy failed while running the nodes' exec commands: node b: exec "echo about to fail >&2; exit 3" failed \\(status 3\\): about to fail; everything it made was removed`));
    assert.equal(await hostState(name), before);

    // Ctrl-C once the nodes are starting.
    const slow = writeTopology(dir, `${name}i`, `name: ${name}i\ntopology:\n  nodes:\n${Array.from({ length: 6 }, (_, i) => `    n${i}: {kind: linux}\n`).join('')}`);
    const d = startContainet(['lab', 'deploy', '-t', slow]);
    const exited = new Promise<number>((res) => d.child.once('exit', (code) => res(code ?? 1)));
    await waitFor(() => /starting 6 nodes/.test(d.stderr()), 'the deploy to start its nodes', 60_000);
    d.child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 130, d.stderr());
    assert.match(d.stderr(), new RegExp(`lab ${name}i: deploy interrupted while [^:]+: interrupted; everything it made was removed`));
    assert.equal(await hostState(name), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

testIf(test, skip, 'two labs side by side: own management subnets, own nodes, destroyed apart', async () => {
  const dir = labDir();
  const a = uniqueName('laba');
  const b = uniqueName('labb');
  const lab = (n: string): string => `name: ${n}\ntopology:\n  nodes:\n    x: {kind: linux}\n    y: {kind: linux}\n  links:\n    - endpoints: ["x:eth1", "y:eth1"]\n`;
  const fa = writeTopology(dir, a, lab(a));
  const fb = writeTopology(dir, b, lab(b));
  const deployed = new Set<string>();
  try {
    const [ra, rb] = await Promise.all([containet(['lab', 'deploy', '-t', fa, '--json']), containet(['lab', 'deploy', '-t', fb, '--json'])]);
    assert.is(ra.code, 0, ra.stderr);
    deployed.add(fa);
    assert.is(rb.code, 0, rb.stderr);
    deployed.add(fb);
    const va = JSON.parse(ra.stdout) as InspectView;
    const vb = JSON.parse(rb.stdout) as InspectView;
    assert.is.not(va.mgmt.subnet, vb.mgmt.subnet);
    // Each lab's nodes reach each other by name over management.
    assert.ok(await pings(fa, 'x', 'y'));
    assert.ok(await pings(fb, 'y', 'x'));
    const del = await containet(['lab', 'destroy', '-t', fa]);
    assert.is(del.code, 0, del.stderr);
    deployed.delete(fa);
    // b is untouched by a's destroy.
    const ib = JSON.parse((await containet(['lab', 'inspect', '-t', fb, '--json'])).stdout) as InspectView;
    assert.equal(ib.nodes.map((n) => n.state), ['running', 'running']);
    assert.ok(await pings(fb, 'x', 'y'));
  } finally {
    for (const f of deployed) await containet(['lab', 'destroy', '-t', f]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
