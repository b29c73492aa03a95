/**
 * Merging of received TCP/IPv4 segments into one GSO frame (native/src/lib/
 * gro.c, used on VXLAN receive) through its koffi test export: what is
 * merged comes out byte for byte as the sender's frame, and a segment with a
 * bad checksum, a gap, other flags or another flow is never merged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { native } from '@containet/common';

const MSS = 1448;

function csum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A GSO frame (IPv4/TCP, ACK|PSH) with `segs` full segments of payload. */
function gsoFrame(segs: number): { frame: Buffer; payload: Buffer } {
  const payload = randomBytes(MSS * segs);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(40 + payload.length, 2);
  ip.writeUInt16BE(77, 4);
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]).copy(ip, 12);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(5201, 2);
  tcp.writeUInt32BE(0xfffffa00, 4);
  tcp.writeUInt32BE(9, 8);
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;
  tcp.writeUInt16BE(500, 14);
  return { frame: Buffer.concat([eth, ip, tcp, payload]), payload };
}

/** The wire segments the datapath would send for `frame` (cn_vnet_segment). */
function wire(frame: Buffer): Buffer[] {
  const hdr = Buffer.alloc(12);
  hdr[0] = 1; // NEEDS_CSUM
  hdr[1] = 1; // TCPV4
  hdr.writeUInt16LE(54, 2);
  hdr.writeUInt16LE(MSS, 4);
  hdr.writeUInt16LE(34, 6);
  hdr.writeUInt16LE(16, 8);
  const out = Buffer.alloc(256 * 1024);
  const lens = new Uint32Array(64);
  const n = Number(native().cn_vnet_segment(hdr, frame, frame.length, out, out.length, lens, 64));
  const segs: Buffer[] = [];
  for (let i = 0, at = 0; i < n; i++, at += lens[i - 1]!) segs.push(Buffer.from(out.subarray(at, at + lens[i]!)));
  return segs;
}

function merge(segs: Buffer[]): { merged: number; frame: Buffer; hdr: Buffer } {
  const all = Buffer.concat(segs);
  const out = Buffer.alloc(70000);
  const hdr = Buffer.alloc(12);
  const len = new Uint32Array(1);
  const merged = Number(native().cn_gro_merge(all, segs[0]!.length, segs.length, out, out.length, hdr, len));
  return { merged, frame: out.subarray(0, len[0]!), hdr };
}

test('segments cut from one GSO frame merge back into it: payload, sequence, flags, lengths, checksums', () => {
  const { frame, payload } = gsoFrame(5);
  const segs = wire(frame);
  assert.is(segs.length, 5);
  const { merged, frame: out, hdr } = merge(segs);
  assert.is(merged, 5);
  assert.is(out.length, frame.length);
  assert.ok(out.subarray(54).equals(payload), 'payload intact, in order');
  assert.is(out.readUInt32BE(38), 0xfffffa00, 'first sequence number (wrapping later)');
  assert.is(out[47], 0x18, 'ACK|PSH kept from the last segment');
  assert.is(out.readUInt16BE(16), frame.length - 14, 'IPv4 total length');
  assert.is(csum(out.subarray(14, 34)), 0, 'IPv4 header checksum');
  assert.is(hdr[0], 1, 'NEEDS_CSUM');
  assert.is(hdr[1], 1, 'GSO TCPV4');
  assert.is(hdr.readUInt16LE(4), MSS, 'gso_size');
  assert.is(hdr.readUInt16LE(6), 34, 'csum_start');
  assert.is(hdr.readUInt16LE(8), 16, 'csum_offset');
  // Finishing the partial checksum gives a valid TCP checksum.
  assert.is(Number(native().cn_vnet_csum(hdr, out, out.length)), 0);
  const tcp = out.subarray(34);
  const pseudo = Buffer.concat([out.subarray(26, 34), Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])]);
  assert.is(csum(Buffer.concat([pseudo, tcp])), 0, 'TCP checksum');
  // Cut again, it gives the same wire segments.
  const again = wire(Buffer.concat([out.subarray(0, 14), out.subarray(14)]));
  assert.equal(again.map((s) => s.subarray(54).toString('hex')), segs.map((s) => s.subarray(54).toString('hex')));
});

test('a segment with a bad TCP or IP checksum is never merged (nor fixed)', () => {
  const segs = wire(gsoFrame(4).frame);
  const bad = segs.map((s) => Buffer.from(s));
  bad[2]![100] = bad[2]![100]! ^ 1; // payload corruption in the third
  assert.is(merge(bad).merged, 2, 'merging stops before the corrupt segment');
  const badFirst = segs.map((s) => Buffer.from(s));
  badFirst[0]![22] = badFirst[0]![22]! ^ 1; // IPv4 header (TTL) of the first
  assert.is(merge(badFirst).merged, 0, 'a corrupt first segment is not merged at all');
});

test('gaps, other flows, other flags and non-TCP frames are not merged', () => {
  const segs = wire(gsoFrame(4).frame);
  assert.is(merge([segs[0]!, segs[2]!, segs[3]!]).merged, 1, 'sequence gap');
  const other = wire(gsoFrame(4).frame).map((s) => Buffer.from(s));
  for (const s of other) {
    s.writeUInt16BE(40001, 34); // another source port
    s.writeUInt16BE(0, 50);
    s.writeUInt16BE(csum(Buffer.concat([s.subarray(26, 34), Buffer.from([0, 6, (s.length - 34) >> 8, (s.length - 34) & 0xff]), s.subarray(34)])), 50);
  }
  assert.is(merge([segs[0]!, other[1]!]).merged, 1, 'another flow');
  const fin = segs.map((s) => Buffer.from(s));
  fin[0]![47] = 0x11; // FIN|ACK
  assert.is(merge(fin).merged, 0, 'FIN is not merged');
  const udp = Buffer.from(segs[0]!);
  udp[23] = 17;
  assert.is(merge([udp, segs[1]!]).merged, 0, 'not TCP');
});

test.run();
