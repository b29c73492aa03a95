/* containet.h - the whole C surface that packages/common loads with koffi.
 *
 * Only numbers, byte buffers and file descriptors cross this boundary. Every
 * exported symbol starts with cn_. Unless a function says otherwise it
 * returns 0 (or a non-negative count) on success and -errno on failure, so
 * the TypeScript side can turn the value into an error with a code once.
 */
#ifndef CONTAINET_H
#define CONTAINET_H

#include <stddef.h>
#include <stdint.h>

/* ---- fdpass.c: a message body plus at most one fd over a unix socket ---- */

/* cn_fd_send() - send @len bytes of @buf on stream socket @sock, with @fd
 * attached to the first byte as SCM_RIGHTS (@fd < 0: no fd). Loops over
 * partial writes; waits (poll) up to @timeout_ms when the socket is
 * non-blocking and full.
 * Return: @len on success, -errno on failure (-ETIMEDOUT on timeout).
 */
long cn_fd_send(int sock, const uint8_t *buf, size_t len, int fd, int timeout_ms);

/* cn_fd_recv() - one recvmsg() of at most @cap bytes into @buf. A passed fd
 * is stored in *@fd_out (close-on-exec) or -1 if none came; if more than
 * one fd arrived, the extras are closed. Non-blocking: MSG_DONTWAIT.
 * Return: bytes read (0 at end of stream), -errno on failure (-EAGAIN when
 * nothing is waiting).
 */
long cn_fd_recv(int sock, uint8_t *buf, size_t cap, int *fd_out);

/* cn_fd_close() - close(@fd).  Return: 0 or -errno. */
int cn_fd_close(int fd);

/* cn_fd_dup() - F_DUPFD_CLOEXEC copy of @fd.  Return: new fd or -errno. */
int cn_fd_dup(int fd);

/* cn_unix_connect() - blocking connect of a new SOCK_STREAM unix socket to
 * @path (close-on-exec).  Return: the socket fd, or -errno.
 */
int cn_unix_connect(const char *path);

/* cn_peer_cred() - SO_PEERCRED of unix socket @sock into @pid/@uid/@gid.
 * Return: 0 or -errno.
 */
int cn_peer_cred(int sock, int *pid, int *uid, int *gid);

/* ---- tap.c: tap devices in the calling thread's network namespace ---- */

#define CN_TAP_VNET_HDR 0x1 /* IFF_VNET_HDR: frames carry virtio_net_hdr_v1 */

/* cn_tap_open() - create (or open) tap @name (IFF_TAP|IFF_NO_PI, plus
 * IFF_VNET_HDR with CN_TAP_VNET_HDR) in the calling thread's network
 * namespace. The kernel's chosen name is written to @name_out (at least
 * 16 bytes). The fd is close-on-exec and non-blocking.
 * Return: the tap fd, or -errno.
 */
int cn_tap_open(const char *name, int flags, char *name_out);

/* cn_tap_info() - check that @fd is a tap (TUNGETIFF) and report its name
 * into @name_out (16 bytes) and its IFF_* flags into *@flags_out.
 * Return: 0, -EBADFD/-EINVAL/-ENOTTY when @fd is not a tun/tap, or -errno.
 */
int cn_tap_info(int fd, char *name_out, int *flags_out);

/* ---- pty.c: a container's terminal ---- */

/* cn_pty_set_size() - set the window size of terminal @fd (a pty master)
 * to @rows x @cols (TIOCSWINSZ); the kernel signals SIGWINCH to the
 * terminal's foreground process group.  Return: 0 or -errno.
 */
int cn_pty_set_size(int fd, int rows, int cols);

/* ---- poll.c: readiness of fds libuv must not read, off the JS thread ----
 *
 * A poller is an epoll set and a thread of its own (signals blocked) that
 * waits on it. Watched fds are one-shot: when one has input or hung up the
 * thread queues it and it stays quiet until cn_poll_rearm(). When the queue
 * stops being empty the thread writes one byte to a pipe; the caller reads
 * that pipe through its event loop (libuv polls pipes itself), takes the
 * queue with cn_poll_take(), handles the fds and re-arms them; an fd re-armed
 * with input left unread fires again at once (level-triggered for the
 * caller). Nothing ever blocks a libuv worker. Calls on one poller come from
 * one thread at a time.
 */

