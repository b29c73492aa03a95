/**
 * The measurements, run from the client shell of a topology against its
 * server address: TCP throughput and 64-byte UDP packet rate with iperf3
 * (JSON output, iperf3(1) -J), ping round-trip time (ping(8) summary line).
 */
import { parsePing, waitForOutput } from '../../examples/lib/lab.mjs';

/** Ping until the server answers; this also fills both ARP caches. */
export async function waitReachable(client, addr, timeoutS = 10) {
  const r = await client.run(`ping -n -c 1 -w ${timeoutS} ${addr}`, (timeoutS + 5) * 1000);
  if (parsePing(r.output).received !== 1) throw new Error(`${addr} does not answer ping: ${r.output.trim().split('\n').pop()}`);
}

/** Start `iperf3 -s` on the server side and wait until it listens. */
export async function startIperfServer(topo) {
  // --forceflush: its stdout is a pipe, and we wait for its first line.
  const server = topo.startServer(['iperf3', '-s', '-B', topo.serverAddr, '--forceflush']);
  await waitForOutput(server, /Server listening/, 20_000);
  return server;
}

function iperfJson(output, what) {
  const start = output.indexOf('{');
  const end = output.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error(`${what}: iperf3 printed no JSON: ${output.trim().slice(0, 300)}`);
  const report = JSON.parse(output.slice(start, end + 1));
  if (report.error) throw new Error(`${what}: iperf3: ${report.error}`);
  return report;
}

/**
 * Run an iperf3 client and parse its report. An iperf3 server takes one test
 * at a time and finishes the previous one after its client has exited, so a
 * test started right after another can be refused ("the server is busy",
 * or the control connection reset); that is retried after a pause.
 */
async function iperfClient(topo, args, seconds, what) {
  for (let attempt = 1; ; attempt++) {
    const r = await topo.client.run(`iperf3 -c ${topo.serverAddr} ${args} -J`, (seconds + 30) * 1000);
    try {
      return iperfJson(r.output, what);
    } catch (err) {
      if (attempt >= 5 || !/server is busy|unable to connect to server/.test(err.message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** TCP throughput in bit/s as the receiver counted it, the first second omitted (slow start). */
export async function tcpThroughput(topo, seconds) {
  const report = await iperfClient(topo, `-t ${seconds} -O 1`, seconds, 'TCP');
  return report.end.sum_received.bits_per_second;
}

/** Average ping round trip in ms over `count` echoes `intervalS` apart. */
export async function pingRtt(topo, count, intervalS) {
  const r = await topo.client.run(`ping -n -q -c ${count} -i ${intervalS} -W 1 ${topo.serverAddr}`, (count * intervalS + 30) * 1000);
  const p = parsePing(r.output);
  if (p.avgMs === null) throw new Error(`ping: no replies: ${r.output.trim().split('\n').pop()}`);
  return { avgMs: p.avgMs, lost: p.sent - p.received, sent: p.sent };
}

/**
 * 64-byte UDP payloads sent as fast as the client can (-b 0: no pacing):
 * packets per second sent and received, and the loss the receiver counted.
 */
export async function udpSmallFrames(topo, seconds) {
  const report = await iperfClient(topo, `-u -l 64 -b 0 -t ${seconds}`, seconds, 'UDP');
  const { sum_sent: sent, sum_received: recv } = report.end;
  return {
    sentPps: sent.packets / sent.seconds,
    receivedPps: (recv.packets - recv.lost_packets) / recv.seconds,
    lossPercent: recv.lost_percent,
  };
}
