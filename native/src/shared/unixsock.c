/* unixsock.c - unix stream sockets: connect, and bytes with an attached
 * file descriptor, see unix(7) "Ancillary messages".
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <sys/un.h>
#include <unistd.h>

#include "unixsock.h"

/* fdsend_all() - send all @len bytes of @buf on @sock, with @fd (unless it
 * is negative) attached to the first byte. On a stream socket the rest of
 * a short write follows; a non-blocking @sock (one shared with the
 * caller's event loop) is polled for up to @timeout_ms (-1: no limit)
 * each time it is full. A stream socket needs at least one byte to carry
 * the fd, so @len must not be 0. MSG_NOSIGNAL: a peer gone is -EPIPE, not
 * SIGPIPE.
 * Return: 0 or -errno (-ETIMEDOUT: @sock stayed full, -EINVAL: @len is 0).
 */
int fdsend_all(int sock, const void *buf, size_t len, int fd, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	size_t off = 0;

	if (len == 0)
		return -EINVAL;
	while (off < len) {
		struct iovec iov = { .iov_base = (char *)buf + off, .iov_len = len - off };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (off == 0 && fd >= 0) {
			struct cmsghdr *c;

			memset(cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf;
			msg.msg_controllen = sizeof(cbuf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = sock, .events = POLLOUT };
			int ready = poll(&p, 1, timeout_ms);

			if (ready == 0)
				return -ETIMEDOUT;
			if (ready < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	do
		r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		close(s);
		return r;
	}
	return s;
}
