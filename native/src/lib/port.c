/* port.c - tap I/O for switch ports, see port.h and the kernel's
 * Documentation/networking/tuntap.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "port.h"

int port_open(struct port *p, int fd)
{
	int flags, sz, fl, ret;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	ret = cn_tap_info(fd, p->name, &flags);
	if (ret < 0)
		return ret;
	if (flags & IFF_VNET_HDR) {
		if (ioctl(fd, TUNGETVNETHDRSZ, &sz) < 0)
			return -errno;
		if (sz != 10 && sz != VNET_HDR_LEN) {
			sz = VNET_HDR_LEN;
			if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
				return -errno;
		}
		p->hdr_len = sz;
		/* The container's side of the tap may now hand us
		 * unchecksummed and TSO frames (tun's set_offload()). */
		fl = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
		p->offload = ioctl(fd, TUNSETOFFLOAD, fl) == 0;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	p->fd = fd;
	vlan_set_access(&p->vlan, 1);
	if (p->hdr_len)
		p->st.flags |= CN_PORT_VNET_HDR;
	if (p->offload)
		p->st.flags |= CN_PORT_OFFLOAD;
	return 0;
}

ssize_t port_recv(struct port *p, struct virtio_net_hdr_v1 *h, uint8_t *frame, size_t cap)
{
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = (size_t)p->hdr_len },
		{ .iov_base = frame, .iov_len = cap },
	};
	ssize_t n;

	if (!p->hdr_len)
		memset(h, 0, sizeof(*h));
	do
		n = readv(p->fd, iov, 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if (n < p->hdr_len)
		return -EPROTO;
	/* A frame that did not fit was cut to the buffer (or, on some
	 * kernels, tun_put_user() reports its full length): callers pass a
	 * buffer one byte larger than the largest frame they accept, so a
	 * full buffer means the tail is missing. Drop it, counted. */
	if ((size_t)(n - p->hdr_len) >= cap)
		return -EMSGSIZE;
	/* A 10-byte header has no num_buffers; keep the field defined. */
	if (p->hdr_len == 10)
		h->num_buffers = 0;
	return n - p->hdr_len;
}

int port_send(struct port *p, const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	return port_sendv(p, h, &iov, 1, len);
}

int port_sendv(struct port *p, const struct virtio_net_hdr_v1 *h, const struct iovec *parts, int n_parts,
	       size_t len)
{
	struct iovec iov[4] = { { .iov_base = (void *)h, .iov_len = (size_t)p->hdr_len } };
	ssize_t n;
	int i;

	for (i = 0; i < n_parts && i < 3; i++)
		iov[i + 1] = parts[i];
	do
		n = writev(p->fd, iov + (p->hdr_len ? 0 : 1), i + (p->hdr_len ? 1 : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;

		/* EAGAIN/ENOBUFS: full; EIO: the interface is down (tun
		 * refuses writes then). Both are drops, not a dead port. */
		if (err == EAGAIN || err == ENOBUFS || err == EIO)
			p->st.drops++;
		else
			p->st.errors++;
		return -err;
	}
	p->st.tx_packets++;
	p->st.tx_bytes += len;
	return 0;
}
