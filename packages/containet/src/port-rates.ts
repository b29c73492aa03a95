/** Per-port rates: counters compared with the previous sample. */
import type { PortInfo, PortRates, RatedPort } from '@containet/common';

interface Sample {
  time: number;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
}

export class PortRateSampler {
  #last = new Map<number, Sample>();

  /** Ports with bits and packets per second since the previous call (0 on a port's first). */
  sample(ports: PortInfo[], now = Date.now()): RatedPort[] {
    const seen = new Set<number>();
    const out = ports.map((p) => {
      seen.add(p.port);
      const prev = this.#last.get(p.port);
      const c = p.counters;
      const dt = prev ? (now - prev.time) / 1000 : 0;
      const rate = (a: number, b: number, scale = 1) => (dt > 0 ? Math.max(0, ((a - b) * scale) / dt) : 0);
      const rates: PortRates = prev
        ? {
            rxBps: rate(c.rxBytes, prev.rxBytes, 8),
            txBps: rate(c.txBytes, prev.txBytes, 8),
            rxPps: rate(c.rxPackets, prev.rxPackets),
            txPps: rate(c.txPackets, prev.txPackets),
          }
        : { rxBps: 0, txBps: 0, rxPps: 0, txPps: 0 };
      this.#last.set(p.port, { time: now, rxBytes: c.rxBytes, txBytes: c.txBytes, rxPackets: c.rxPackets, txPackets: c.txPackets });
      return { ...p, rates };
    });
    for (const port of [...this.#last.keys()]) if (!seen.has(port)) this.#last.delete(port);
    return out;
  }
}
