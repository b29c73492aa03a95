/* poll.c - readiness of fds that libuv must not read itself (control
 * connections that carry SCM_RIGHTS, the switch's event eventfd).
 *
 * Each poller is an epoll set and a thread of its own that waits on it. The
 * fds are registered EPOLLONESHOT (epoll_ctl(2)): one that fires is queued
 * and stays quiet until the caller re-arms it with cn_poll_rearm() after
 * handling it, so the thread never spins on input nobody has read yet and
 * never stops waiting for the other fds. When the queue goes from empty to
 * non-empty the thread writes one byte to a pipe whose read end the caller
 * hands to libuv (a net.Socket): the JavaScript side then takes the queue
 * with cn_poll_take(), runs the callbacks and re-arms. No wait ever holds one
 * of libuv's worker threads, and an fd re-armed with input left unread fires
 * again at once, which keeps the callers' level-triggered semantics.
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
#define POLL_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLONESHOT)

struct poller {
	int ep;		/* the watched fds, plus @wake */
	int wake;	/* eventfd: interrupts epoll_wait() when stopping */
	int notify;	/* pipe write end: a byte when @queue stops being empty */
	pthread_t thread;
	pthread_mutex_t lock;	/* guards the fields below */
	int *queue;	/* fired fds not yet taken, oldest first */
	int queued, cap;
	int error;	/* -errno of a failed epoll_wait(): the thread has ended */
	int stopping;
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

/* queue_push() - append @fd to @p's queue, growing it; called locked.
 * Each armed fd fires once, so the queue holds about as many entries as
 * there are watched fds (plus, rarely, one of an fd deleted meanwhile).
 * Return: 0, or -ENOMEM.
 */
static int queue_push(struct poller *p, int fd)
{
	if (p->queued == p->cap) {
		int cap = p->cap ? p->cap * 2 : 64;
		int *q = realloc(p->queue, (size_t)cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		p->queue = q;
		p->cap = cap;
	}
	p->queue[p->queued++] = fd;
	return 0;
}

/* poll_thread() - queue fired fds; notify when the queue was empty.
 * Return: NULL.
 */
static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct epoll_event evs[64];
	const char byte = 1;
	int n, i, was_empty, stop = 0;

	while (!stop) {
		n = epoll_wait(p->ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		pthread_mutex_lock(&p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		was_empty = p->queued == 0;
		if (n < 0) {
			p->error = -errno;
			stop = 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == p->wake)
				continue;
			if (queue_push(p, evs[i].data.fd) < 0) {
				p->error = -ENOMEM;
				stop = 1;
			}
		}
		if (was_empty && (p->queued || p->error) && write(p->notify, &byte, 1) < 0) {
			/* A byte is pending at most once per empty queue, so the
			 * pipe never fills; EPIPE (reader gone; SIGPIPE is blocked in
			 * this thread) only comes before a destroy. */
		}
		pthread_mutex_unlock(&p->lock);
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
	pthread_mutex_destroy(&p->lock);
	free(p->queue);
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
	pthread_mutex_init(&p->lock, NULL);
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
	if (!ret)
		pthread_setname_np(p->thread, "cn-poll"); /* in ps -L, /proc/PID/task/TID/comm */
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
	struct epoll_event e = { .events = POLL_EVENTS };
	struct poller *p = poller_get(h);

	if (!p)
		return -EBADF;
	e.data.fd = fd;
	return epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

int cn_poll_del(int h, int fd)
{
	struct poller *p = poller_get(h);
	int i, j, ret;

	if (!p)
		return -EBADF;
	ret = epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
	/* A queued entry would outlive the fd and could name its successor. */
	pthread_mutex_lock(&p->lock);
	for (i = j = 0; i < p->queued; i++)
		if (p->queue[i] != fd)
			p->queue[j++] = p->queue[i];
	p->queued = j;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int cn_poll_take(int h, int *fds, int max)
{
	struct poller *p = poller_get(h);
	int n, i;

	if (!p)
		return -EBADF;
	if (max < 0)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	n = p->queued < max ? p->queued : max;
	for (i = 0; i < n; i++)
		fds[i] = p->queue[i];
	for (i = n; i < p->queued; i++)
		p->queue[i - n] = p->queue[i];
	p->queued -= n;
	if (!n && p->error)
		n = p->error;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int cn_poll_rearm(int h, const int *fds, int n)
{
	struct epoll_event e = { .events = POLL_EVENTS };
	struct poller *p = poller_get(h);
	int i, armed = 0;

	if (!p)
		return -EBADF;
	for (i = 0; i < n; i++) {
		e.data.fd = fds[i];
		if (epoll_ctl(p->ep, EPOLL_CTL_MOD, fds[i], &e) == 0)
			armed++;
	}
	return armed;
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
	pthread_mutex_unlock(&p->lock);
	if (write(p->wake, &one, sizeof(one)) < 0) {
		/* a saturated counter wakes the thread anyway */
	}
	pthread_join(p->thread, NULL);
	poller_free(p);
	return 0;
}
