/**
 * The software offloads of native/src/lib/vnet.c through their koffi
 * binding: TCP segmentation of GSO frames (IPv4 and IPv6) checked field by
 * field and checksum by checksum, and every malformed virtio_net_hdr refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { native } from '@containet/common';

const NEEDS_CSUM = 1;
const GSO_TCPV4 = 1;
const GSO_UDP = 3;
const GSO_TCPV6 = 4;
const EINVAL = -22;
const EMSGSIZE = -90;
const EPROTONOSUPPORT = -93;

/** RFC 1071 sum of `buf` plus `initial`, folded and complemented. */
function csum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function vnetHdr(fields: { flags?: number; gso?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Buffer {
  const h = Buffer.alloc(12);
  h[0] = fields.flags ?? 0;
  h[1] = fields.gso ?? 0;
  h.writeUInt16LE(fields.hdrLen ?? 0, 2);
  h.writeUInt16LE(fields.gsoSize ?? 0, 4);
  h.writeUInt16LE(fields.csumStart ?? 0, 6);
  h.writeUInt16LE(fields.csumOffset ?? 0, 8);
  return h;
}

function tcpHeader(seq: number, flags: number): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(40000, 0);
  t.writeUInt16BE(5201, 2);
  t.writeUInt32BE(seq, 4);
  t.writeUInt32BE(7, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  return t;
}

function ethernet(type: number): Buffer {
  const e = Buffer.alloc(14);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(e);
  e.writeUInt16BE(type, 12);
  return e;
}

function ipv4Frame(payload: Buffer, tcpFlags: number): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length > 0xffff ? 0 : 20 + 20 + payload.length, 2);
  ip.writeUInt16BE(1000, 4);
  ip[6] = 0x40; // DF
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(ip, 12);
  return Buffer.concat([ethernet(0x0800), ip, tcpHeader(0xfffff000, tcpFlags), payload]);
}

function ipv6Frame(payload: Buffer, tcpFlags: number): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(20 + payload.length, 4);
  ip[6] = 6;
  ip[7] = 64;
  ip[8] = 0xfd;
  ip[23] = 1;
  ip[24] = 0xfd;
  ip[39] = 2;
  return Buffer.concat([ethernet(0x86dd), ip, tcpHeader(0xfffff000, tcpFlags), payload]);
}

function segment(hdr: Buffer, frame: Buffer, cap = 256 * 1024, max = 256): { n: number; segs: Buffer[] } {
  const out = Buffer.alloc(cap);
  const lens = new Uint32Array(max);
  const n = Number(native().cn_vnet_segment(hdr, frame, frame.length, out, cap, lens, max));
  const segs: Buffer[] = [];
  for (let i = 0, at = 0; i < n; i++) {
    segs.push(out.subarray(at, at + lens[i]!));
    at += lens[i]!;
  }
  return { n, segs };
}

function tcpChecksumOk(seg: Buffer, l3: number, v6: boolean): boolean {
  const l4 = l3 + (v6 ? 40 : 20);
  const tcp = seg.subarray(l4);
  const pseudo = v6
    ? Buffer.concat([seg.subarray(l3 + 8, l3 + 40), Buffer.from([0, 0, tcp.length >> 8, tcp.length & 0xff, 0, 0, 0, 6])])
    : Buffer.concat([seg.subarray(l3 + 12, l3 + 20), Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])]);
  return csum(Buffer.concat([pseudo, tcp])) === 0;
}

for (const v6 of [false, true]) {
  test(`a TCP/${v6 ? 'IPv6' : 'IPv4'} GSO frame becomes wire segments with correct lengths, sequence numbers, flags and checksums`, () => {
    const payload = randomBytes(5000);
    const mss = 1448;
    const frame = v6 ? ipv6Frame(payload, 0x18 | 0x01 | 0x80) : ipv4Frame(payload, 0x18 | 0x01 | 0x80); // PSH|ACK|FIN|CWR
    const l3 = 14;
    const l4 = l3 + (v6 ? 40 : 20);
    const hdr = vnetHdr({ flags: NEEDS_CSUM, gso: v6 ? GSO_TCPV6 : GSO_TCPV4, hdrLen: l4 + 20, gsoSize: mss, csumStart: l4, csumOffset: 16 });
    const { n, segs } = segment(hdr, frame);
    assert.is(n, Math.ceil(payload.length / mss));
    const joined: Buffer[] = [];
    segs.forEach((seg, i) => {
      const last = i === n - 1;
      assert.is(seg.length, l4 + 20 + (last ? payload.length - mss * (n - 1) : mss));
      if (v6) assert.is(seg.readUInt16BE(l3 + 4), seg.length - l3 - 40, 'IPv6 payload length');
      else {
        assert.is(seg.readUInt16BE(l3 + 2), seg.length - l3, 'IPv4 total length');
        assert.is(seg.readUInt16BE(l3 + 4), 1000 + i, 'IPv4 id');
        assert.is(csum(seg.subarray(l3, l3 + 20)), 0, 'IPv4 header checksum');
      }
      assert.is(seg.readUInt32BE(l4 + 4), (0xfffff000 + i * mss) >>> 0, 'sequence number (wrapping)');
      const flags = seg[l4 + 13]!;
      assert.is((flags & 0x09) !== 0, last, 'FIN/PSH only on the last segment');
      assert.is((flags & 0x80) !== 0, i === 0, 'CWR only on the first');
      assert.ok(tcpChecksumOk(seg, l3, v6), `TCP checksum of segment ${i}`);
      joined.push(seg.subarray(l4 + 20));
    });
    assert.ok(Buffer.concat(joined).equals(payload), 'payload intact and in order');
  });
}

