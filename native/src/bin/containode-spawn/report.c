/* report.c - control socket (caller <-> spawner) and report socket
 * (init -> spawner). Both carry short text messages, optionally with one fd
 * attached as SCM_RIGHTS (unix(7)).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "report.h"
#include "shared/unixsock.h"

/* ctl_connect() - connect to the caller's socket; "@name" is an abstract
 * address (unix(7): sun_path[0] == 0). Abstract names are compared with
 * their length: libuv (Node 20) binds them padded with NULs to the whole
 * sun_path, other callers bind the exact name, so both lengths are tried.
 * Return: socket fd (close-on-exec), or -errno.
 */
int ctl_connect(const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(addr);
	socklen_t lens[2];
	int fd, i, err = ECONNREFUSED;

	if (n == 0 || n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, addr, n);
	lens[0] = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	lens[1] = 0;
	if (addr[0] == '@') {
		sa.sun_path[0] = '\0';
		lens[0] = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		lens[1] = (socklen_t)sizeof(sa);
	}
	for (i = 0; i < 2 && lens[i]; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, lens[i]) == 0)
			return fd;
		err = errno;
		close(fd);
	}
	return -err;
}

/* ctl_readline() - next '\n'-terminated line from @fd into *@line (NUL
 * terminated, without the newline). The pointer is valid until the next call.
 * Return: 1 with a line, 0 at end of stream, -errno (-E2BIG: line too long).
 */
int ctl_readline(struct linebuf *lb, int fd, char **line)
{
	char *nl;
	ssize_t n;

	if (lb->skip) {
		memmove(lb->buf, lb->buf + lb->skip, lb->len - lb->skip);
		lb->len -= lb->skip;
		lb->skip = 0;
	}
	for (;;) {
		nl = memchr(lb->buf, '\n', lb->len);
		if (nl) {
			*nl = '\0';
			*line = lb->buf;
			lb->skip = (size_t)(nl - lb->buf) + 1;
			return 1;
		}
		if (lb->len == sizeof(lb->buf))
			return -E2BIG;
		n = read(fd, lb->buf + lb->len, sizeof(lb->buf) - lb->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		lb->len += (size_t)n;
	}
}

/* ctl_send() - send the text @msg (with its '\n') and optionally @pass_fd.
 * Return: 0 or -errno.
 */
int ctl_send(int fd, const char *msg, int pass_fd)
{
	return fdsend_all(fd, msg, strlen(msg), pass_fd, -1);
}

/* ctl_sendf() - printf-style ctl_send().  Return: 0 or -errno. */
int ctl_sendf(int fd, int pass_fd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -E2BIG;
	return ctl_send(fd, msg, pass_fd);
}

/* Escape a field for the wire: backslash, tab and newline. */
static size_t put_field(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 2 < cap; s++) {
		if (*s == '\\' || *s == '\t' || *s == '\n') {
			out[o++] = '\\';
			out[o++] = *s == '\\' ? '\\' : *s == '\t' ? 't' : 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return o;
}

/* fmt_error() - "error\tERRNO\tSTEP\tDETAIL\n" into @out.
 * Return: its length.
 */
int fmt_error(char *out, size_t cap, int err, const char *step, const char *detail)
{
	char d[512];

	put_field(d, sizeof(d), detail ? detail : "");
	return snprintf(out, cap, "error\t%d\t%s\t%s\n", err < 0 ? -err : err, step, d);
}

/* report_send() - one SOCK_SEQPACKET message from the init.
 * Return: 0 or -errno.
 */
int report_send(int sock, const char *msg, int pass_fd)
{
	return fdsend_all(sock, msg, strlen(msg), pass_fd, -1);
}

/* report_fail() - tell the spawner that @step failed with @err. */
void report_fail(int sock, int err, const char *step, const char *detail)
{
	char msg[700];

	fmt_error(msg, sizeof(msg), err, step, detail);
	report_send(sock, msg, -1);
}

/* report_recv() - one message (NUL terminated) and its fd, if any.
 * Return: length (0 at end of stream), or -errno.
 */
long report_recv(int sock, char *buf, size_t cap, int *fd_out)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd_out = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int fds[4], i;

			memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)(nfd > 4 ? 4 : nfd));
			for (i = 0; i < nfd && i < 4; i++) {
				if (*fd_out < 0)
					*fd_out = fds[i];
				else
					close(fds[i]);
			}
		}
	}
	return n;
}
