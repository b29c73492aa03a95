/* port.h - one switch port: a tap fd handed over by a container.
 *
 * Port states (the switch's slot array holds them; see switch.c):
 *   FREE   @fd is -1; the slot can take a new port. @gen counts reuses so an
 *          epoll event for an older occupant is recognised and ignored.
 *   UP     @fd is watched by the datapath's epoll set; frames are read from
 *          it and written to it.
 *   DYING  @dead_err is set (a read failed: the tap was detached, its
 *          namespace is gone); the datapath removes it at the end of the
 *          current batch and queues a port-down event.
 * UP -> FREE directly on an explicit removal (cn_switch_port_del).
 * On the io_uring path (uring.h) an UP port is read with batches of
 * non-blocking reads when epoll says it is readable; none stays armed, so
 * the ring never holds the tap open past its port.
 * A VXLAN uplink (@vx set) goes through the same states; it is only ever
 * removed explicitly, a UDP socket has no peer to hang up.
 */
#ifndef PORT_H
#define PORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "containet.h"
#include "vlan.h"
#include "vnet.h"

struct vxlan;
struct impair;

struct port {
	int fd;
	struct vxlan *vx;	/* a VXLAN uplink (vxlan.h): @fd is its UDP socket */
	uint32_t id;
	uint32_t gen;
	int hdr_len;		/* virtio_net_hdr bytes per frame: 0, 10 or 12 */
	int offload;		/* TUNSETOFFLOAD accepted: may read GSO frames */
	int dead_err;		/* DYING: positive errno of the failed read */
	int rx_batch;		/* io_uring path: reads to submit at once */
	char name[16];
	struct cn_port_stats st;
	struct port_vlan vlan;		/* 802.1Q membership (vlan.h) */
	struct impair *imp[2];		/* impairments per CN_DIR_*, NULL: none */
};

/* port_open() - check that @fd is a tap (TUNGETIFF), learn whether it
 * carries a virtio_net_hdr and its size (TUNGETVNETHDRSZ; sizes other than
 * 10 and 12 are set to 12), make it non-blocking and, for vnet taps, enable
 * checksum and TCP segmentation offload (TUNSETOFFLOAD) so the container
 * sends large GSO frames. Fills @p except id/gen.
 * Return: 0, -ENOTTY/-EBADFD/-EINVAL when @fd is not a tap, or -errno.
 */
int port_open(struct port *p, int fd);

/* port_recv() - read one frame: the virtio header into @h (zeroed for a
 * plain tap) and the frame into @frame, a buffer of @cap bytes that is one
 * byte larger than the largest frame accepted.
 * Return: frame length, -EMSGSIZE for a frame that filled @cap (cut short),
 * -EAGAIN when empty, or -errno.
 */
ssize_t port_recv(struct port *p, struct virtio_net_hdr_v1 *h, uint8_t *frame, size_t cap);

/* port_send() - write one frame with header @h (omitted for a plain tap,
 * which must never be given a GSO frame or a partial checksum: the caller
 * segments or completes it first). Never blocks; counts the outcome.
 * Return: 0 when written, -errno when dropped.
 */
int port_send(struct port *p, const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len);

/* port_sendv() - port_send() of a frame in @n_parts (at most 3) pieces of
 * @len bytes in all, e.g. with a VLAN tag spliced in or cut out.
 * Return: 0 when written, -errno when dropped.
 */
int port_sendv(struct port *p, const struct virtio_net_hdr_v1 *h, const struct iovec *parts, int n_parts,
	       size_t len);

#endif /* PORT_H */
