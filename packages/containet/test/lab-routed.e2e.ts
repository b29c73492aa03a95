/**
 * The routed lab of examples/labs/routed.clab.yml end to end (renamed, so
 * that it never meets a lab someone deployed from the example): two
 * subnets joined by a Linux router node whose forwarding comes from the
 * file's sysctls and whose hosts' routes come from its exec commands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { testIf, uniqueName, whyMissing, whyNoRoot } from '@containet/common/testing';
import { containet, hostState, labDir, labExec, pings, writeTopology } from './lab-helpers.js';

const skip = whyNoRoot() ?? whyMissing('ping', 'ip', 'nsenter');
const EXAMPLE = fileURLToPath(new URL('../../../../examples/labs/routed.clab.yml', import.meta.url));

testIf(test, skip, 'h1 reaches h2 through r1, one hop; destroy leaves nothing', async () => {
  const name = uniqueName('routed');
  const text = readFileSync(EXAMPLE, 'utf8');
  assert.match(text, /^name: routed$/m);
  const dir = labDir();
  const file = writeTopology(dir, name, text.replace(/^name: routed$/m, `name: ${name}`));
  const before = await hostState(name);
  let deployed = false;
  try {
    const d = await containet(['lab', 'deploy', '-t', file]);
    assert.is(d.code, 0, d.stderr);
    deployed = true;
    assert.is((await labExec(file, 'r1', 'cat', '/proc/sys/net/ipv4/ip_forward')).stdout.trim(), '1');
    assert.is((await labExec(file, 'h1', 'cat', '/proc/sys/net/ipv4/ip_forward')).stdout.trim(), '0');
    assert.match((await labExec(file, 'h1', 'ip', 'route', 'get', '10.2.0.2')).stdout, /10\.2\.0\.2 via 10\.1\.0\.1 dev eth1/);
    assert.ok(await pings(file, 'h1', '10.2.0.2'), 'h1 -> h2 across the router');
    assert.ok(await pings(file, 'h2', '10.1.0.2'), 'h2 -> h1 across the router');
    // With a TTL of 1 the router answers instead: the path is one routed hop.
    const ttl = await labExec(file, 'h1', 'ping', '-c', '1', '-W', '3', '-t', '1', '10.2.0.2');
    assert.is.not(ttl.code, 0);
    assert.match(ttl.stdout, /From 10\.1\.0\.1 .*Time to live exceeded/);
    const del = await containet(['lab', 'destroy', '-t', file]);
    assert.is(del.code, 0, del.stderr);
    deployed = false;
    assert.equal(await hostState(name), before);
  } finally {
    if (deployed) await containet(['lab', 'destroy', '-t', file]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
