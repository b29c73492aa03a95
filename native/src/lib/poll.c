/* poll.c - readiness of fds that libuv must not read itself (control
 * connections that carry SCM_RIGHTS, the switch's event eventfd).
 *
 * Each poller is an epoll set and a thread of its own that waits on it. When
 * fds are ready the thread writes one byte to a pipe whose read end the
 * caller hands to libuv (a net.Socket), then waits until cn_poll_arm(): the
 * JavaScript side collects the ready fds with a non-blocking cn_poll_wait(),
 * runs their callbacks and re-arms. So no wait ever holds one of libuv's
 * worker threads, level-triggered fds left unread wake the thread again at
 * once after the re-arm, and a notification is never more than one byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "containet.h"

#define POLLERS_MAX 64
#define POLL_STACK (64 * 1024)

/* States of a poller's thread, guarded by @lock:
 *   armed && !stopping:  in (or entering) epoll_wait() on @ep
 *   !armed && !stopping: it notified; waits on @cond for cn_poll_arm()
 *   stopping:            leaves its loop; cn_poll_destroy() joins it
 */
struct poller {
	int ep;		/* the watched fds, plus @wake */
	int wake;	/* eventfd: interrupts epoll_wait() when stopping */
	int notify;	/* pipe write end: one byte per round of readiness */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int armed, stopping;
};

/* The handle is the index into this bounded table. */
static struct poller *pollers[POLLERS_MAX];
static pthread_mutex_t pollers_lock = PTHREAD_MUTEX_INITIALIZER;

/* poller_get() - the live poller named by handle @h.
 * Return: the poller, or NULL.
 */
static struct poller *poller_get(int h)
{
	struct poller *p = NULL;

	pthread_mutex_lock(&pollers_lock);
	if (h >= 0 && h < POLLERS_MAX)
		p = pollers[h];
	pthread_mutex_unlock(&pollers_lock);
	return p;
}

/* poll_thread() - wait while armed; on readiness disarm and notify once.
 * Return: NULL.
 */
static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct epoll_event evs[8];
	const char byte = 1;
	int n, i, ready;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->armed && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		pthread_mutex_unlock(&p->lock);

		n = epoll_wait(p->ep, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			n = 1, evs[0].data.fd = -1; /* let the caller's cn_poll_wait() report it */
		for (i = 0, ready = 0; i < n; i++)
			if (evs[i].data.fd != p->wake)
				ready = 1;
		if (!ready)
			continue; /* woken to stop, or EINTR */

		pthread_mutex_lock(&p->lock);
		p->armed = 0;
		pthread_mutex_unlock(&p->lock);
		if (write(p->notify, &byte, 1) < 0) {
			/* At most one byte is unread per round, so the pipe never
			 * fills; EPIPE (reader gone; SIGPIPE is blocked in this
			 * thread) only comes before a destroy. */
		}
	}
	return NULL;
}

/* poller_free() - close what cn_poll_create() opened, free @p. */
static void poller_free(struct poller *p)
{
	if (p->ep >= 0)
		close(p->ep);
	if (p->wake >= 0)
		close(p->wake);
	if (p->notify >= 0)
		close(p->notify);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int cn_poll_create(int *notify_fd)
{
	struct epoll_event e = { .events = EPOLLIN };
	sigset_t all, old;
	pthread_attr_t attr;
	struct poller *p;
	int pipefd[2], h, ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ep = p->wake = p->notify = -1;
	p->armed = 1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->ep < 0 || p->wake < 0)
		goto fail_errno;
	e.data.fd = p->wake;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, p->wake, &e) < 0)
		goto fail_errno;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		goto fail_errno;
	p->notify = pipefd[1];

	pthread_mutex_lock(&pollers_lock);
	for (h = 0; h < POLLERS_MAX && pollers[h]; h++)
		;
	if (h < POLLERS_MAX)
		pollers[h] = p;
	pthread_mutex_unlock(&pollers_lock);
	if (h == POLLERS_MAX) {
		ret = -EMFILE;
		goto fail_pipe;
	}

	/* Signals stay with the threads Node owns (its handlers run there);
	 * the new thread inherits this mask (pthread_sigmask(3)). */
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, POLL_STACK);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&p->thread, &attr, poll_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret) {
		pthread_mutex_lock(&pollers_lock);
		pollers[h] = NULL;
		pthread_mutex_unlock(&pollers_lock);
		goto fail_pipe;
	}
	*notify_fd = pipefd[0];
	return h;

fail_errno:
	ret = -errno;
	poller_free(p);
	return ret;
fail_pipe:
	close(pipefd[0]);
	poller_free(p);
	return ret;
}

int cn_poll_add(int h, int fd)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP };
	struct poller *p = poller_get(h);

	if (!p)
		return -EBADF;
	e.data.fd = fd;
	return epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

int cn_poll_del(int h, int fd)
{
	struct poller *p = poller_get(h);

	if (!p)
		return -EBADF;
	return epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

int cn_poll_wait(int h, int *fds, int max, int timeout_ms)
{
	struct epoll_event evs[64];
	struct poller *p = poller_get(h);
	int n, i, out = 0;

	if (!p)
		return -EBADF;
	if (max > 64)
		max = 64;
	if (max < 1)
		return -EINVAL;
	n = epoll_wait(p->ep, evs, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++)
		if (evs[i].data.fd != p->wake)
			fds[out++] = evs[i].data.fd;
	return out;
}

int cn_poll_arm(int h)
{
	struct poller *p = poller_get(h);

	if (!p)
		return -EBADF;
	pthread_mutex_lock(&p->lock);
	p->armed = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int cn_poll_destroy(int h)
{
	struct poller *p = NULL;
	uint64_t one = 1;

	pthread_mutex_lock(&pollers_lock);
	if (h >= 0 && h < POLLERS_MAX) {
		p = pollers[h];
		pollers[h] = NULL;
	}
	pthread_mutex_unlock(&pollers_lock);
	if (!p)
		return -EBADF;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (write(p->wake, &one, sizeof(one)) < 0) {
		/* a saturated counter wakes the thread anyway */
	}
	pthread_join(p->thread, NULL);
	poller_free(p);
	return 0;
}
