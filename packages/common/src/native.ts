/**
 * The only place that loads native/ (libcontainet.so) and declares its C
 * prototypes; native/include/containet.h is the other half of this surface.
 * Only numbers, strings, buffers and fds cross it. Loaded lazily so that
 * commands that never touch native code start fast.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { ContainetError } from './errors.js';
import { nativeDirCandidates } from './native-dir.js';
import { STRUCTS, type FieldType, type StructName, type StructValue } from './native-types.js';

export { CN, STRUCTS, type FieldType, type StructName, type StructValue } from './native-types.js';

// Only synchronous calls: koffi's `.async` runs a call on one of libuv's four
// workers, and one that blocks holds it from fs and dns (and process exit
// joins it). Waits belong to a thread of the C library (see poller.ts).
type KoffiFn = (...args: unknown[]) => unknown;

let nativeDirCache: string | undefined;

/** The directory holding libcontainet.so and the helper executables. */
export function nativeDir(): string {
  if (nativeDirCache) return nativeDirCache;
  const tried = nativeDirCandidates();
  for (const dir of tried) {
    if (existsSync(join(dir, 'libcontainet.so'))) {
      nativeDirCache = dir;
      return dir;
    }
  }
  throw new ContainetError(
    'CN_NATIVE_MISSING',
    `native library libcontainet.so not found (tried: ${tried.join(', ')})`,
    { hint: 'build it with `make -C native` (or `pnpm build`) from the repository root, or set CONTAINET_NATIVE_DIR' },
  );
}

/** Path of a helper executable built from native/src/bin. */
export function nativeHelper(name: string): string {
  const path = join(nativeDir(), name);
  if (!existsSync(path)) {
    throw new ContainetError('CN_NATIVE_MISSING', `native helper ${name} not found at ${path}`, {
      hint: 'rebuild with `make -C native`',
    });
  }
  return path;
}

// ---- switch.c: the L2 switch datapath (containet). Struct arguments are
// Buffers of structSize() bytes per element, read with decodeStruct(s).
const SWITCH_PROTOTYPES = {
  cn_switch_create: 'int cn_switch_create(int mac_table_size, int mac_age_ms)',
  cn_switch_destroy: 'int cn_switch_destroy(int sw)',
  cn_switch_port_add: 'int cn_switch_port_add(int sw, int fd)',
  cn_switch_port_del: 'int cn_switch_port_del(int sw, int port)',
  cn_switch_port_vlan: 'int cn_switch_port_vlan(int sw, int port, int mode, int pvid, const uint16_t *allowed, int n)',
  cn_switch_port_impair: 'int cn_switch_port_impair(int sw, int port, int dir, const uint64_t *params, int n)',
  cn_switch_ports: 'int cn_switch_ports(int sw, _Out_ uint32_t *ids, int max)',
  cn_switch_port_stats: 'int cn_switch_port_stats(int sw, int port, _Out_ cn_port_stats *out)',
  cn_switch_macs: 'int cn_switch_macs(int sw, _Out_ cn_mac_record *out, int max)',
  cn_switch_status: 'int cn_switch_status(int sw, _Out_ cn_switch_status *out)',
  cn_switch_event_fd: 'int cn_switch_event_fd(int sw)',
  cn_switch_events: 'int cn_switch_events(int sw, _Out_ cn_switch_event *out, int max)',
  cn_switch_watch_macs: 'int cn_switch_watch_macs(int sw, int on)',
  cn_switch_capture_add: 'int cn_switch_capture_add(int sw, int port, int fd, int snaplen)',
  cn_switch_capture_del: 'int cn_switch_capture_del(int sw, int id)',
  cn_switch_capture_stats: 'int cn_switch_capture_stats(int sw, int id, _Out_ cn_capture_stats *out)',
  cn_capture_pair: 'int cn_capture_pair(_Out_ int *fds)',
  // capfilter.c: capture filters (pcap-filter(7) compiled by libpcap); libpcap's message in err
  cn_capfilter_compile: 'int cn_capfilter_compile(const char *expr, _Out_ uint8_t *err, int errlen)',
  cn_capture_filter: 'int cn_capture_filter(int fd, const char *expr, _Out_ uint8_t *err, int errlen)',
  cn_vnet_segment:
    'int cn_vnet_segment(const uint8_t *hdr, const uint8_t *frame, size_t len, _Out_ uint8_t *out, size_t cap, _Out_ uint32_t *seg_lens, int max)',
  cn_vnet_csum: 'int cn_vnet_csum(_Inout_ uint8_t *hdr, _Inout_ uint8_t *frame, size_t len)',
  // vxlan.c: VXLAN uplinks (containet --vxlan)
  cn_switch_vxlan_add: 'int cn_switch_vxlan_add(int sw, const char *local, int port, int vni, int mtu)',
  cn_switch_vxlan_remote: 'int cn_switch_vxlan_remote(int sw, int port, const char *addr, int udp_port, int add)',
  cn_switch_vxlan_info: 'int cn_switch_vxlan_info(int sw, int port, _Out_ cn_vxlan_stats *st, _Out_ cn_vxlan_remote_info *out, int max)',
  cn_gro_merge: 'int cn_gro_merge(const uint8_t *segs, size_t seg_len, int n, _Out_ uint8_t *out, size_t cap, _Out_ uint8_t *hdr, _Out_ uint32_t *out_len)',
} as const;

