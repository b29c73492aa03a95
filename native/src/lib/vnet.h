/* vnet.h - offloads carried by virtio_net_hdr (virtio spec 1.1, 5.1.6
 * "Device Operation"; the kernel's Documentation/networking/tuntap.rst and
 * include/linux/virtio_net.h): finishing a partial checksum and cutting a
 * TCP GSO frame into the segments that would be on the wire, for a peer
 * that takes plain frames (a tap without IFF_VNET_HDR, a capture).
 */
#ifndef VNET_H
#define VNET_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The layout the switch works with: virtio_net_hdr_v1 (12 bytes, with
 * num_buffers), as cn_tap_open() sets with TUNSETVNETHDRSZ. */
#define VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr_v1))

/* vnet_csum_complete() - for a frame whose header has NEEDS_CSUM, compute
 * the ones' complement checksum (RFC 1071) from csum_start to the end and
 * store it at csum_start + csum_offset; the field holds the pseudo-header
 * sum on entry, as virtio requires. Clears NEEDS_CSUM in @h.
 * Return: 0, or -EINVAL when the offsets lie outside the frame.
 */
int vnet_csum_complete(struct virtio_net_hdr_v1 *h, uint8_t *frame, size_t len);

/* vnet_segment() - split TCP GSO frame @frame (IPv4 or IPv6, optionally
 * behind up to two VLAN tags) of @len bytes into segments of at most
 * gso_size payload bytes, written one after another into @out (@cap bytes),
 * each with its own IP length, IPv4 id and header checksum, TCP sequence
 * number, flags (FIN/PSH only on the last, CWR only on the first) and a
 * full TCP checksum. @segs[i] points at segment i.
 * Return: number of segments, -EINVAL for a header that does not match the
 * frame, -EPROTONOSUPPORT for a GSO type other than TCPV4/TCPV6, -EMSGSIZE
 * when the segments need more than @cap bytes or @max iovecs.
 */
int vnet_segment(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len,
		 uint8_t *out, size_t cap, struct iovec *segs, int max);

/* vnet_csum_add() - add @len bytes at @p to a running ones' complement
 * sum (RFC 1071).  Return: the new, unfolded sum.
 */
uint64_t vnet_csum_add(const uint8_t *p, size_t len, uint64_t sum);

/* vnet_csum_fold() - fold a running sum to 16 bits and complement it.
 * Return: the checksum, in the byte order of the loads.
 */
uint16_t vnet_csum_fold(uint64_t sum);

#endif /* VNET_H */