test('malformed virtio_net_hdr and frames are refused, never cut', () => {
  const payload = randomBytes(3000);
  const frame = ipv4Frame(payload, 0x10);
  const good = { flags: NEEDS_CSUM, gso: GSO_TCPV4, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
  assert.is(segment(vnetHdr(good), frame).n, 3, 'the good header works');
  assert.is(segment(vnetHdr({ ...good, gsoSize: 0 }), frame).n, EINVAL, 'gso_size 0');
  assert.is(segment(vnetHdr({ ...good, gso: GSO_UDP }), frame).n, EPROTONOSUPPORT, 'UFO');
  assert.is(segment(vnetHdr({ ...good, gso: 0x42 }), frame).n, EPROTONOSUPPORT, 'unknown GSO type');
  assert.is(segment(vnetHdr({ ...good, gso: GSO_TCPV6 }), frame).n, EINVAL, 'TCPV6 on an IPv4 frame');
  assert.is(segment(vnetHdr(good), frame.subarray(0, 40)).n, EINVAL, 'frame cut inside the TCP header');
  assert.is(segment(vnetHdr(good), frame.subarray(0, 10)).n, EINVAL, 'shorter than an ethernet header');
  const udp = Buffer.from(frame);
  udp[14 + 9] = 17;
  assert.is(segment(vnetHdr(good), udp).n, EINVAL, 'IPv4 protocol is not TCP');
  const badDoff = Buffer.from(frame);
  badDoff[34 + 12] = 2 << 4;
  assert.is(segment(vnetHdr(good), badDoff).n, EINVAL, 'TCP data offset below 5');
  assert.is(segment(vnetHdr({ ...good, gsoSize: 1 }), frame).n, EMSGSIZE, 'more segments than room');
  assert.is(segment(vnetHdr(good), frame, 1000).n, EMSGSIZE, 'output buffer too small');
  let vlans = frame;
  for (let i = 0; i < 3; i++) vlans = Buffer.concat([vlans.subarray(0, 12), Buffer.from([0x81, 0, 0, 1]), vlans.subarray(12)]);
  assert.is(segment(vnetHdr(good), vlans).n, EINVAL, 'three VLAN tags');
});

test('a partial checksum is finished in place; offsets outside the frame are refused', () => {
  const payload = randomBytes(999);
  const frame = ipv4Frame(payload, 0x18);
  // Put the pseudo-header sum in the checksum field, as the kernel does for CHECKSUM_PARTIAL.
  const tcpLen = 20 + payload.length;
  const pseudo = Buffer.concat([frame.subarray(26, 34), Buffer.from([0, 6, tcpLen >> 8, tcpLen & 0xff])]);
  frame.writeUInt16BE(~csum(pseudo) & 0xffff, 34 + 16);
  const hdr = vnetHdr({ flags: NEEDS_CSUM, csumStart: 34, csumOffset: 16 });
  assert.is(Number(native().cn_vnet_csum(hdr, frame, frame.length)), 0);
  assert.is(hdr[0]! & NEEDS_CSUM, 0, 'flag cleared');
  assert.ok(tcpChecksumOk(frame, 14, false), 'checksum now complete');
  const bad = vnetHdr({ flags: NEEDS_CSUM, csumStart: frame.length - 1, csumOffset: 16 });
  assert.is(Number(native().cn_vnet_csum(bad, frame, frame.length)), EINVAL);
  const none = vnetHdr({});
  assert.is(Number(native().cn_vnet_csum(none, frame, frame.length)), 0, 'nothing to do without the flag');
});

test.run();
