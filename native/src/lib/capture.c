/* capture.c - pcap records on a non-blocking stream, see capture.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capfilter.h"
#include "capture.h"
#include "containet.h"

#define PEND_CAP (CAPTURE_REC_HDR + CN_FRAME_MAX)

/* out() - one non-blocking write of @iov.  Return: bytes written or -errno. */
static ssize_t out(struct capture *c, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	do
		r = c->is_sock ? sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) : writev(c->fd, iov, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int capture_open(struct capture *c, int fd, uint32_t snaplen)
{
	/* pcap global header: magic (microsecond timestamps), version 2.4,
	 * zone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET (1). */
	uint32_t hdr[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, snaplen, 1 };
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct stat st;
	int fl, sndbuf = 4 << 20;
	ssize_t r;

	if (snaplen < 64 || snaplen > 262144)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->is_sock = S_ISSOCK(st.st_mode);
	if (c->is_sock)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	c->pend = malloc(PEND_CAP);
	if (!c->pend)
		return -ENOMEM;
	c->fd = fd;
	c->snaplen = snaplen;
	r = out(c, &iov, 1);
	if (r != (ssize_t)sizeof(hdr)) {
		free(c->pend);
		c->fd = -1;
		return r < 0 ? (int)r : -EAGAIN;
	}
	/* On failure above, the filter stays waiting: the caller drops it. */
	c->filter = capfilter_take(fd);
	return 0;
}

/* flush() - send what is left of the previous record.
 * Return: 1 when nothing is pending any more, 0 otherwise.
 */
static int flush(struct capture *c)
{
	struct iovec iov;
	ssize_t r;

	if (c->pend_off == c->pend_len)
		return 1;
	iov.iov_base = c->pend + c->pend_off;
	iov.iov_len = c->pend_len - c->pend_off;
	r = out(c, &iov, 1);
	if (r < 0) {
		if (r != -EAGAIN && r != -ENOBUFS)
			c->dead_err = (int)-r;
		return 0;
	}
	c->pend_off += (size_t)r;
	return c->pend_off == c->pend_len;
}

void capture_frames(struct capture *c, const struct iovec *v, int n)
{
	struct timespec ts;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (i = 0; i < n && !c->dead_err; i++) {
		uint32_t len = (uint32_t)v[i].iov_len;
		uint32_t cap = len < c->snaplen ? len : c->snaplen;
		uint32_t rec[4] = { (uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), cap, len };
		struct iovec iov[2] = {
			{ .iov_base = rec, .iov_len = sizeof(rec) },
			{ .iov_base = v[i].iov_base, .iov_len = cap },
		};
		size_t total = sizeof(rec) + cap, done;
		ssize_t r;

		if (c->filter && !capfilter_match(c->filter, v[i].iov_base, v[i].iov_len))
			continue;
		if (!flush(c)) {
			c->dropped++;
			continue;
		}
		r = out(c, iov, 2);
		if (r < 0) {
			if (r != -EAGAIN && r != -ENOBUFS)
				c->dead_err = (int)-r;
			c->dropped++;
			continue;
		}
		c->written++;
		done = (size_t)r;
		if (done == total)
			continue;
		/* Keep the unsent tail so the stream stays whole. */
		c->pend_len = total - done;
		c->pend_off = 0;
		if (done < sizeof(rec)) {
			memcpy(c->pend, (uint8_t *)rec + done, sizeof(rec) - done);
			memcpy(c->pend + sizeof(rec) - done, v[i].iov_base, cap);
		} else {
			memcpy(c->pend, (uint8_t *)v[i].iov_base + (done - sizeof(rec)), c->pend_len);
		}
	}
}

void capture_close(struct capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->pend);
	c->pend = NULL;
	capfilter_free(c->filter);
	c->filter = NULL;
	c->fd = -1;
}

int cn_capture_pair(int *fds)
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}
