/* switchlink.c - a detached container's switch ports, held by the
 * supervisor (switchlink.h). The control protocol is containet's
 * (packages/common/src/framing.ts): a 4-byte big-endian length and that
 * many bytes of JSON, the tap's fd attached to the length's first byte.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shared/unixsock.h"
#include "switchlink.h"

#define IO_TIMEOUT_MS	5000
#define RETRY_MIN_MS	100
#define RETRY_MAX_MS	1000

/* switchlink_init() - a DOWN link for tap @ifname (its fd comes later);
 * takes ownership of the three strings.
 */
void switchlink_init(struct switchlink *l, char *ifname, char *socket, char *request)
{
	l->ifname = ifname;
	l->socket = socket;
	l->request = request;
	l->tap = -1;
	l->conn = -1;
	l->state = SWITCHLINK_DOWN;
	l->retry_at = -1;
	l->backoff_ms = RETRY_MIN_MS;
}

/* Read exactly @len bytes, waiting at most IO_TIMEOUT_MS for each part.
 * Return: 0, -EPIPE at end of file, -ETIMEDOUT or -errno.
 */
static int read_full(int fd, char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int ready = poll(&p, 1, IO_TIMEOUT_MS);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return ready == 0 ? -ETIMEDOUT : -errno;
		n = read(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		off += (size_t)n;
	}
	return 0;
}

/* An error reply of our own, in the daemon's shape, for a switch we could not talk to. */
static void local_error(char *reply, unsigned long cap, const char *socket, int err)
{
	snprintf(reply, cap,
		 "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"CN_SWITCH_UNREACHABLE\","
		 "\"message\":\"cannot reach containet at %s: %s\"}}", socket, strerror(err));
}

/* switchlink_attach() - connect to the switch and attach the tap; on
 * success the connection is kept (UP).
 * Return: 0 attached, 1 refused by the switch, -errno when the switch
 * could not be reached or answered nothing; @reply holds the daemon's
 * reply (or one of ours in its shape) either way.
 */
int switchlink_attach(struct switchlink *l, char *reply, unsigned long cap)
{
	char *frame;
	size_t body, rlen;
	unsigned char hdr[4];
	int s, r;

	reply[0] = '\0';
	if (l->tap < 0) {
		local_error(reply, cap, l->socket, EBADF);
		return -EBADF;
	}
	s = unix_connect(l->socket);
	if (s < 0) {
		local_error(reply, cap, l->socket, -s);
		return s;
	}
	/* The caller's JSON ends with `}`: the pid goes in before it. */
	frame = malloc(strlen(l->request) + 48);
	if (!frame) {
		close(s);
		return -ENOMEM;
	}
	body = (size_t)sprintf(frame + 4, "%.*s,\"pid\":%d}", (int)strlen(l->request) - 1, l->request, (int)getpid());
	frame[0] = (char)(body >> 24);
	frame[1] = (char)(body >> 16);
	frame[2] = (char)(body >> 8);
	frame[3] = (char)body;
	r = fdsend_all(s, frame, body + 4, l->tap, IO_TIMEOUT_MS);
	free(frame);
	if (!r)
		r = read_full(s, (char *)hdr, 4);
	if (!r) {
		rlen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		r = rlen >= cap ? -EPROTO : read_full(s, reply, rlen);
		if (!r)
			reply[rlen] = '\0';
	}
	if (r) {
		close(s);
		local_error(reply, cap, l->socket, -r);
		return r;
	}
	if (!strstr(reply, "\"ok\":true")) {
		close(s);
		if (strstr(reply, "\"CN_DETACHED_PERMANENTLY\""))
			l->state = SWITCHLINK_GIVEN_UP;
		return 1;
	}
	l->conn = s;
	l->state = SWITCHLINK_UP;
	l->retry_at = -1;
	l->backoff_ms = RETRY_MIN_MS;
	return 0;
}

/* switchlink_readable() - the connection has something: the daemon sends
 * nothing unasked, so it is its end (the switch went away): DOWN, and a
 * first retry after RETRY_MIN_MS.
 */
void switchlink_readable(struct switchlink *l, long long now)
{
	char scratch[4096];
	ssize_t n = read(l->conn, scratch, sizeof(scratch));

	if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
		return;
	close(l->conn);
	l->conn = -1;
	l->state = SWITCHLINK_DOWN;
	l->backoff_ms = RETRY_MIN_MS;
	l->retry_at = now + l->backoff_ms;
}

/* switchlink_retry() - a DOWN link whose time has come attaches again;
 * refused or unreachable, it tries again later (backoff doubling to
 * RETRY_MAX_MS), except after a permanent refusal.
 */
void switchlink_retry(struct switchlink *l, long long now)
{
	char reply[SWITCHLINK_REPLY_MAX];

	if (l->state != SWITCHLINK_DOWN || l->retry_at < 0 || now < l->retry_at)
		return;
	if (switchlink_attach(l, reply, sizeof(reply)) == 0 || l->state == SWITCHLINK_GIVEN_UP) {
		l->retry_at = -1;
		return;
	}
	l->backoff_ms = l->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : l->backoff_ms * 2;
	l->retry_at = now + l->backoff_ms;
}

/* switchlink_close() - drop the connection (the switch drops the port) and our tap copy. */
void switchlink_close(struct switchlink *l)
{
	if (l->conn >= 0)
		close(l->conn);
	if (l->tap >= 0)
		close(l->tap);
	l->conn = l->tap = -1;
	l->state = SWITCHLINK_GIVEN_UP;
	l->retry_at = -1;
}
