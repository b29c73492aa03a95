import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeFrame, frameJson, FrameDecoder, MAX_FRAME } from '@containet/common';

const noClose = () => {};

test('frames split across reads are reassembled, merged ones split', () => {
  const d = new FrameDecoder(noClose);
  const bytes = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 'two' }), encodeFrame({ c: [3] })]);
  const out = [];
  for (let i = 0; i < bytes.length; i += 3) out.push(...d.push(bytes.subarray(i, i + 3)));
  assert.equal(out.map((f) => f.message), [{ a: 1 }, { b: 'two' }, { c: [3] }]);
  assert.is(d.buffered, 0);
});

test('an oversized length prefix is refused before any body is buffered', () => {
  const d = new FrameDecoder(noClose);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_FRAME + 1);
  assert.throws(() => d.push(head), (e: { code: string }) => e.code === 'CN_PROTO_TOO_LARGE');
});

test('invalid JSON is a malformed message', () => {
  const d = new FrameDecoder(noClose);
  const body = Buffer.from('{nope');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  assert.throws(() => d.push(Buffer.concat([head, body])), (e: { code: string }) => e.code === 'CN_PROTO_MALFORMED');
});

test('an fd arriving mid-message is closed and refused', () => {
  const closed: number[] = [];
  const d = new FrameDecoder((fd) => closed.push(fd));
  const f = encodeFrame({ x: 1 });
  d.push(f.subarray(0, 5));
  assert.throws(() => d.push(f.subarray(5), 42), (e: { code: string }) => e.code === 'CN_PROTO_FD_MISPLACED');
  assert.equal(closed, [42]);
});

test('reset() closes an fd whose frame never completed', () => {
  const closed: number[] = [];
  const d = new FrameDecoder((fd) => closed.push(fd));
  d.push(encodeFrame({ x: 1 }).subarray(0, 6), 7);
  d.reset();
  assert.equal(closed, [7]);
});

test('a bad frame behind a good one in the same read: the fd of the good one is closed, not lost', () => {
  const closed: number[] = [];
  const d = new FrameDecoder((fd) => closed.push(fd));
  const bad = Buffer.from('{nope');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(bad.length);
  assert.throws(() => d.push(Buffer.concat([encodeFrame({ op: 'attach' }), head, bad]), 42), (e: { code: string }) => e.code === 'CN_PROTO_MALFORMED');
  assert.equal(closed, [42]);
});

test('frameJson frames JSON as encodeFrame does and refuses it over the limit', () => {
  assert.equal(frameJson('{"a":1}'), encodeFrame({ a: 1 }));
  assert.throws(() => frameJson(JSON.stringify('x'.repeat(MAX_FRAME))), (e: { code: string }) => e.code === 'CN_PROTO_TOO_LARGE');
});

test('encodeFrame refuses bodies over the limit', () => {
  assert.throws(() => encodeFrame({ s: 'x'.repeat(MAX_FRAME) }), (e: { code: string }) => e.code === 'CN_PROTO_TOO_LARGE');
});

test.run();
