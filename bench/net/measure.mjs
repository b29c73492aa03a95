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

/** TCP throughput in bit/s as the receiver counted it, the first second omitted (slow start). */
export async function tcpThroughput(topo, seconds) {
  const r = await topo.client.run(`iperf3 -c ${topo.serverAddr} -t ${seconds} -O 1 -J`, (seconds + 30) * 1000);
  return iperfJson(r.output, 'TCP').end.sum_received.bits_per_second;
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
  const r = await topo.client.run(`iperf3 -c ${topo.serverAddr} -u -l 64 -b 0 -t ${seconds} -J`, (seconds + 30) * 1000);
  const { sum_sent: sent, sum_received: recv } = iperfJson(r.output, 'UDP').end;
  return {
    sentPps: sent.packets / sent.seconds,
    receivedPps: (recv.packets - recv.lost_packets) / recv.seconds,
    lossPercent: recv.lost_percent,
  };
}