/* cn_poll_create() - an epoll set, its thread and its notification pipe,
 * whose read end (close-on-exec, non-blocking) is stored in *@notify_fd and
 * belongs to the caller from then on.
 * Return: handle (>= 0), -EMFILE when 64 pollers exist, or -errno.
 */
int cn_poll_create(int *notify_fd);
/* cn_poll_add() - watch @fd for input or hang-up, armed.
 * Return: 0 or -errno (-EEXIST when already watched).
 */
int cn_poll_add(int poller, int fd);
/* cn_poll_del() - stop watching @fd and forget it if queued. Call before
 * closing it.  Return: 0 or -errno.
 */
int cn_poll_del(int poller, int fd);
/* cn_poll_take() - move up to @max queued fds, oldest first, to @fds.
 * Never waits. An fd may come with nothing to read (it was deleted and
 * re-added meanwhile); callers read non-blocking.
 * Return: number of fds (0: none queued), or the -errno that ended the
 * thread once the queue is empty.
 */
int cn_poll_take(int poller, int *fds, int max);
/* cn_poll_rearm() - arm the @n fds in @fds again after handling them; fds
 * no longer watched are skipped.  Return: number re-armed, or -EBADF.
 */
int cn_poll_rearm(int poller, const int *fds, int n);
/* cn_poll_destroy() - stop and join the thread, close the set and the
 * pipe's write end (the reader then sees end of file). Watched fds stay
 * open.  Return: 0 or -EBADF.
 */
int cn_poll_destroy(int poller);

/* ---- switch.c: the L2 switch datapath (one thread per switch) ----
 *
 * A switch is a set of ports (tap fds), a bounded MAC table and a thread
 * that forwards frames between them: classify the frame's VLAN, learn the
 * source MAC in it, send known unicast to its port, flood broadcast,
 * multicast and unknown unicast to every other port of the VLAN. GSO frames
 * and partial checksums from vnet taps go to vnet taps as they are and are
 * segmented/completed for plain taps. A port direction with impairments
 * (src/lib/impair.h) queues its frames in C until due. Port and MAC-entry
 * states are documented in src/lib/port.h and src/lib/mactable.h.
 * Every function may be called from any thread; they take the switch lock,
 * which the datapath holds per batch of ready ports, never across a wait.
 */

#define CN_SWITCH_PORTS_MAX 4096	/* ports per switch */
#define CN_FRAME_MAX (65536 + 128)	/* largest frame read, without vnet header */

/* Port flags in struct cn_port_stats.flags. */
#define CN_PORT_VNET_HDR 0x1	/* the tap carries a virtio_net_hdr */
#define CN_PORT_OFFLOAD  0x2	/* TUNSETOFFLOAD accepted: reads GSO frames */
#define CN_PORT_VXLAN    0x4	/* a VXLAN uplink (cn_switch_vxlan_add), not a tap */

/* Counters of one port, as cn_switch_port_stats() fills them. */
struct cn_port_stats {
	uint64_t rx_packets, rx_bytes;	/* frames read from the tap */
	uint64_t tx_packets, tx_bytes;	/* frames written (GSO: segments for plain taps) */
	uint64_t drops;			/* not written: tap full (EAGAIN/ENOBUFS) or down (EIO) */
	uint64_t errors;		/* malformed frames read, failed writes */
	uint64_t flags;			/* CN_PORT_* */
	uint64_t mac_count;		/* MAC table entries on this port */
	uint64_t vlan_drops;		/* received with a VLAN the port does not carry */
	uint64_t impair_lost;		/* dropped by the impairments' loss draws (both directions) */
	uint64_t queue_drops;		/* impairment queue full (both directions) */
	uint64_t queued_bytes;		/* frame bytes waiting in the impairment queues now */
};