// Prototypes, in the order of containet.h.
const PROTOTYPES = {
  cn_fd_send: 'long cn_fd_send(int sock, const uint8_t *buf, size_t len, int fd, int timeout_ms)',
  cn_fd_recv: 'long cn_fd_recv(int sock, _Out_ uint8_t *buf, size_t cap, _Out_ int *fd_out)',
  cn_fd_close: 'int cn_fd_close(int fd)',
  cn_fd_dup: 'int cn_fd_dup(int fd)',
  cn_unix_connect: 'int cn_unix_connect(const char *path)',
  cn_peer_cred: 'int cn_peer_cred(int sock, _Out_ int *pid, _Out_ int *uid, _Out_ int *gid)',
  cn_tap_open: 'int cn_tap_open(const char *name, int flags, _Out_ uint8_t *name_out)',
  cn_tap_info: 'int cn_tap_info(int fd, _Out_ uint8_t *name_out, _Out_ int *flags_out)',
  cn_pty_set_size: 'int cn_pty_set_size(int fd, int rows, int cols)',
  cn_poll_create: 'int cn_poll_create(_Out_ int *notify_fd)',
  cn_poll_add: 'int cn_poll_add(int poller, int fd)',
  cn_poll_del: 'int cn_poll_del(int poller, int fd)',
  cn_poll_take: 'int cn_poll_take(int poller, _Out_ int *fds, int max)',
  cn_poll_rearm: 'int cn_poll_rearm(int poller, const int *fds, int n)',
  cn_poll_destroy: 'int cn_poll_destroy(int poller)',
  ...SWITCH_PROTOTYPES,
  cn_layout_value: 'long cn_layout_value(const char *name)',
  cn_layout_name: 'const char *cn_layout_name(int i)',
} as const;

export type NativeName = keyof typeof PROTOTYPES;
export type NativeLib = Record<NativeName, KoffiFn>;

let libCache: NativeLib | undefined;

interface KoffiModule {
  load: (path: string) => { func: (proto: string) => KoffiFn };
  struct: (name: string, def: Record<string, unknown>) => unknown;
  array: (type: string, len: number, hint?: string) => unknown;
  sizeof: (type: unknown) => number;
  offsetof: (type: unknown, member: string) => number;
  introspect: (type: unknown) => { members?: Record<string, { type: unknown }> };
  resolve: (name: string) => unknown;
}

/** Where each field of a struct lies, from its koffi type, and how to read it. */
export interface StructLayout {
  size: number;
  fields: Array<{ name: string; offset: number; size: number; read: (buf: Buffer, at: number) => number | Uint8Array }>;
}

const layouts = new Map<StructName, StructLayout>();

