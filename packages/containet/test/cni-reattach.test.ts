/**
 * The switch's start-up re-attach of CNI pods (src/cni-reattach.ts), with
 * stand-in plugins (shell scripts) so that no namespace is needed: nothing
 * runs without records for the socket; the outcome and each failed pod are
 * logged; a missing plugin is logged with where it was looked for; stop()
 * ends a re-attach still running. The real plugin and a restarted switch:
 * packages/cni/test/cni.e2e.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCniRecord } from '@containet/common';
import { reattachCniPods } from '../src/cni-reattach.js';

function withState(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cn-reattach-'));
    const saved = process.env['CONTAINET_CNI_STATE'];
    process.env['CONTAINET_CNI_STATE'] = join(dir, 'state');
    try {
      await fn(dir);
    } finally {
      if (saved === undefined) delete process.env['CONTAINET_CNI_STATE'];
      else process.env['CONTAINET_CNI_STATE'] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function record(socket: string, id: string): void {
  writeCniRecord({ version: 1, network: 'n1', containerId: id, ifname: 'eth0', netns: `/run/netns/${id}`, socket, node: `cni-${id}`, mac: '02:00:00:00:00:01', mtu: 1500, ipam: null, config: {}, createdAt: new Date().toISOString() });
}

function plugin(dir: string, body: string): string {
  const file = join(dir, 'plugin.sh');
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test(
  'no records for this socket: nothing runs',
  withState(async (dir) => {
    record(join(dir, 'other.sock'), 'a1');
    const lines: string[] = [];
    const ran = join(dir, 'ran');
    assert.is(reattachCniPods(join(dir, 'sw.sock'), (l) => lines.push(l), [plugin(dir, `touch ${ran}`)]), undefined);
    assert.equal(lines, []);
  }),
);

test(
  'the plugin runs with --socket and --json; attached, present and each failure are logged',
  withState(async (dir) => {
    const socket = join(dir, 'sw.sock');
    record(socket, 'a1');
    record(socket, 'a2');
    const args = join(dir, 'args');
    const file = plugin(dir, `echo "$@" > ${args}\necho '{"attached":["cni-a1"],"present":[],"failed":[{"node":"cni-a2","error":"eth0 in /run/netns/a2: gone"}]}'\nexit 1`);
    const lines: string[] = [];
    const r = reattachCniPods(socket, (l) => lines.push(l), [join(dir, 'absent'), file]);
    assert.ok(r);
    await r.done;
    assert.match(lines[0]!, /re-attaching 2 recorded pod port\(s\)/);
    assert.match(lines.join('\n'), /cni: re-attached 1 pod port\(s\), 1 failed/);
    assert.match(lines.join('\n'), /cni: cannot re-attach cni-a2: eth0 in \/run\/netns\/a2: gone/);
    assert.is(readFileSync(args, 'utf8').trim(), `reattach --socket ${socket} --json`);
  }),
);

test(
  'a record naming the socket by another path (a linked directory, as /var/run is to /run) is this switch\'s',
  withState(async (dir) => {
    mkdirSync(join(dir, 'run'));
    symlinkSync(join(dir, 'run'), join(dir, 'var-run'));
    const socket = join(dir, 'run', 'sw.sock');
    writeFileSync(socket, ''); // stands in for the socket file, which the daemon has made by now
    record(join(dir, 'var-run', 'sw.sock'), 'a1');
    record(join(dir, 'run', 'other.sock'), 'a2');
    const lines: string[] = [];
    const r = reattachCniPods(socket, (l) => lines.push(l), [plugin(dir, 'echo \'{"attached":["cni-a1"],"present":[],"failed":[]}\'')]);
    await r!.done;
    assert.match(lines[0]!, /re-attaching 1 recorded pod port\(s\)/);
    assert.match(lines[1]!, /re-attached 1 pod port\(s\)$/);
  }),
);

test(
  'a plugin that fails without a result, and one that is not there, are logged',
  withState(async (dir) => {
    const socket = join(dir, 'sw.sock');
    record(socket, 'a1');
    const lines: string[] = [];
    const r = reattachCniPods(socket, (l) => lines.push(l), [plugin(dir, 'echo "containet-cni: something broke" >&2; exit 3')]);
    await r!.done;
    assert.match(lines.join('\n'), /cni: re-attaching pods failed: containet-cni: something broke/);
    lines.length = 0;
    assert.is(reattachCniPods(socket, (l) => lines.push(l), [join(dir, 'nowhere')]), undefined);
    assert.match(lines[0]!, /1 pod port\(s\) recorded .* containet-cni was not found \(looked at .*nowhere\)/);
  }),
);

test(
  'stop() ends a re-attach still running, at once',
  withState(async (dir) => {
    const socket = join(dir, 'sw.sock');
    record(socket, 'a1');
    const lines: string[] = [];
    const r = reattachCniPods(socket, (l) => lines.push(l), [plugin(dir, 'exec sleep 60')]);
    const t = Date.now();
    r!.stop();
    r!.stop();
    await r!.done;
    assert.ok(Date.now() - t < 5000);
    assert.is(lines.length, 1, lines.join('\n'));
  }),
);

test.run();