/* ---- 802.1Q VLAN membership of a port (cn_switch_port_vlan) ----
 * ACCESS: untagged frames, all in VLAN @pvid; tagged ones are dropped.
 * TRUNK: tagged frames of an allowed VLAN pass with their tag; untagged
 * frames belong to the native VLAN @pvid, or are dropped when it is 0.
 * MAC learning and flooding are per VLAN (IEEE 802.1Q 8.8, independent
 * learning). A new tap port is ACCESS 1; a VXLAN uplink is a TRUNK of
 * every VLAN with native VLAN 1, so VLAN 1 crosses it untagged as before. */
#define CN_VLAN_ACCESS 0
#define CN_VLAN_TRUNK  1
#define CN_VLAN_MAX    4094	/* VLAN ids are 1..4094 (0 and 4095 are reserved) */

/* ---- link impairments of a port (cn_switch_port_impair), netem's model ---- */
#define CN_DIR_IN  0		/* frames the switch receives from the port */
#define CN_DIR_OUT 1		/* frames the switch sends to the port */
/* Indices into the parameter array; probabilities in parts per 10^9. */
#define CN_IMP_DELAY_NS   0
#define CN_IMP_JITTER_NS  1
#define CN_IMP_DIST       2	/* CN_DIST_* */
#define CN_IMP_LOSS       3	/* random loss */
#define CN_IMP_GILBERT    4	/* 1: Gilbert-Elliott loss with the next four */
#define CN_IMP_GE_P       5	/* good -> bad per frame */
#define CN_IMP_GE_R       6	/* bad -> good per frame */
#define CN_IMP_GE_BAD     7	/* loss in the bad state (1-h) */
#define CN_IMP_GE_GOOD    8	/* loss in the good state (1-k) */
#define CN_IMP_RATE_BPS   9	/* 0: no rate limit */
#define CN_IMP_LIMIT      10	/* queue bound in frame bytes, 0: the default */
#define CN_IMP_DUP        11
#define CN_IMP_REORDER    12
#define CN_IMP_CORRUPT    13
#define CN_IMP_SEED       14	/* 0: drawn from getrandom(2) */
#define CN_IMP_COUNT      15
#define CN_PPB            1000000000	/* 100% */
#define CN_DIST_UNIFORM      0
#define CN_DIST_NORMAL       1
#define CN_DIST_PARETO       2
#define CN_DIST_PARETONORMAL 3
/* Queue bound when CN_IMP_LIMIT is 0 (with a rate: what the rate carries
 * in the delay, 4 jitters and 20 ms, plus two of the largest frames), and
 * the largest accepted. */
#define CN_IMP_LIMIT_DEFAULT (16 << 20)
#define CN_IMP_LIMIT_MAX     (256 << 20)

/* Event types in struct cn_switch_event.type. Port-down events are always
 * queued; MAC events only after cn_switch_watch_macs(sw, 1). */
#define CN_EV_PORT_DOWN    1	/* @port removed by the datapath; @err: positive errno */
#define CN_EV_MAC_LEARNED  2	/* @mac now on @port */
#define CN_EV_MAC_MOVED    3	/* @mac moved from @other to @port */
#define CN_EV_MAC_AGED     4	/* @mac on @port aged out */
#define CN_EV_MAC_EVICTED  5	/* @mac on @port dropped for room (table full) */
#define CN_EV_MAC_FLUSHED  6	/* @mac on @port dropped with its port */

struct cn_switch_event {
	uint32_t type;
	uint32_t port;
	uint32_t other;
	int32_t err;
	uint8_t mac[6];
	uint8_t pad[2];
};

/* One MAC table entry as cn_switch_macs() fills it. */
struct cn_mac_record {
	uint8_t mac[6];
	uint16_t remote;	/* VXLAN uplink port: remote slot + 1; else 0 */
	uint32_t port;
	uint32_t age_ms;	/* since last seen as a source */
	uint16_t vlan;		/* VLAN it was learned in */
	uint16_t pad;
};

/* Switch-wide figures, as cn_switch_status() fills them. */
struct cn_switch_status {
	uint64_t ports;
	uint64_t macs;
	uint64_t mac_table_size;
	uint64_t mac_age_ms;
	uint64_t events_lost;	/* MAC events dropped because the queue was full */
	uint64_t evictions;	/* MAC entries evicted from a full table */
	uint64_t io_uring;	/* 1: the io_uring datapath, 0: read/write with epoll */
};

