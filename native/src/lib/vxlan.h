/* vxlan.h - a VXLAN uplink (RFC 7348): one UDP socket standing as a switch
 * port for a set of remote VTEPs of one VNI.
 *
 * Wire format (RFC 7348 section 5): outer IPv4 + UDP (destination port 4789
 * by default) + 8-byte VXLAN header (flags byte with the I bit 0x08, 24
 * reserved bits, 24-bit VNI, 8 reserved bits) + the inner Ethernet frame
 * without FCS. Overhead on the underlay: 20 + 8 + 8 + 14 = 50 bytes above
 * the inner IP packet, so an uplink MTU of 1500 carries inner frames of at
 * most 1464 bytes (inner IP MTU 1450).
 *
 * Remote slots (@r):
 *   FREE  @used is 0.
 *   USED  the VTEP's address and port; MACs learned from it point at the
 *         slot index (mactable entry @remote). Removing a remote flushes
 *         its MAC entries first, so an index is never stale.
 * A remote is identified by its address alone on receipt: Linux vxlan sends
 * from a source port hashed over the inner flow (RFC 7348 section 5,
 * "Outer UDP Header"), so only the destination port is known in advance.
 *
 * Not thread-safe: the switch calls it under its lock.
 */
#ifndef VXLAN_H
#define VXLAN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "containet.h"

#define VXLAN_HDR_LEN 8
#define VXLAN_OVERHEAD 50	/* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */

struct vxlan_remote {
	int used;
	struct sockaddr_in addr;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, macs;
};

struct vxlan {
	uint32_t vni;
	int mtu;		/* of the underlay: outer IP packet size */
	struct sockaddr_in local;
	uint8_t hdr[VXLAN_HDR_LEN];	/* what we send: I flag + VNI */
	struct vxlan_remote r[CN_VXLAN_REMOTES_MAX];
	int nremotes;
	int no_gso;		/* UDP_SEGMENT refused: one sendmmsg datagram per frame */
	struct cn_vxlan_stats st;
};

/* vxlan_open() - create the uplink's UDP socket bound to @local:@port
 * (non-blocking, close-on-exec, large buffers) and fill @v.
 * Return: the socket fd, -EINVAL for a bad address, VNI or MTU, or -errno
 * (-EADDRINUSE when the port is taken).
 */
int vxlan_open(struct vxlan *v, const char *local, int port, uint32_t vni, int mtu);

/* vxlan_remote_add() - add VTEP @addr:@port.
 * Return: slot index, -EEXIST when the address is there already, -EINVAL,
 * -ENOSPC when all CN_VXLAN_REMOTES_MAX slots are used.
 */
int vxlan_remote_add(struct vxlan *v, const char *addr, int port);

/* vxlan_remote_find() - the slot of VTEP address @addr (any port).
 * Return: slot index, or -1.
 */
int vxlan_remote_find(const struct vxlan *v, const char *addr);

/* vxlan_frame_max() - largest inner frame (without vnet header) that fits
 * the uplink's MTU.  Return: bytes.
 */
static inline size_t vxlan_frame_max(const struct vxlan *v)
{
	return (size_t)v->mtu - VXLAN_OVERHEAD + 14;
}

/* vxlan_recv() - read one datagram or, with UDP_GRO, a train of
 * datagrams from one sender of *@seg bytes each (the last may be shorter)
 * into @buf (@cap bytes, at least 65536). *@remote is the sender's slot,
 * -1 for an unknown sender (vxlan_decap() counts those).
 * Return: bytes read, -EAGAIN when the socket is empty, -EBADMSG for a
 * truncated read (counted), or another -errno.
 */
ssize_t vxlan_recv(struct vxlan *v, int fd, uint8_t *buf, size_t cap, size_t *seg, int *remote);

/* vxlan_decap() - validate one datagram @d of @len bytes from remote slot
 * @remote (-1: unknown): a known sender, room for the VXLAN and an
 * Ethernet header, the I flag, our VNI. Counts what it drops.
 * Return: offset of the inner frame, or -EBADMSG.
 */
int vxlan_decap(struct vxlan *v, const uint8_t *d, size_t len, int remote);

/* vxlan_send() - send wire frames @segs[0..@n) to remote slot @remote,
 * encapsulated, in one sendmmsg(2). @msgs and @iov are scratch space for
 * @n messages (2 iovecs each).
 * Return: frames sent (the rest are counted as drops in @st).
 */
int vxlan_send(struct vxlan *v, int fd, int remote, const struct iovec *segs, int n,
	       struct mmsghdr *msgs, struct iovec *iov, struct cn_port_stats *st);

#endif /* VXLAN_H */
