/* vxlan.c - VXLAN encapsulation over a UDP socket, see vxlan.h and
 * RFC 7348.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vxlan.h"

#define VXLAN_FLAG_I 0x08
#define SOCK_BUF (4 << 20)
#define VXLAN_GSO_SEGS 64	/* UDP_MAX_SEGMENTS of older kernels */

/* parse_addr() - dotted quad @text into @sa with @port.
 * Return: 0, or -EINVAL.
 */
static int parse_addr(struct sockaddr_in *sa, const char *text, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!text || inet_pton(AF_INET, text, &sa->sin_addr) != 1 || port < 0 || port > 65535)
		return -EINVAL;
	return 0;
}

int vxlan_open(struct vxlan *v, const char *local, int port, uint32_t vni, int mtu)
{
	int fd, sz = SOCK_BUF, one = 1, ret;

	memset(v, 0, sizeof(*v));
	if (vni > 0xffffff || mtu < 576 || mtu > 65535 || port <= 0)
		return -EINVAL;
	ret = parse_addr(&v->local, local, port);
	if (ret < 0)
		return ret;
	v->vni = vni;
	v->mtu = mtu;
	v->hdr[0] = VXLAN_FLAG_I;
	v->hdr[4] = (uint8_t)(vni >> 16);
	v->hdr[5] = (uint8_t)(vni >> 8);
	v->hdr[6] = (uint8_t)vni;
	v->st.vni = vni;
	v->st.mtu = (uint64_t)mtu;
	v->st.local_addr = v->local.sin_addr.s_addr;
	v->st.local_port = (uint64_t)port;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Bursts of segments from one GSO frame must not overflow the
	 * default buffers; the FORCE variants need CAP_NET_ADMIN, fall back
	 * to the capped ones (socket(7)). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* Trains of equal-sized datagrams from one sender arrive in one read
	 * (udp(7) UDP_GRO); without it, one read per datagram. */
	setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&v->local, sizeof(v->local)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int vxlan_remote_find(const struct vxlan *v, const char *addr)
{
	struct in_addr a;
	int i;

	if (!addr || inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	for (i = 0; i < CN_VXLAN_REMOTES_MAX; i++)
		if (v->r[i].used && v->r[i].addr.sin_addr.s_addr == a.s_addr)
			return i;
	return -1;
}

int vxlan_remote_add(struct vxlan *v, const char *addr, int port)
{
	struct sockaddr_in sa;
	int i, ret;

	ret = parse_addr(&sa, addr, port);
	if (ret < 0 || port == 0 || sa.sin_addr.s_addr == INADDR_ANY ||
	    IN_MULTICAST(ntohl(sa.sin_addr.s_addr)) || sa.sin_addr.s_addr == INADDR_BROADCAST)
		return -EINVAL;
	if (vxlan_remote_find(v, addr) >= 0)
		return -EEXIST;
	for (i = 0; i < CN_VXLAN_REMOTES_MAX && v->r[i].used; i++)
		;
	if (i == CN_VXLAN_REMOTES_MAX)
		return -ENOSPC;
	memset(&v->r[i], 0, sizeof(v->r[i]));
	v->r[i].used = 1;
	v->r[i].addr = sa;
	v->nremotes++;
	return i;
}

ssize_t vxlan_recv(struct vxlan *v, int fd, uint8_t *buf, size_t cap, size_t *seg, int *remote)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_in from;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr m = {
		.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	ssize_t n;
	int i;

	do
		n = recvmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*seg = (size_t)n;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int gso;

			memcpy(&gso, CMSG_DATA(c), sizeof(gso));
			if (gso > 0)
				*seg = (size_t)gso;
		}
	}
	*remote = -1;
	if (m.msg_namelen == sizeof(from) && from.sin_family == AF_INET) {
		for (i = 0; i < CN_VXLAN_REMOTES_MAX; i++)
			if (v->r[i].used && v->r[i].addr.sin_addr.s_addr == from.sin_addr.s_addr)
				*remote = i;
	}
	/* A datagram cut by MSG_TRUNC can't be split into its parts
	 * reliably: the whole read is malformed. */
	if (m.msg_flags & MSG_TRUNC) {
		if (*remote < 0)
			v->st.rx_unknown_remote++;
		else
			v->st.rx_malformed++;
		return -EBADMSG;
	}
	return n;
}

