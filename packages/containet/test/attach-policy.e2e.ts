/**
 * What the switch refuses to attach: an IPv4 address or MAC already on
 * another port (unless --allow-duplicate-addresses), and a node detached
 * with --permanent, also after the switch restarts, until `undetach`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayTag } from '@containet/common';
import { Cleanup, killAndWait, makeNetns, run, testIf, uniqueName, whyNoRoot } from '@containet/common/testing';
import { BIN, attach, ports, startDaemon } from './helpers.js';

// The permanent-detach list lives in the state directory: a private one, removed at exit.
process.env['CONTAINET_STATE'] = mkdtempSync(join(tmpdir(), 'cn-state-'));
process.on('exit', () => rmSync(process.env['CONTAINET_STATE']!, { recursive: true, force: true }));

const reason = whyNoRoot();

async function refusal(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('the attach was not refused');
}

testIf(test, reason, 'a second attach with an IPv4 address or MAC already on a port is refused, naming the node; --allow-duplicate-addresses lets it through', async () => {
  const cleanup = new Cleanup();
  try {
    const d = await startDaemon(cleanup);
    const ns = await makeNetns(cleanup, 'cndup');
    const first = uniqueName('a');
    await attach(cleanup, d.socket, ns, first, 'eth0', ['--addr', '10.77.0.2/24', '--mac', '02:00:00:77:00:02']);

    let err = await refusal(attach(cleanup, d.socket, ns, uniqueName('b'), 'eth1', ['--addr', '10.77.0.2/16']));
    assert.is(err.code, 'CN_DUPLICATE_ADDRESS');
    assert.match(err.message, new RegExp(`IPv4 address 10\\.77\\.0\\.2 of node \\S+ is already on port \\d+ \\(node ${first}\\)`));
    err = await refusal(attach(cleanup, d.socket, ns, uniqueName('c'), 'eth2', ['--addr', '10.77.0.3/24', '--mac', '02:00:00:77:00:02']));
    assert.is(err.code, 'CN_DUPLICATE_ADDRESS');
    assert.match(err.message, new RegExp(`MAC 02:00:00:77:00:02 of node \\S+ is already on port \\d+ \\(node ${first}\\)`));
    assert.is((await ports(d.socket)).length, 1, 'nothing else attached');
    // Another address and MAC are fine.
    await attach(cleanup, d.socket, ns, uniqueName('d'), 'eth3', ['--addr', '10.77.0.3/24', '--mac', '02:00:00:77:00:03']);
    assert.is((await ports(d.socket)).length, 2);
    // The interface column names a tap opened in the container once (its name there is its only name).
    const table = await run(process.execPath, [BIN, 'ports', '-s', d.socket], { timeoutMs: 10_000 });
    assert.match(table.stdout, /^PORT\s+NODE\s+INTERFACE\s+MACS\s+ADDRESSES\s/);
    assert.match(table.stdout, new RegExp(`\\s${first}\\s+eth0\\s+02:00:00:77:00:02\\s+10\\.77\\.0\\.2/24\\s`));

    // A port whose container has exited (its connection not yet closed) does not hold its address.
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    await attach(cleanup, d.socket, ns, uniqueName('g'), 'eth6', ['--addr', '10.77.0.9/24', '--pid', String(gone.pid)]);
    await attach(cleanup, d.socket, ns, uniqueName('h'), 'eth7', ['--addr', '10.77.0.9/24']);
    err = await refusal(attach(cleanup, d.socket, ns, uniqueName('i'), 'eth8', ['--addr', '10.77.0.9/24']));
    assert.is(err.code, 'CN_DUPLICATE_ADDRESS', 'a running one does');

    const lax = await startDaemon(cleanup, ['--allow-duplicate-addresses']);
    await attach(cleanup, lax.socket, ns, uniqueName('e'), 'eth4', ['--addr', '10.77.0.2/24']);
    await attach(cleanup, lax.socket, ns, uniqueName('f'), 'eth5', ['--addr', '10.77.0.2/24']);
    assert.is((await ports(lax.socket)).length, 2, 'both attached with --allow-duplicate-addresses');
  } finally {
    await cleanup.run();
  }
});

testIf(test, reason, 'detach --permanent: the node is refused, also by the next switch on the socket, until undetach; a plain detach is not remembered', async () => {
  const cleanup = new Cleanup();
  try {
    const socket = join(tmpdir(), `${uniqueName('cnperm')}.sock`);
    let d = await startDaemon(cleanup, [], socket);
    const ns = await makeNetns(cleanup, 'cnperm');
    const plain = uniqueName('p');
    const kept = uniqueName('k');
    // The attaching fixture's own pid stands for the container's: alive through the test.
    await attach(cleanup, socket, ns, plain, 'eth0');
    const att = await attach(cleanup, socket, ns, kept, 'eth1', ['--pid', String(process.pid)]);

    let r = await run(process.execPath, [BIN, 'detach', plain, '-s', socket], { timeoutMs: 10_000 });
    assert.is(r.code, 0, r.stderr);
    r = await run(process.execPath, [BIN, 'detach', '--permanent', kept, '-s', socket, '--json'], { timeoutMs: 10_000 });
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), { port: att.port, node: kept, permanent: true });
    const list = join(process.env['CONTAINET_STATE']!, `detached-${gatewayTag(socket)}.json`);
    assert.equal(JSON.parse(readFileSync(list, 'utf8')).map((e: { node: string; pid: number }) => [e.node, e.pid]), [[kept, process.pid]]);

    // As after a restart: the switch goes, a new one takes the socket, the re-attachers try again.
    await killAndWait(d.child);
    d = await startDaemon(cleanup, [], socket);
    await attach(cleanup, socket, ns, plain, 'eth2');
    const err = await refusal(attach(cleanup, socket, ns, kept, 'eth3', ['--pid', String(process.pid)]));
    assert.is(err.code, 'CN_DETACHED_PERMANENTLY');
    assert.is(err.message, `node ${kept} was detached permanently (containet detach --permanent)`);
    // Another container that took the name (another process) is not the one detached.
    await attach(cleanup, socket, ns, kept, 'eth4', ['--pid', String(att.child.pid)]);
    r = await run(process.execPath, [BIN, 'detach', kept, '-s', socket], { timeoutMs: 10_000 });
    assert.is(r.code, 0, r.stderr);

    r = await run(process.execPath, [BIN, 'undetach', kept, '-s', socket], { timeoutMs: 10_000 });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `node ${kept} may attach again\n`);
    await attach(cleanup, socket, ns, kept, 'eth5', ['--pid', String(process.pid)]);
    assert.equal((await ports(socket)).map((p) => p.node).sort(), [kept, plain].sort());
    r = await run(process.execPath, [BIN, 'undetach', kept, '-s', socket, '--json'], { timeoutMs: 10_000 });
    assert.equal(JSON.parse(r.stdout), { node: kept, lifted: false });
  } finally {
    await cleanup.run();
  }
});

test.run();
