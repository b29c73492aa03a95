/* fdpass.c - message bodies with an attached file descriptor (SCM_RIGHTS)
 * over unix stream sockets, see unix(7) "Ancillary messages".
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "containet.h"
#include "shared/unixsock.h"

long cn_fd_send(int sock, const uint8_t *buf, size_t len, int fd, int timeout_ms)
{
	int r = fdsend_all(sock, buf, len, fd, timeout_ms);

	return r < 0 ? r : (long)len;
}

long cn_fd_recv(int sock, uint8_t *buf, size_t cap, int *fd_out)
{
	/* Room for a few fds so that a peer sending several cannot make us
	 * lose track of them: all but the first are closed below. */
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd_out = -1;
	do
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfd, i;
		int fds[8];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 8)
			nfd = 8;
		memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
		for (i = 0; i < nfd; i++) {
			if (*fd_out < 0)
				*fd_out = fds[i];
			else
				close(fds[i]);
		}
	}
	/* MSG_CTRUNC: the kernel dropped fds that did not fit; they are
	 * already closed by the kernel, nothing leaks. */
	return (long)n;
}

int cn_fd_close(int fd)
{
	return close(fd) ? -errno : 0;
}

int cn_fd_dup(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? -errno : n;
}

int cn_unix_connect(const char *path)
{
	return unix_connect(path);
}

int cn_peer_cred(int sock, int *pid, int *uid, int *gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*pid = cr.pid;
	*uid = (int)cr.uid;
	*gid = (int)cr.gid;
	return 0;
}