int vxlan_decap(struct vxlan *v, const uint8_t *d, size_t len, int remote)
{
	uint32_t vni;

	/* Unknown senders first: nothing from them is even parsed. */
	if (remote < 0) {
		v->st.rx_unknown_remote++;
		return -EBADMSG;
	}
	/* The I flag must be set for a valid VNI (RFC 7348 section 5); the
	 * reserved bits are ignored on receipt, as the RFC asks. An inner
	 * frame shorter than an Ethernet header is malformed. */
	if (len < VXLAN_HDR_LEN + 14 || !(d[0] & VXLAN_FLAG_I)) {
		v->st.rx_malformed++;
		return -EBADMSG;
	}
	vni = (uint32_t)d[4] << 16 | (uint32_t)d[5] << 8 | d[6];
	if (vni != v->vni) {
		v->st.rx_bad_vni++;
		return -EBADMSG;
	}
	v->r[remote].rx_packets++;
	v->r[remote].rx_bytes += len - VXLAN_HDR_LEN;
	return VXLAN_HDR_LEN;
}

/* send_gso() - send equal-sized wire frames @segs[0..@n) (the last may be
 * shorter) as one UDP GSO super-datagram per chunk (UDP_SEGMENT, udp(7)):
 * the kernel cuts it into one datagram per frame, each with its VXLAN
 * header, after crossing the stack once; a veth underlay even carries it
 * whole to the peer namespace.
 * Return: frames sent, or -errno before the first one was sent.
 */
static int send_gso(struct vxlan *v, int fd, struct vxlan_remote *r, const struct iovec *segs, int n,
		    struct iovec *iov)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl;
	size_t unit = VXLAN_HDR_LEN + segs[0].iov_len;
	int per = (int)(65000 / unit), at = 0, i, k;
	struct msghdr m;
	struct cmsghdr *c;

	if (per > VXLAN_GSO_SEGS)
		per = VXLAN_GSO_SEGS;
	while (at < n) {
		k = n - at < per ? n - at : per;
		for (i = 0; i < k; i++) {
			iov[2 * i].iov_base = v->hdr;
			iov[2 * i].iov_len = VXLAN_HDR_LEN;
			iov[2 * i + 1] = segs[at + i];
		}
		memset(&m, 0, sizeof(m));
		m.msg_name = &r->addr;
		m.msg_namelen = sizeof(r->addr);
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)(2 * k);
		if (k > 1) {
			m.msg_control = ctl.buf;
			m.msg_controllen = sizeof(ctl.buf);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)CMSG_DATA(c) = (uint16_t)unit;
		}
		if (sendmsg(fd, &m, 0) < 0) {
			if (errno == EINTR)
				continue;
			return at ? at : -errno;
		}
		at += k;
	}
	return at;
}

int vxlan_send(struct vxlan *v, int fd, int remote, const struct iovec *segs, int n,
	       struct mmsghdr *msgs, struct iovec *iov, struct cn_port_stats *st)
{
	struct vxlan_remote *r = &v->r[remote];
	int i, sent = 0, ret;

	if (n > 1 && !v->no_gso) {
		ret = send_gso(v, fd, r, segs, n, iov);
		/* No UDP GSO on this path (old kernel, EIO from a device
		 * without checksum offload): plain datagrams from now on. */
		if (ret == -EIO || ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOPROTOOPT)
			v->no_gso = 1;
		else
			sent = ret < 0 ? 0 : ret;
		if (!v->no_gso) {
			for (i = 0; i < sent; i++) {
				st->tx_bytes += segs[i].iov_len;
				r->tx_bytes += segs[i].iov_len;
			}
			st->tx_packets += (uint64_t)sent;
			r->tx_packets += (uint64_t)sent;
			st->drops += (uint64_t)(n - sent);
			return sent;
		}
	}

	for (i = 0; i < n; i++) {
		iov[2 * i].iov_base = v->hdr;
		iov[2 * i].iov_len = VXLAN_HDR_LEN;
		iov[2 * i + 1] = segs[i];
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_name = &r->addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(r->addr);
		msgs[i].msg_hdr.msg_iov = &iov[2 * i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	while (sent < n) {
		ret = sendmmsg(fd, msgs + sent, (unsigned int)(n - sent), 0);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			int err = ret < 0 ? errno : EAGAIN;

			/* EAGAIN/ENOBUFS: socket buffer full; the rest of
			 * this burst is a drop, as on a full tap. ICMP
			 * errors from the underlay (ECONNREFUSED, EHOSTUNREACH)
			 * are reported on a later send: also drops. */
			if (err == EAGAIN || err == ENOBUFS || err == ECONNREFUSED || err == EHOSTUNREACH ||
			    err == ENETUNREACH || err == EHOSTDOWN)
				st->drops += (uint64_t)(n - sent);
			else
				st->errors += (uint64_t)(n - sent);
			break;
		}
		for (i = sent; i < sent + ret; i++) {
			st->tx_bytes += segs[i].iov_len;
			r->tx_bytes += segs[i].iov_len;
		}
		st->tx_packets += (uint64_t)ret;
		r->tx_packets += (uint64_t)ret;
		sent += ret;
	}
	return sent;
}