/* cn_switch_create() - allocate a switch with a MAC table of
 * @mac_table_size entries aging after @mac_age_ms (0: never) and start its
 * datapath thread: the io_uring path (src/lib/uring.h: batches of
 * non-blocking reads and writes, one system call per round) when the
 * kernel offers it (buffer rings, Linux 5.19; not disabled by
 * kernel.io_uring_disabled) and the environment does not say
 * CONTAINET_DATAPATH=epoll, else one read(2)/write(2) per frame. Both wait
 * in epoll and poll for 50 us after traffic before sleeping.
 * Return: handle (>= 0), -EINVAL for bad sizes, -EMFILE when too many
 * switches exist, or -errno.
 */
int cn_switch_create(int mac_table_size, int mac_age_ms);

/* cn_switch_destroy() - stop the thread, close every port's fd, free.
 * Return: 0, or -EBADF for an unknown handle.
 */
int cn_switch_destroy(int sw);

/* cn_switch_port_add() - attach tap @fd as a new port. On success the
 * switch owns @fd (it closes it when the port goes); on failure the caller
 * still does.
 * Return: port id (> 0, never reused by this switch), -ENOTTY/-EBADFD/
 * -EINVAL when @fd is not a tap, -ENOSPC when all ports are used, -errno.
 */
int cn_switch_port_add(int sw, int fd);

/* cn_switch_port_del() - detach port @port, close its fd, flush its MACs.
 * Return: 0, or -ENOENT when no such port exists (any more).
 */
int cn_switch_port_del(int sw, int port);

/* cn_switch_port_vlan() - set port @port's membership: CN_VLAN_ACCESS in
 * VLAN @pvid, or CN_VLAN_TRUNK carrying the @n VLANs in @allowed tagged
 * and native VLAN @pvid (0: none) untagged. Flushes the port's MACs.
 * Return: 0, -EINVAL for a VLAN outside 1..CN_VLAN_MAX, a repeated one or
 * a bad mode, -ENOENT for no such port.
 */
int cn_switch_port_vlan(int sw, int port, int mode, int pvid, const uint16_t *allowed, int n);

/* cn_switch_port_impair() - replace the impairments of direction @dir
 * (CN_DIR_*) of port @port with @n parameters indexed by CN_IMP_* (absent
 * ones are 0); @n = 0 removes them. Frames the direction had queued are
 * dropped (counted in queue_drops). Delayed frames wait in the datapath,
 * woken by a timerfd in its epoll set.
 * Return: 0, -EINVAL for a value out of range, -ENOENT, -ENOMEM.
 */
int cn_switch_port_impair(int sw, int port, int dir, const uint64_t *params, int n);

/* cn_switch_ports() - store up to @max current port ids in @ids.
 * Return: number of ports (may exceed @max), or -EBADF.
 */
int cn_switch_ports(int sw, uint32_t *ids, int max);

/* cn_switch_port_stats() - copy port @port's counters to @out.
 * Return: 0, or -ENOENT.
 */
int cn_switch_port_stats(int sw, int port, struct cn_port_stats *out);

/* cn_switch_macs() - store up to @max MAC entries, oldest first, in @out.
 * Return: number of entries (may exceed @max), or -EBADF.
 */
int cn_switch_macs(int sw, struct cn_mac_record *out, int max);

/* cn_switch_status() - copy switch-wide figures to @out.
 * Return: 0, or -EBADF.
 */
int cn_switch_status(int sw, struct cn_switch_status *out);

/* cn_switch_event_fd() - an eventfd that is readable while events are
 * queued (cn_switch_events() resets it). Owned by the switch.
 * Return: the fd, or -EBADF.
 */
int cn_switch_event_fd(int sw);

/* cn_switch_events() - dequeue up to @max events, oldest first.
 * Return: number dequeued, or -EBADF.
 */
int cn_switch_events(int sw, struct cn_switch_event *out, int max);

/* cn_switch_watch_macs() - queue MAC learned/moved/aged events (@on = 1)
 * or not (0, the default).  Return: 0, or -EBADF.
 */
int cn_switch_watch_macs(int sw, int on);

