/* uring.c - the datapath's io_uring, see uring.h and io_uring(7).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "uring.h"

int uring_init(struct uring *u, unsigned int entries, unsigned int nbufs, size_t buf_size)
{
	struct io_uring_params p;
	struct io_uring_probe *probe;
	unsigned int i;
	int ret;

	memset(u, 0, sizeof(*u));
	if (nbufs == 0 || nbufs > 65536)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	/* Completions of a whole round must fit (IORING_SETUP_CQSIZE,
	 * io_uring_setup(2)); with COOP_TASKRUN the kernel does not
	 * interrupt the thread for completion work, it runs at the next
	 * io_uring_enter(2), which comes at once. */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
	p.cq_entries = entries * 8;
	ret = io_uring_queue_init_params(entries, &u->ring, &p);
	if (ret == -EINVAL) {
		/* COOP_TASKRUN is Linux 5.19: without it, interrupts. */
		p.flags &= ~IORING_SETUP_COOP_TASKRUN;
		ret = io_uring_queue_init_params(entries, &u->ring, &p);
	}
	if (ret < 0)
		return ret;
	probe = io_uring_get_probe_ring(&u->ring);
	if (!probe) {
		ret = -EOPNOTSUPP;
		goto fail_ring;
	}
	ret = io_uring_opcode_supported(probe, IORING_OP_READ) &&
	      io_uring_opcode_supported(probe, IORING_OP_WRITEV) ? 0 : -EOPNOTSUPP;
	io_uring_free_probe(probe);
	if (ret < 0)
		goto fail_ring;

	u->nbufs = nbufs;
	u->buf_size = buf_size;
	u->refs = calloc(nbufs, sizeof(*u->refs));
	u->free = calloc(nbufs, sizeof(*u->free));
	u->rtag = calloc(nbufs, sizeof(*u->rtag));
	if (!u->refs || !u->free || !u->rtag || posix_memalign((void **)&u->mem, 4096, (size_t)nbufs * buf_size)) {
		ret = -ENOMEM;
		goto fail_mem;
	}
	/* Pushed so that buffer 0 is taken first. */
	for (i = 0; i < nbufs; i++)
		u->free[i] = (uint16_t)(nbufs - 1 - i);
	u->nfree = nbufs;
	return 0;

fail_mem:
	free(u->refs);
	free(u->free);
	free(u->rtag);
	free(u->mem);
fail_ring:
	io_uring_queue_exit(&u->ring);
	memset(u, 0, sizeof(*u));
	return ret;
}

void uring_free(struct uring *u)
{
	if (!u->nbufs)
		return;
	io_uring_queue_exit(&u->ring);
	free(u->refs);
	free(u->free);
	free(u->rtag);
	free(u->mem);
	memset(u, 0, sizeof(*u));
}

/* sqe_get() - a free SQE, submitting what is queued if the queue is full.
 * Return: the SQE, or NULL.
 */
static struct io_uring_sqe *sqe_get(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		uring_submit(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (sqe)
		u->queued++;
	return sqe;
}

int uring_read_nowait(struct uring *u, int fd, uint64_t tag)
{
	struct io_uring_sqe *sqe;
	unsigned int bid;

	if (!u->nfree)
		return -ENOBUFS;
	sqe = sqe_get(u);
	if (!sqe)
		return -EBUSY;
	bid = u->free[--u->nfree];
	u->refs[bid] = 1;
	u->rtag[bid] = tag;
	io_uring_prep_read(sqe, fd, uring_buf(u, bid), (unsigned int)u->buf_size, (uint64_t)-1);
	sqe->rw_flags = RWF_NOWAIT;
	io_uring_sqe_set_data64(sqe, uring_tag(URING_READ, bid, 0));
	return 0;
}

int uring_writev(struct uring *u, int fd, const struct iovec *iov, int n, uint64_t tag)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return -EBUSY;
	/* Offset -1: the file's position, as write(2) on a tap uses. */
	io_uring_prep_writev(sqe, fd, iov, (unsigned int)n, (uint64_t)-1);
	sqe->rw_flags = RWF_NOWAIT;
	io_uring_sqe_set_data64(sqe, tag);
	return 0;
}

int uring_submit(struct uring *u)
{
	int ret;

	if (!u->queued)
		return 0;
	do
		ret = io_uring_submit(&u->ring);
	while (ret == -EINTR);
	if (ret >= 0)
		u->queued = 0;
	return ret;
}

void uring_buf_put(struct uring *u, unsigned int bid)
{
	if (!u->refs[bid] || --u->refs[bid])
		return;
	u->free[u->nfree++] = (uint16_t)bid;
}
