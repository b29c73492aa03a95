// examples/two-terminals: the switch script and the two shell scripts, with
// the shells driven over their stdin as a person would type into them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testIf, whyNoRoot, whyMissing } from '@containet/common/testing';
import { Lab, REPO, Shell, lastLines, runProgram, suiteCommand, waitUntil } from '../lib/lab.mjs';

const dir = join(REPO, 'examples', 'two-terminals');
const skip = whyNoRoot() ?? whyMissing('ping', 'ip');

/** Start one of the scripts with CONTAINET_SOCK set, as a Lab child. */
function script(lab, name, socket, stdin = 'ignore') {
  process.env.CONTAINET_SOCK = socket;
  return lab.start('bash', [join(dir, name)], { stdin, label: name });
}

async function switchUp(lab, socket) {
  const sw = script(lab, '1-switch.sh', socket);
  const [file, args] = suiteCommand('containet', ['status', '-s', socket]);
  await waitUntil(async () => {
    if (sw.exitCode !== null) throw new Error(`1-switch.sh exited ${sw.exitCode}: ${lastLines(sw)}`);
    return (await runProgram(file, args)).code === 0;
  }, 'the switch of 1-switch.sh', 20_000);
  return sw;
}

async function portList(socket) {
  const [file, args] = suiteCommand('containet', ['ports', '-s', socket, '--json']);
  const r = await runProgram(file, args);
  assert.is(r.code, 0, r.stderr);
  const ports = JSON.parse(r.stdout);
  assert.ok(Array.isArray(ports), 'containet ports --json prints an array');
  return ports;
}

testIf(test, skip, 'two shells on the switch ping each other; everything ends cleanly', async () => {
  const lab = new Lab();
  try {
    const socket = join(await lab.tempDir('containet-ex2t-'), 'switch.sock');
    const sw = await switchUp(lab, socket);
    const a = new Shell(script(lab, '2-shell.sh', socket, 'pipe'));
    const b = new Shell(script(lab, '3-shell.sh', socket, 'pipe'));

    const addrA = await a.run('ip -4 -o addr show dev eth0', 20_000);
    assert.match(addrA.output, /inet 10\.0\.0\.2\/24/);
    const addrB = await b.run('ip -4 -o addr show dev eth0', 20_000);
    assert.match(addrB.output, /inet 10\.0\.0\.1\/24/);
    // PID 1 of its own PID namespace: the shell the script started.
    assert.is((await a.run('echo $$')).output.trim(), '1');

    const ping = await b.run('ping -n -c 3 -i 0.2 -W 2 10.0.0.2', 20_000);
    assert.is(ping.code, 0, ping.output);
    assert.match(ping.output, /64 bytes from 10\.0\.0\.2: icmp_seq=1/);
    assert.match(ping.output, /3 packets transmitted, 3 received/);
    const back = await a.run('ping -n -c 1 -W 2 10.0.0.1', 20_000);
    assert.match(back.output, /1 received/);

    // What `containet ports` shows in a fourth terminal: both containers.
    const ports = await portList(socket);
    assert.equal(ports.flatMap((p) => p.addresses).sort(), ['10.0.0.1/24', '10.0.0.2/24']);
    // Each sent at least its 4 echoes (3 + 1 pings) and got at least as many back.
    for (const p of ports) assert.ok(p.counters.rxPackets >= 4 && p.counters.txPackets >= 4, JSON.stringify(p.counters));

    // `exit` in each terminal: the containers end with status 0 and leave the switch.
    a.child.stdin.end('exit\n');
    b.child.stdin.end('exit\n');
    assert.equal(await a.child.exited, { code: 0, signal: null });
    assert.equal(await b.child.exited, { code: 0, signal: null });
    await waitUntil(async () => (await portList(socket)).length === 0, 'both ports to leave the switch', 5000);

    // Ctrl-C in terminal 1: the switch stops and removes its socket.
    process.kill(sw.pid, 'SIGINT');
    const end = await sw.exited;
    assert.is(end.code, 0, lastLines(sw));
    assert.not.ok(existsSync(socket), 'socket removed');
  } finally {
    await lab.close();
  }
});

testIf(test, skip, 'a shell script without a running switch fails with a clear message and starts nothing', async () => {
  const lab = new Lab();
  try {
    const socket = join(await lab.tempDir('containet-ex2t-'), 'nobody-here.sock');
    const shell = script(lab, '2-shell.sh', socket, 'pipe');
    shell.stdin.end('echo should-not-run\n');
    const end = await shell.exited;
    assert.ok(end.code !== 0, 'non-zero exit');
    assert.match(shell.tail.stderr, /containode: /);
    assert.match(shell.tail.stderr, /nobody-here\.sock/);
    assert.not.match(shell.tail.stdout, /should-not-run/);
    assert.not.ok(existsSync(socket));
  } finally {
    await lab.close();
  }
});

test.after(async () => {
  delete process.env.CONTAINET_SOCK;
});

test.run();