/* ---- vxlan.c: VXLAN uplinks (RFC 7348) as switch ports ----
 *
 * An uplink is a port whose frames travel in UDP to remote VTEPs of one
 * VNI: broadcast, multicast and unknown unicast go to every remote
 * (head-end replication), MACs are learned against the remote they came
 * from and unicast goes only there. Frames are never relayed from one
 * remote to another. GSO frames are segmented to fit the uplink MTU;
 * other frames too big for it are dropped and counted. IPv4 underlay only.
 */

#define CN_VXLAN_REMOTES_MAX 64	/* remote VTEPs per uplink */

/* Uplink figures, as cn_switch_vxlan_info() fills them. */
struct cn_vxlan_stats {
	uint64_t vni;
	uint64_t mtu;			/* underlay MTU (outer IP packet) */
	uint64_t local_addr;		/* IPv4, network byte order in the low 32 bits */
	uint64_t local_port;
	uint64_t rx_malformed;		/* truncated, I flag clear, oversized */
	uint64_t rx_bad_vni;		/* valid header, another VNI */
	uint64_t rx_unknown_remote;	/* source address is no configured remote */
	uint64_t tx_too_big;		/* non-GSO frame larger than the MTU allows */
	uint64_t tx_segmented;		/* GSO frames cut into segments */
	uint64_t tx_bad_gso;		/* GSO frames that could not be segmented */
};

/* One remote VTEP, as cn_switch_vxlan_info() fills them. */
struct cn_vxlan_remote_info {
	uint32_t addr;			/* IPv4, network byte order */
	uint32_t port;			/* UDP destination port */
	uint32_t slot;
	uint32_t pad;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t macs;			/* MAC table entries behind it */
};

/* cn_switch_vxlan_add() - add an uplink port: a UDP socket bound to
 * @local:@port (IPv4 dotted quad, "0.0.0.0" for any) for VNI @vni
 * (0..16777215) over an underlay of MTU @mtu (576..65535).
 * Return: port id (> 0), -EINVAL, -EADDRINUSE, -ENOSPC, or -errno.
 */
int cn_switch_vxlan_add(int sw, const char *local, int port, int vni, int mtu);

/* cn_switch_vxlan_remote() - add (@add = 1) or remove (0) remote VTEP
 * @addr:@udp_port on uplink @port; removal flushes the MACs behind it
 * (@udp_port is ignored then).
 * Return: 0, -ENOENT (no such uplink or remote), -EEXIST, -ENOSPC,
 * -EINVAL.
 */
int cn_switch_vxlan_remote(int sw, int port, const char *addr, int udp_port, int add);

/* cn_switch_vxlan_info() - copy uplink @port's figures to @st and up to
 * @max of its remotes to @out.
 * Return: number of remotes (may exceed @max), -ENOENT when @port is no
 * uplink.
 */
int cn_switch_vxlan_info(int sw, int port, struct cn_vxlan_stats *st, struct cn_vxlan_remote_info *out,
			 int max);

/* cn_gro_merge() - merge wire frames as the datapath does for a train of
 * VXLAN datagrams (src/lib/gro.h): @n frames of @seg_len bytes back to
 * back in @segs (all equal: the last one's length is @seg_len too), from
 * the first while they merge, into @out (@cap bytes) with its 12-byte
 * virtio_net_hdr_v1 in @hdr and length in *@out_len. Exported for tests.
 * Return: number of frames merged (0: the first is not mergeable).
 */
int cn_gro_merge(const uint8_t *segs, size_t seg_len, int n, uint8_t *out, size_t cap, uint8_t *hdr,
		 uint32_t *out_len);

/* ---- vnet.c: virtio_net_hdr offloads done in software (for plain taps,
 * captures, tunnels), exported for reuse and for tests ---- */

/* cn_vnet_segment() - cut the TCP GSO frame @frame (@len bytes, described
 * by the 12-byte virtio_net_hdr_v1 at @hdr) into wire segments, written
 * back to back into @out (@cap bytes) with their lengths in @seg_lens.
 * Return: number of segments, -EINVAL for a header that does not match the
 * frame, -EPROTONOSUPPORT for a GSO type other than TCPV4/TCPV6, -EMSGSIZE
 * when @cap or @max is too small.
 */