// Native byte order: the C library and koffi use the host's.
const LE = endianness() === 'LE';

function reader(type: FieldType): (buf: Buffer, at: number) => number | Uint8Array {
  if (typeof type !== 'string') {
    const len = type[1];
    return (buf, at) => buf.subarray(at, at + len);
  }
  switch (type) {
    case 'uint8_t':
      return (buf, at) => buf.readUInt8(at);
    case 'uint16_t':
      return LE ? (buf, at) => buf.readUInt16LE(at) : (buf, at) => buf.readUInt16BE(at);
    case 'uint32_t':
      return LE ? (buf, at) => buf.readUInt32LE(at) : (buf, at) => buf.readUInt32BE(at);
    case 'int32_t':
      return LE ? (buf, at) => buf.readInt32LE(at) : (buf, at) => buf.readInt32BE(at);
    case 'uint64_t':
      return LE ? (buf, at) => Number(buf.readBigUInt64LE(at)) : (buf, at) => Number(buf.readBigUInt64BE(at));
  }
}

/** koffi.struct(name, def), or the type of that name another copy of this module declared. */
function structType(koffi: KoffiModule, name: string, def: Record<string, unknown>): unknown {
  try {
    return koffi.struct(name, def);
  } catch (err) {
    // koffi's type names are process-wide: a bundle and the package's own
    // modules loaded side by side declare the same structs.
    if (!/Duplicate type name/.test((err as Error).message)) throw err;
    return koffi.resolve(name);
  }
}

/** Declare the structs of native-types.ts to koffi (the prototypes name them) and note their layouts. */
function declareStructs(koffi: KoffiModule): void {
  for (const [name, fields] of Object.entries(STRUCTS) as Array<[StructName, Record<string, FieldType>]>) {
    const def: Record<string, unknown> = {};
    for (const [field, type] of Object.entries(fields)) def[field] = typeof type === 'string' ? type : koffi.array(type[0], type[1]);
    const ctype = structType(koffi, name, def);
    const members = koffi.introspect(ctype).members ?? {};
    layouts.set(name, {
      size: koffi.sizeof(ctype),
      fields: Object.entries(fields).map(([field, type]) => ({
        name: field,
        offset: koffi.offsetof(ctype, field),
        size: koffi.sizeof(members[field]!.type),
        read: reader(type),
      })),
    });
  }
}

/** The loaded library; throws CN_NATIVE_MISSING with every path tried. */
export function native(): NativeLib {
  if (libCache) return libCache;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as KoffiModule;
  const lib = koffi.load(join(nativeDir(), 'libcontainet.so'));
  if (layouts.size === 0) declareStructs(koffi);
  const out: Partial<NativeLib> = {};
  for (const [name, proto] of Object.entries(PROTOTYPES)) out[name as NativeName] = lib.func(proto);
  libCache = out as NativeLib;
  return libCache;
}

/** Size and field offsets of struct `name` as koffi lays it out (native-layout.test checks them against C). */
export function structLayout(name: StructName): StructLayout {
  native();
  return layouts.get(name)!;
}

/** Bytes of one struct `name`: a Buffer of n times this holds n of them. */
export function structSize(name: StructName): number {
  return structLayout(name).size;
}

/** Decode the `index`th struct `name` in `buf`. Byte arrays are views into `buf`: copy them to keep them past its reuse. */
export function decodeStruct<S extends StructName>(name: S, buf: Buffer, index = 0): StructValue<S> {
  const layout = structLayout(name);
  const at = index * layout.size;
  const out: Record<string, number | Uint8Array> = {};
  for (const f of layout.fields) out[f.name] = f.read(buf, at + f.offset);
  return out as StructValue<S>;
}

/** Decode the first `n` structs `name` in `buf`. */
export function decodeStructs<S extends StructName>(name: S, buf: Buffer, n: number): Array<StructValue<S>> {
  const out: Array<StructValue<S>> = [];
  for (let i = 0; i < n; i++) out.push(decodeStruct(name, buf, i));
  return out;
}
