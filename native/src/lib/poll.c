/* poll.c - a small epoll set that JavaScript waits on through koffi's async
 * call path (a worker thread), for sockets libuv must not read itself, such
 * as control connections that carry SCM_RIGHTS.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "containet.h"

#define POLLERS_MAX 64

/* Each poller is an epoll fd and the eventfd that wakes it; the handle is
 * the index into this bounded table. */
static struct {
	int ep, ev;
} pollers[POLLERS_MAX];
static int pollers_used[POLLERS_MAX];
static pthread_mutex_t pollers_lock = PTHREAD_MUTEX_INITIALIZER;

/* poller_valid() - whether handle @h names a live poller.  Return: 1 or 0. */
static int poller_valid(int h)
{
	return h >= 0 && h < POLLERS_MAX && pollers_used[h];
}

int cn_poll_create(void)
{
	struct epoll_event e = { .events = EPOLLIN };
	int ep, ev, h;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev < 0) {
		int err = errno;

		close(ep);
		return -err;
	}
	e.data.fd = ev;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0) {
		int err = errno;

		close(ep);
		close(ev);
		return -err;
	}
	pthread_mutex_lock(&pollers_lock);
	for (h = 0; h < POLLERS_MAX && pollers_used[h]; h++)
		;
	if (h < POLLERS_MAX) {
		pollers_used[h] = 1;
		pollers[h].ep = ep;
		pollers[h].ev = ev;
	}
	pthread_mutex_unlock(&pollers_lock);
	if (h == POLLERS_MAX) {
		close(ep);
		close(ev);
		return -EMFILE;
	}
	return h;
}

int cn_poll_add(int h, int fd)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP };

	if (!poller_valid(h))
		return -EBADF;
	e.data.fd = fd;
	return epoll_ctl(pollers[h].ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

int cn_poll_del(int h, int fd)
{
	if (!poller_valid(h))
		return -EBADF;
	return epoll_ctl(pollers[h].ep, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

int cn_poll_wait(int h, int *fds, int max, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i, out = 0;

	if (!poller_valid(h))
		return -EBADF;
	if (max > 64)
		max = 64;
	n = epoll_wait(pollers[h].ep, evs, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (evs[i].data.fd == pollers[h].ev) {
			uint64_t v;

			if (read(pollers[h].ev, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			continue;
		}
		fds[out++] = evs[i].data.fd;
	}
	return out;
}

int cn_poll_wake(int h)
{
	uint64_t one = 1;

	if (!poller_valid(h))
		return -EBADF;
	return write(pollers[h].ev, &one, sizeof(one)) < 0 ? -errno : 0;
}

int cn_poll_destroy(int h)
{
	if (!poller_valid(h))
		return -EBADF;
	pthread_mutex_lock(&pollers_lock);
	close(pollers[h].ep);
	close(pollers[h].ev);
	pollers_used[h] = 0;
	pthread_mutex_unlock(&pollers_lock);
	return 0;
}