int cn_vnet_segment(const uint8_t *hdr, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
		    uint32_t *seg_lens, int max);

/* cn_vnet_csum() - finish the partial checksum of a NEEDS_CSUM frame in
 * place and clear the flag in @hdr (no-op without the flag).
 * Return: 0, or -EINVAL when the checksum offsets lie outside the frame.
 */
int cn_vnet_csum(uint8_t *hdr, uint8_t *frame, size_t len);

/* ---- capture.c: port mirroring into a pcap stream ---- */

#define CN_EV_CAPTURE_DOWN 7	/* capture @port ended (reader gone: @err, or its port @other left) */

/* cn_switch_capture_add() - mirror the frames of port @port (0: every frame
 * once) to @fd, a stream socket or pipe, as a pcap stream (libpcap format,
 * EN10MB, at most @snaplen bytes per frame) that starts with the global
 * header. GSO frames are written as the segments that would be on the wire,
 * with finished checksums. Never blocks: records that don't fit are dropped
 * whole and counted. On success the switch owns @fd.
 * Return: capture id (> 0), -ENOENT for an unknown port, -EINVAL for an fd
 * that is not a socket or pipe or a bad snaplen, -ENOSPC, or -errno.
 */
int cn_switch_capture_add(int sw, int port, int fd, int snaplen);

/* cn_switch_capture_del() - stop capture @id and close its fd.
 * Return: 0, or -ENOENT.
 */
int cn_switch_capture_del(int sw, int id);

/* Counters of one capture, as cn_switch_capture_stats() fills them. */
struct cn_capture_stats {
	uint64_t written;	/* pcap records written */
	uint64_t dropped;	/* records that did not fit into the reader's buffer */
};

/* cn_switch_capture_stats() - copy capture @id's counters to @out.
 * Return: 0, or -ENOENT.
 */
int cn_switch_capture_stats(int sw, int id, struct cn_capture_stats *out);

/* cn_capture_pair() - a connected SOCK_STREAM unix socket pair (close-on-
 * exec) for a capture client: it keeps @fds[0] to read and passes @fds[1].
 * Return: 0 or -errno.
 */
int cn_capture_pair(int *fds);

/* ---- capfilter.c: capture filters (pcap-filter(7), compiled by libpcap) ---- */

/* cn_capfilter_compile() - check that pcap-filter(7) @expr compiles for
 * Ethernet frames (DLT_EN10MB, snaplen 65535) into classic BPF.
 * Return: the program's instruction count, -EINVAL with libpcap's message
 * in @err (at most @errlen bytes, NUL-terminated), or -ENOMEM.
 */
int cn_capfilter_compile(const char *expr, char *err, int errlen);

/* cn_capture_filter() - compile @expr and run it on every frame of the
 * capture that will take @fd (the next cn_switch_capture_add() with @fd):
 * frames it rejects are neither written nor counted. NULL @expr removes a
 * filter still waiting for @fd (call it when the capture was not added).
 * Return: 0, -EINVAL with libpcap's message in @err, -ENOSPC (16 filters
 * waiting already), -ENOMEM.
 */
int cn_capture_filter(int fd, const char *expr, char *err, int errlen);

/* ---- layout.c: the structs and constants above, as the TypeScript side
 * declares them once (packages/common/src/native-types.ts). layout.c pins
 * every size and offset with _Static_assert; a test compares the
 * declarations with what these report. ---- */

/* cn_layout_value() - sizeof a struct ("cn_port_stats"), offsetof one of
 * its fields ("cn_port_stats.rx_bytes"), sizeof that field ("sizeof
 * cn_port_stats.rx_bytes") or the value of a constant ("CN_PORT_VXLAN") of
 * this header.
 * Return: the value (>= 0), or -ENOENT for a name it does not know.
 */
long cn_layout_value(const char *name);

/* cn_layout_name() - the @i-th name cn_layout_value() knows (from 0).
 * Return: the name, or NULL past the last one.
 */
const char *cn_layout_name(int i);

#endif /* CONTAINET_H */
