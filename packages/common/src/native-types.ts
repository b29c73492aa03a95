/**
 * The structs and constants of native/include/containet.h that cross the
 * koffi boundary, declared once. native.ts makes koffi struct types of them,
 * names them in the prototypes and decodes them through those types'
 * offsets. native/src/lib/layout.c pins the C side with _Static_assert and
 * reports it (cn_layout_value); test/native-layout.test compares the two.
 */

/** The constants of containet.h, without their CN_ prefix. */
export const CN = {
  TAP_VNET_HDR: 0x1,
  SWITCH_PORTS_MAX: 4096,
  FRAME_MAX: 65536 + 128,
  PORT_VNET_HDR: 0x1,
  PORT_OFFLOAD: 0x2,
  PORT_VXLAN: 0x4,
  EV_PORT_DOWN: 1,
  EV_MAC_LEARNED: 2,
  EV_MAC_MOVED: 3,
  EV_MAC_AGED: 4,
  EV_MAC_EVICTED: 5,
  EV_MAC_FLUSHED: 6,
  EV_CAPTURE_DOWN: 7,
  VXLAN_REMOTES_MAX: 64,
  VLAN_ACCESS: 0,
  VLAN_TRUNK: 1,
  VLAN_MAX: 4094,
  DIR_IN: 0,
  DIR_OUT: 1,
  IMP_DELAY_NS: 0,
  IMP_JITTER_NS: 1,
  IMP_DIST: 2,
  IMP_LOSS: 3,
  IMP_GILBERT: 4,
  IMP_GE_P: 5,
  IMP_GE_R: 6,
  IMP_GE_BAD: 7,
  IMP_GE_GOOD: 8,
  IMP_RATE_BPS: 9,
  IMP_LIMIT: 10,
  IMP_DUP: 11,
  IMP_REORDER: 12,
  IMP_CORRUPT: 13,
  IMP_SEED: 14,
  IMP_COUNT: 15,
  PPB: 1000000000,
  DIST_UNIFORM: 0,
  DIST_NORMAL: 1,
  DIST_PARETO: 2,
  DIST_PARETONORMAL: 3,
  IMP_LIMIT_DEFAULT: 16 << 20,
  IMP_LIMIT_MAX: 256 << 20,
} as const;

/** A field's C type; [type, n] is an array of n bytes. */
export type FieldType = 'uint8_t' | 'uint16_t' | 'uint32_t' | 'int32_t' | 'uint64_t' | readonly ['uint8_t', number];

/** Each struct's fields in the header's order, with their C types. */
export const STRUCTS = {
  cn_port_stats: {
    rx_packets: 'uint64_t',
    rx_bytes: 'uint64_t',
    tx_packets: 'uint64_t',
    tx_bytes: 'uint64_t',
    drops: 'uint64_t',
    errors: 'uint64_t',
    flags: 'uint64_t',
    mac_count: 'uint64_t',
    vlan_drops: 'uint64_t',
    impair_lost: 'uint64_t',
    queue_drops: 'uint64_t',
    queued_bytes: 'uint64_t',
  },
  cn_switch_event: {
    type: 'uint32_t',
    port: 'uint32_t',
    other: 'uint32_t',
    err: 'int32_t',
    mac: ['uint8_t', 6],
    pad: ['uint8_t', 2],
  },
  cn_mac_record: {
    mac: ['uint8_t', 6],
    remote: 'uint16_t',
    port: 'uint32_t',
    age_ms: 'uint32_t',
    vlan: 'uint16_t',
    pad: 'uint16_t',
  },
  cn_switch_status: {
    ports: 'uint64_t',
    macs: 'uint64_t',
    mac_table_size: 'uint64_t',
    mac_age_ms: 'uint64_t',
    events_lost: 'uint64_t',
    evictions: 'uint64_t',
    io_uring: 'uint64_t',
  },
  cn_vxlan_stats: {
    vni: 'uint64_t',
    mtu: 'uint64_t',
    local_addr: 'uint64_t',
    local_port: 'uint64_t',
    rx_malformed: 'uint64_t',
    rx_bad_vni: 'uint64_t',
    rx_unknown_remote: 'uint64_t',
    tx_too_big: 'uint64_t',
    tx_segmented: 'uint64_t',
    tx_bad_gso: 'uint64_t',
  },
  cn_vxlan_remote_info: {
    addr: 'uint32_t',
    port: 'uint32_t',
    slot: 'uint32_t',
    pad: 'uint32_t',
    rx_packets: 'uint64_t',
    rx_bytes: 'uint64_t',
    tx_packets: 'uint64_t',
    tx_bytes: 'uint64_t',
    macs: 'uint64_t',
  },
  cn_capture_stats: {
    written: 'uint64_t',
    dropped: 'uint64_t',
  },
} as const satisfies Record<string, Record<string, FieldType>>;

export type StructName = keyof typeof STRUCTS;

type FieldValue<T> = T extends readonly ['uint8_t', number] ? Uint8Array : number;

/** A decoded struct: integers as numbers (64-bit counters are exact below 2^53), byte arrays as views into the decoded buffer. */
export type StructValue<S extends StructName> = {
  -readonly [K in keyof (typeof STRUCTS)[S]]: FieldValue<(typeof STRUCTS)[S][K]>;
};
