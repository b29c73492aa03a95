/**
 * Capture filters: pcap-filter(7) expressions (`icmp`, `tcp port 80`, `host
 * 10.0.0.2`) compiled by libpcap into classic BPF, which the datapath runs
 * on every frame of a capture (native/src/lib/capfilter.c), so frames a
 * capture does not want never reach its reader.
 */
import { ContainetError, native } from '@containet/common';

const ERR_LEN = 512;

function filterError(expr: string, err: Buffer, ret: number): ContainetError {
  const text = err.subarray(0, Math.max(0, err.indexOf(0))).toString() || (ret === -12 ? 'out of memory' : `error ${-ret}`);
  return new ContainetError('CN_BAD_FILTER', `invalid capture filter ${JSON.stringify(expr)}: ${text}`, {
    hint: 'write it as tcpdump would take it (pcap-filter(7)), e.g. icmp, tcp port 80, host 10.0.0.2',
    exitCode: 2,
  });
}

/** Compile `expr` to check it; return its BPF instruction count or throw CN_BAD_FILTER (exit 2). */
export function checkCaptureFilter(expr: string): number {
  const err = Buffer.alloc(ERR_LEN);
  const n = Number(native().cn_capfilter_compile(expr, err, ERR_LEN));
  if (n < 0) throw filterError(expr, err, n);
  return n;
}

/**
 * Have the datapath run `expr` on the capture that will take `fd`; null
 * drops a filter that no capture took. Throws CN_BAD_FILTER.
 */
export function setCaptureFilter(fd: number, expr: string | null): void {
  const err = Buffer.alloc(ERR_LEN);
  const ret = Number(native().cn_capture_filter(fd, expr, err, ERR_LEN));
  if (ret === -28) throw new ContainetError('CN_CAPTURES_FULL', 'too many capture requests are in flight on this switch');
  if (ret < 0) throw filterError(expr ?? '', err, ret);
}
