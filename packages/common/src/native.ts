/**
 * The only place that loads native/ (libcontainet.so) and declares its C
 * prototypes; native/include/containet.h is the other half of this surface.
 * Only numbers, strings, buffers and fds cross it. Loaded lazily so that
 * commands that never touch native code start fast.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContainetError } from './errors.js';

type KoffiFn = ((...args: unknown[]) => unknown) & {
  async: (...args: unknown[]) => void;
};

/** Directories searched for the native build, in order. */
export function nativeDirCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list: string[] = [];
  if (process.env['CONTAINET_NATIVE_DIR']) list.push(resolve(process.env['CONTAINET_NATIVE_DIR']));
  // packages/common/dist/src -> repository root -> native/build
  list.push(resolve(here, '../../../../native/build'));
  list.push('/usr/local/lib/containet');
  return list;
}

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

// ---- switch.c: the L2 switch datapath (containet). Structs travel as
// Buffers laid out as in containet.h (see packages/containet/src/datapath.ts).
const SWITCH_PROTOTYPES = {
  cn_switch_create: 'int cn_switch_create(int mac_table_size, int mac_age_ms)',
  cn_switch_destroy: 'int cn_switch_destroy(int sw)',
  cn_switch_port_add: 'int cn_switch_port_add(int sw, int fd)',
  cn_switch_port_del: 'int cn_switch_port_del(int sw, int port)',
  cn_switch_ports: 'int cn_switch_ports(int sw, _Out_ uint32_t *ids, int max)',
  cn_switch_port_stats: 'int cn_switch_port_stats(int sw, int port, _Out_ uint8_t *out)',
  cn_switch_macs: 'int cn_switch_macs(int sw, _Out_ uint8_t *out, int max)',
  cn_switch_status: 'int cn_switch_status(int sw, _Out_ uint8_t *out)',
  cn_switch_event_fd: 'int cn_switch_event_fd(int sw)',
  cn_switch_events: 'int cn_switch_events(int sw, _Out_ uint8_t *out, int max)',
  cn_switch_watch_macs: 'int cn_switch_watch_macs(int sw, int on)',
  cn_switch_capture_add: 'int cn_switch_capture_add(int sw, int port, int fd, int snaplen)',
  cn_switch_capture_del: 'int cn_switch_capture_del(int sw, int id)',
  cn_switch_capture_stats: 'int cn_switch_capture_stats(int sw, int id, _Out_ uint8_t *out)',
  cn_capture_pair: 'int cn_capture_pair(_Out_ int *fds)',
  cn_vnet_segment:
    'int cn_vnet_segment(const uint8_t *hdr, const uint8_t *frame, size_t len, _Out_ uint8_t *out, size_t cap, _Out_ uint32_t *seg_lens, int max)',
  cn_vnet_csum: 'int cn_vnet_csum(_Inout_ uint8_t *hdr, _Inout_ uint8_t *frame, size_t len)',
  // vxlan.c: VXLAN uplinks (containet --vxlan)
  cn_switch_vxlan_add: 'int cn_switch_vxlan_add(int sw, const char *local, int port, int vni, int mtu)',
  cn_switch_vxlan_remote: 'int cn_switch_vxlan_remote(int sw, int port, const char *addr, int udp_port, int add)',
  cn_switch_vxlan_info: 'int cn_switch_vxlan_info(int sw, int port, _Out_ uint8_t *st, _Out_ uint8_t *out, int max)',
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
} as const;

export type NativeName = keyof typeof PROTOTYPES;
export type NativeLib = Record<NativeName, KoffiFn>;

let libCache: NativeLib | undefined;

/** The loaded library; throws CN_NATIVE_MISSING with every path tried. */
export function native(): NativeLib {
  if (libCache) return libCache;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as {
    load: (path: string) => { func: (proto: string) => KoffiFn };
  };
  const lib = koffi.load(join(nativeDir(), 'libcontainet.so'));
  const out: Partial<NativeLib> = {};
  for (const [name, proto] of Object.entries(PROTOTYPES)) out[name as NativeName] = lib.func(proto);
  libCache = out as NativeLib;
  return libCache;
}
