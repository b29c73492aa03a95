/**
 * The structs and constants declared once in native-types.ts against the C
 * library's own report of containet.h (native/src/lib/layout.c): every
 * struct's size, every field's offset and size, every constant, and nothing
 * the C side lists that TypeScript does not declare. Then a struct filled by
 * C decodes to what C put there.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CN, decodeStruct, native, structLayout, structSize, STRUCTS, type StructName } from '@containet/common';

function cValue(name: string): number {
  const v = Number(native().cn_layout_value(name));
  assert.ok(v >= 0, `the C library does not know ${name} (${v}): add it to CN_LAYOUT in native/src/lib/layout.c`);
  return v;
}

test('every struct declared in TypeScript has the size, field offsets and field sizes of containet.h', () => {
  for (const name of Object.keys(STRUCTS) as StructName[]) {
    const layout = structLayout(name);
    assert.is(layout.size, cValue(name), `sizeof(struct ${name})`);
    assert.equal(layout.fields.map((f) => f.name), Object.keys(STRUCTS[name]), `${name}: fields in declaration order`);
    for (const f of layout.fields) {
      assert.is(f.offset, cValue(`${name}.${f.name}`), `offsetof(struct ${name}, ${f.name})`);
      assert.is(f.size, cValue(`sizeof ${name}.${f.name}`), `sizeof ${name}.${f.name}`);
    }
  }
});

test('every constant declared in TypeScript has its value in containet.h', () => {
  for (const [key, value] of Object.entries(CN)) assert.is(value, cValue(`CN_${key}`), `CN_${key}`);
});

test('everything the C library reports is declared in TypeScript', () => {
  const declared = new Set<string>();
  for (const [name, fields] of Object.entries(STRUCTS)) {
    declared.add(name);
    for (const f of Object.keys(fields)) declared.add(`${name}.${f}`).add(`sizeof ${name}.${f}`);
  }
  for (const key of Object.keys(CN)) declared.add(`CN_${key}`);
  const reported: string[] = [];
  for (let i = 0; ; i++) {
    const name = native().cn_layout_name(i) as string | null;
    if (name === null) break;
    reported.push(name);
  }
  assert.ok(reported.length > 50, `the C library reports ${reported.length} names`);
  const missing = reported.filter((n) => !declared.has(n));
  assert.equal(missing, [], `declare these in packages/common/src/native-types.ts: ${missing.join(', ')}`);
  assert.is(reported.length, declared.size, 'nothing declared that C does not report');
  assert.is(Number(native().cn_layout_value('cn_no_such_struct')), -2 /* ENOENT */);
});

test('a struct the C library fills decodes to what it put there', () => {
  const sw = Number(native().cn_switch_create(777, 4000));
  assert.ok(sw >= 0, `cn_switch_create: ${sw}`);
  try {
    const buf = Buffer.alloc(structSize('cn_switch_status'));
    assert.is(Number(native().cn_switch_status(sw, buf)), 0);
    const { io_uring: ioUring, ...status } = decodeStruct('cn_switch_status', buf);
    assert.equal(status, { ports: 0, macs: 0, mac_table_size: 777, mac_age_ms: 4000, events_lost: 0, evictions: 0 });
    // Which datapath the switch chose: a flag, 1 for io_uring, 0 for read/write.
    assert.ok(ioUring === 0 || ioUring === 1, `io_uring flag ${ioUring}`);
    // An unknown port leaves the struct alone and says so.
    const stats = Buffer.alloc(structSize('cn_port_stats'));
    assert.is(Number(native().cn_switch_port_stats(sw, 12345, stats)), -2 /* ENOENT */);
  } finally {
    native().cn_switch_destroy(sw);
  }
});

test('fields decode at their offsets with their widths: a byte pattern read back field by field (little-endian host)', () => {
  for (const name of Object.keys(STRUCTS) as StructName[]) {
    const layout = structLayout(name);
    const buf = Buffer.alloc(layout.size * 2);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 1) & 0xff;
    const second = decodeStruct(name, buf, 1) as Record<string, number | Uint8Array>;
    for (const f of layout.fields) {
      const at = layout.size + f.offset;
      const bytes = buf.subarray(at, at + f.size);
      const got = second[f.name];
      if (got instanceof Uint8Array) assert.equal([...got], [...bytes], `${name}.${f.name}`);
      else {
        const signed = (STRUCTS[name] as Record<string, unknown>)[f.name] === 'int32_t';
        const expect = f.size === 8 ? Number(bytes.readBigUInt64LE()) : signed ? bytes.readIntLE(0, f.size) : bytes.readUIntLE(0, f.size);
        assert.is(got, expect, `${name}.${f.name}`);
      }
    }
  }
});

test.run();
