import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeEvent, decodeRefusal, decodeReply, decodeRequest } from '@containet/common';

const code = (c: string) => (e: { code?: string }) => e.code === c;

test('a request decodes into its type; unknown fields are left out', () => {
  assert.equal(decodeRequest({ op: 'detach', id: 3, port: 'web', extra: 1 }), { op: 'detach', id: 3, port: 'web' });
  assert.equal(decodeRequest({ op: 'attach', id: 1, node: 'n1', addresses: ['10.0.0.2/24'], persist: true }), {
    op: 'attach',
    id: 1,
    node: 'n1',
    addresses: ['10.0.0.2/24'],
    persist: true,
  });
  assert.equal(decodeRequest({ op: 'subscribe', id: 2, macs: null }), { op: 'subscribe', id: 2 });
});

test('a bad request is a CN_PROTO_* error naming the field', () => {
  assert.throws(() => decodeRequest([1, 2]), code('CN_PROTO_INVALID'));
  assert.throws(() => decodeRequest({ op: 'ports' }), (e: Error) => /request\.id must be a whole number/.test(e.message));
  assert.throws(() => decodeRequest({ op: 'frobnicate', id: 1 }), code('CN_PROTO_UNKNOWN_OP'));
  assert.throws(() => decodeRequest({ op: 'constructor', id: 1 }), code('CN_PROTO_UNKNOWN_OP'));
  assert.throws(() => decodeRequest({ op: 'attach', id: 1, node: 5 }), (e: Error) => e.message === 'attach.node must be a string');
  assert.throws(() => decodeRequest({ op: 'attach', id: 1, node: 'n', addresses: 'x' }), (e: Error) => e.message === 'attach.addresses must be a list');
  assert.throws(() => decodeRequest({ op: 'attach', id: 1, node: 'n', addresses: Array(65).fill('a') }), (e: Error) => /at most 64/.test(e.message));
  assert.throws(() => decodeRequest({ op: 'capture', id: 1, port: {} }), (e: Error) => e.message === 'capture.port must be a number or a string');
  assert.throws(() => decodeRequest({ op: 'vxlan-remote-add', id: 1 }), (e: Error) => e.message === 'vxlan-remote-add.remote must be a string');
});

test('replies are checked against their operation; parts of a listing say more', () => {
  assert.equal(decodeReply('detach', { id: 4, ok: true, port: 2, node: 'web' }), { id: 4, ok: true, port: 2, node: 'web' });
  assert.equal(decodeReply('macs', { id: 5, ok: true, more: true, macs: [{ mac: '02:00:00:00:00:01', port: 1, age: 0 }] }), {
    id: 5,
    ok: true,
    more: true,
    macs: [{ mac: '02:00:00:00:00:01', port: 1, age: 0 }],
  });
  assert.throws(() => decodeReply('detach', { id: 4, ok: true, port: '2', node: 'web' }), (e: Error) => e.message === 'detach.port must be a whole number');
  assert.equal(decodeReply('ports', { id: 1, ok: false, error: { code: 'CN_X', message: 'no' } }), { id: 1, ok: false, error: { code: 'CN_X', message: 'no' } });
  assert.equal(decodeRefusal({ id: 0, ok: false, error: { code: 'CN_PERMISSION', message: 'root-only' } }), { code: 'CN_PERMISSION', message: 'root-only' });
  assert.is(decodeRefusal({ id: 3, ok: false, error: { code: 'CN_X', message: 'no' } }), null);
});

test('events decode into their type; an unknown one is an error', () => {
  assert.equal(decodeEvent({ event: 'mac-changes', changes: [{ change: 'moved', mac: 'm', port: 2, from: 1 }], lost: 0 }), {
    event: 'mac-changes',
    changes: [{ change: 'moved', mac: 'm', port: 2, from: 1 }],
    lost: 0,
  });
  assert.throws(() => decodeEvent({ event: 'mac-changes', changes: [{ change: 'eaten', mac: 'm', port: 2 }], lost: 0 }), code('CN_PROTO_INVALID'));
  assert.throws(() => decodeEvent({ event: 'nope' }), code('CN_PROTO_INVALID'));
});

test.run();
