#!/usr/bin/env node
/**
 * Impairment accuracy benchmark (`pnpm bench:impair`, as root): how close
 * the switch's link impairments (containet port set) come to what they are
 * set to, measured from containers as a user would, next to the same
 * figures unimpaired in this run, and a Linux tbf qdisc on a veth pair
 * shaped to the same rates (the kernel's reference; this kernel may lack
 * netem, so there is no kernel reference for delay and loss). It prints
 * figures and targets and does not judge; it exits non-zero only when it
 * could not measure.
 *
 *   delay 10 ms by ping                      target +-0.5 ms
 *   rate 100 Mbit/s and 5 Gbit/s by iperf3   target +-5%
 *   loss 1% over 100,000 UDP frames          target +-0.3%
 *   unimpaired pair while another is shaped  target < 5% lower throughput
 *
 * Usage: node bench/impair.mjs [--time SECONDS] [--frames N]
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Lab, Shell, must, parsePing, runProgram, runTag, startContainer, startSwitch, suiteCommand, waitForOutput } from '../examples/lib/lab.mjs';

const { values } = parseArgs({ options: { time: { type: 'string', default: '5' }, frames: { type: 'string', default: '100000' } } });
const TIME = Number(values.time);
const FRAMES = Number(values.frames);
if (!Number.isInteger(TIME) || TIME < 2 || !Number.isInteger(FRAMES) || FRAMES < 1000) {
  process.stderr.write('usage: node bench/impair.mjs [--time SECONDS (>= 2)] [--frames N (>= 1000)]\n');
  process.exit(2);
}
const log = (line) => process.stderr.write(`${line}\n`);

function iperfJson(output, what) {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error(`${what}: iperf3 printed no JSON: ${output.trim().slice(0, 300)}`);
  const report = JSON.parse(output.slice(start, end + 1));
  if (report.error) throw new Error(`${what}: iperf3: ${report.error}`);
  return report;
}

/** iperf3 client from `shell` to `addr`, retried while the server finishes its last test. */
async function iperf(shell, addr, args, what) {
  for (let attempt = 1; ; attempt++) {
    const r = await shell.run(`iperf3 -c ${addr} ${args} -J`, (TIME + 120) * 1000);
    try {
      return iperfJson(r.output, what);
    } catch (err) {
      if (attempt >= 5 || !/server is busy|unable to connect/.test(err.message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

const tcpBps = async (shell, addr, what) => (await iperf(shell, addr, `-t ${TIME} -O 1`, what)).end.sum_received.bits_per_second;

async function pingAvg(shell, addr, count = 100) {
  const r = await shell.run(`ping -n -q -c ${count} -i 0.02 -W 1 ${addr}`, 60_000);
  const p = parsePing(r.output);
  if (p.avgMs === null) throw new Error(`ping ${addr}: no replies`);
  return p.avgMs;
}

/** containet with two pairs of containers (client shell, iperf3 server). */
async function containetPairs(lab) {
  const tag = runTag();
  const dir = await lab.tempDir('containet-bench-impair-');
  const socket = join(dir, 'switch.sock');
  const sw = await startSwitch(lab, socket);
  const pairs = [];
  for (const i of [1, 2]) {
    const server = { id: `bi-s${i}-${tag}`, addr: `10.236.0.${2 * i - 1}` };
    const client = { id: `bi-c${i}-${tag}`, addr: `10.236.0.${2 * i}` };
    const srv = startContainer(lab, { socket, address: `${server.addr}/24`, id: server.id, program: ['iperf3', '-s', '-B', server.addr, '--forceflush'], stdin: 'ignore' });
    await waitForOutput(srv, /Server listening/, 20_000);
    const shell = new Shell(startContainer(lab, { socket, address: `${client.addr}/24`, id: client.id, program: ['/bin/sh'] }));
    await shell.run('true', 20_000);
    await shell.run(`ping -n -c 1 -w 10 ${server.addr}`, 20_000);
    pairs.push({ server, client, shell });
  }
  return { socket, pid: sw.pid, pairs };
}

async function portSet(socket, who, ...args) {
  const [file, argv] = suiteCommand('containet', ['port', 'set', who, ...args, '-s', socket]);
  const r = await runProgram(file, argv);
  if (r.code !== 0) throw new Error(`containet port set ${who} ${args.join(' ')}: ${r.stderr.trim()}`);
}

async function portCounters(socket, node) {
  const [file, argv] = suiteCommand('containet', ['ports', '--json', '-s', socket]);
  const ports = JSON.parse((await runProgram(file, argv)).stdout);
  return ports.find((p) => p.node === node).counters;
}

/** The kernel's reference: two namespaces on a veth pair, the client's end shaped by tbf. */
async function kernelTbf(lab) {
  const tag = runTag();
  const ns = [`cnbi-s-${tag}`, `cnbi-c-${tag}`];
  for (const n of ns) await lab.acquire(`network namespace ${n}`, () => must('ip', 'netns', 'add', n), () => must('ip', 'netns', 'del', n));
  await must('ip', 'link', 'add', 'eth0', 'netns', ns[0], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[1]);
  const addrs = ['10.237.0.1', '10.237.0.2'];
  for (const [i, n] of ns.entries()) {
    await must('ip', '-n', n, 'addr', 'add', `${addrs[i]}/24`, 'dev', 'eth0');
    await must('ip', '-n', n, 'link', 'set', 'eth0', 'up');
    await must('ip', '-n', n, 'link', 'set', 'lo', 'up');
  }
  const srv = lab.start('ip', ['netns', 'exec', ns[0], 'iperf3', '-s', '-B', addrs[0], '--forceflush'], { label: 'kernel iperf3 server' });
  await waitForOutput(srv, /Server listening/, 20_000);
  const shell = new Shell(lab.start('ip', ['netns', 'exec', ns[1], 'sh'], { stdin: 'pipe', group: true, label: 'kernel client shell' }));
  await shell.run(`ping -n -c 1 -w 10 ${addrs[0]}`, 20_000);
  return {
    shell,
    addr: addrs[0],
    // tbf(8): a burst of at least rate/HZ (1 ms here) and a queue of 50 ms.
    shape: (rate, burst) => must('ip', 'netns', 'exec', ns[1], 'tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', '50ms'),
  };
}

const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const f = (x, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));

async function main() {
  const lab = new Lab({ log });
  lab.trapSignals();
  const rows = [];
  try {
    log('bench:impair: containet with two pairs of containers');
    const t = await containetPairs(lab);
    const [p1, p2] = t.pairs;

    log('  delay: ping RTT unimpaired, then with 10 ms on the echo request (server port, out)');
    const base = await pingAvg(p1.shell, p1.server.addr);
    await portSet(t.socket, p1.server.id, '--direction', 'out', '--delay', '10ms');
    const delayed = await pingAvg(p1.shell, p1.server.addr);
    await portSet(t.socket, p1.server.id, '--clear');
    rows.push(['delay 10 ms (ping RTT added)', '10 ms +-0.5', `${f(delayed - base, 3)} ms`, `${f(delayed - base - 10, 3)} ms`, `unimpaired RTT ${f(base, 3)} ms`]);

    log('  rate: iperf3 TCP unshaped, then shaped at 100 Mbit/s and 5 Gbit/s (client port, in)');
    const free = await tcpBps(p1.shell, p1.server.addr, 'TCP unshaped');
    const rates = {};
    for (const [rate, bps] of [['100mbit', 100e6], ['5gbit', 5e9]]) {
      await portSet(t.socket, p1.client.id, '--direction', 'in', '--rate', rate);
      rates[rate] = await tcpBps(p1.shell, p1.server.addr, `TCP at ${rate}`);
      const wire = (rates[rate] * 1514) / 1448;
      rows.push([
        `rate ${rate} (iperf3 TCP goodput)`,
        `${bps / 1e6} Mbit/s +-5%`,
        `${f(rates[rate] / 1e6, 1)} Mbit/s`,
        pct(rates[rate] / bps - 1),
        `on the wire ${f(wire / 1e6, 1)} Mbit/s (${pct(wire / bps - 1)}); unshaped ${f(free / 1e9, 2)} Gbit/s`,
      ]);
    }
    await portSet(t.socket, p1.client.id, '--clear');

    log(`  loss: ${FRAMES} UDP frames with 1% loss (client port, in, seeded)`);
    // 5000 frames/s: slow enough that the unimpaired run loses none on a
    // busy machine, so what is lost is the switch's draw.
    const udpArgs = `-u -b 8M -l 200 -k ${FRAMES}`;
    const udpBase = (await iperf(p1.shell, p1.server.addr, udpArgs, 'UDP unimpaired')).end.sum_received;
    const c0 = await portCounters(t.socket, p1.client.id);
    await portSet(t.socket, p1.client.id, '--direction', 'in', '--loss', '1%', '--seed', '12345');
    const udp = (await iperf(p1.shell, p1.server.addr, udpArgs, 'UDP with 1% loss')).end.sum_received;
    const c1 = await portCounters(t.socket, p1.client.id);
    await portSet(t.socket, p1.client.id, '--clear');
    const drawn = c1.impairLost - c0.impairLost;
    const frames = c1.rxPackets - c0.rxPackets;
    rows.push(['loss 1% (iperf3 UDP receiver)', '1% +-0.3', `${f(udp.lost_percent, 3)}%`, `${f(udp.lost_percent - 1, 3)}%`, `unimpaired ${f(udpBase.lost_percent, 3)}%; switch: ${drawn} of ${frames} frames (${f((100 * drawn) / frames, 3)}%)`]);

    // Pair 2 (unimpaired) measured alone, beside pair 1 sending 100 Mbit/s
    // unshaped (iperf3 paces it: the cost of a second flow on two cores),
    // and beside pair 1 shaped to 100 Mbit/s by the switch; alternating,
    // three rounds, medians: on a shared machine one run says little.
    log('  isolation: pair 2 alone, beside a 100 Mbit/s flow, beside a flow shaped to 100 Mbit/s, alternating');
    const alone = [];
    const paced = [];
    const shaped = [];
    const beside = async (list, args, what) => {
      const busy = iperf(p1.shell, p1.server.addr, `-t ${TIME + 3} ${args}`, what);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      list.push(await tcpBps(p2.shell, p2.server.addr, `TCP pair 2 beside ${what}`));
      await busy;
    };
    for (let round = 0; round < 3; round++) {
      alone.push(await tcpBps(p2.shell, p2.server.addr, 'TCP pair 2 alone'));
      await beside(paced, '-b 100M', 'pair 1 paced by iperf3');
      await portSet(t.socket, p1.client.id, '--direction', 'in', '--rate', '100mbit');
      await beside(shaped, '', 'pair 1 shaped by the switch');
      await portSet(t.socket, p1.client.id, '--clear');
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[1];
    const gbit = (xs) => xs.map((x) => f(x / 1e9, 2)).join(' ');
    rows.push([
      'unimpaired pair beside a shaped one',
      '< 5% lower',
      `${f(median(shaped) / 1e9, 2)} Gbit/s`,
      pct(median(shaped) / median(paced) - 1),
      `vs beside an unshaped 100 Mbit/s flow (medians of 3): ${gbit(shaped)} vs ${gbit(paced)} Gbit/s; alone ${gbit(alone)} (${pct(median(shaped) / median(alone) - 1)})`,
    ]);

    log('bench:impair: kernel reference, tbf on a veth pair');
    const k = await kernelTbf(lab);
    for (const [rate, bps, burst] of [['100mbit', 100e6, '32kb'], ['5gbit', 5e9, '1mb']]) {
      await k.shape(rate, burst);
      const got = await tcpBps(k.shell, k.addr, `kernel tbf ${rate}`);
      rows.push([`  kernel tbf ${rate} (reference)`, `${bps / 1e6} Mbit/s`, `${f(got / 1e6, 1)} Mbit/s`, pct(got / bps - 1), 'veth pair, tbf burst ' + burst]);
    }
  } finally {
    await lab.close();
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['figure', 'target', 'measured', 'error'][i].length));
  const line = (r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c)).join('  ');
  process.stdout.write(`containet impairment benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC\n\n`);
  process.stdout.write(`${line(['figure', 'target', 'measured', 'error', 'reference (same run)'])}\n`);
  process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}  --------------------\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write('\nrates count Ethernet frames (GSO frames by their segments); iperf3 reports TCP goodput, 1448 of every 1514 bytes at MTU 1500 (-4.4%).\n');
  process.stdout.write(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (${cpus().length} cores)\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:impair: ${err.message}\n`);
  process.exitCode = 1;
});
