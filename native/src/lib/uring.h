/* uring.h - the datapath's io_uring (io_uring(7), liburing): one ring per
 * switch, a ring of provided buffers that tap reads land in, and reads and
 * writes queued during a round and handed to the kernel with one
 * io_uring_enter(2).
 *
 * Why: a tap gives one frame per read(2) and takes one per write(2). Here
 * a round submits a batch of non-blocking reads per readable tap together
 * with the writes of the frames the previous round read: one system call
 * per round instead of two per frame. Frames are written from the buffer
 * they were read into: no copy beyond the two the tap does anyway.
 *
 * Buffers are the datapath's own, taken last-freed-first for each read: a
 * stream cycles through the few buffers in flight, which stay in the
 * core's cache for both copies (the tap's into the buffer and out of it).
 * A kernel-provided buffer ring hands them out first-in-first-out: 64 KiB
 * GSO frames then walk through all of them (4 MiB, more than this
 * machine's L2) and each copy misses.
 *
 * Reads carry RWF_NOWAIT and so complete at once, with a frame or -EAGAIN;
 * they never wait armed on a tap. An armed request (a multishot read,
 * IORING_OP_READ_MULTISHOT of Linux 6.7) would hold the tap's file until
 * the ring is torn down, which after a crash happens in a kernel worker
 * 5-12 ms after the process is gone (measured here): a daemon restarted at
 * once then finds its tap names busy.
 *
 * Buffer states (index @bid, 0..@nbufs-1):
 *   FREE  on the @free stack: the next read may take it.
 *   READ  a read into it is queued or in flight (@refs[bid] 1, its tag
 *         in @rtag[bid]).
 *   HELD  the read completed with a frame; @refs[bid] counts the
 *         datapath's own hold while it forwards (the read's reference,
 *         taken over) plus each write of it not yet completed.
 *         uring_buf_put() drops one; at zero the buffer is FREE again,
 *         on top of the stack.
 *
 * Not thread-safe: the switch's datapath thread alone uses its ring.
 */
#ifndef URING_H
#define URING_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* user_data: kind in bits 0..7, index (port slot or write slot) in
 * 8..31, generation in 32..63. */
enum uring_kind {
	URING_READ = 1,		/* a read, index: its buffer (@rtag: the caller's tag) */
	URING_WRITE = 2,	/* a frame write, index: its write slot */
};

static inline uint64_t uring_tag(enum uring_kind kind, uint32_t index, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)(index & 0xffffff) << 8 | (uint64_t)kind;
}

#define URING_KIND(tag)  ((enum uring_kind)((tag) & 0xff))
#define URING_INDEX(tag) ((uint32_t)((tag) >> 8) & 0xffffff)
#define URING_GEN(tag)   ((uint32_t)((tag) >> 32))

struct uring {
	struct io_uring ring;
	uint8_t *mem;		/* @nbufs buffers of @buf_size bytes */
	size_t buf_size;
	unsigned int nbufs;
	uint16_t *refs;		/* per buffer: 0 FREE, else READ or HELD */
	uint16_t *free;		/* stack of FREE buffers, @nfree of them */
	unsigned int nfree;
	uint64_t *rtag;		/* per READ buffer: the tag its read was given */
	unsigned int queued;	/* SQEs prepared since the last submit */
};

/* uring_init() - set up the ring (@entries SQEs, 8x as many CQEs) and
 * @nbufs buffers of @buf_size bytes for reads.
 * Return: 0, -ENOSYS/-EPERM when io_uring is unavailable or disabled
 * (kernel.io_uring_disabled, a seccomp filter), -EOPNOTSUPP when the
 * kernel lacks what the datapath needs, or -errno.
 */
int uring_init(struct uring *u, unsigned int entries, unsigned int nbufs, size_t buf_size);

/* uring_free() - tear down the ring (cancelling what is armed) and free the
 * buffers.  Return: nothing.
 */
void uring_free(struct uring *u);

/* uring_read_nowait() - queue a read of one frame from @fd into the
 * most recently freed buffer that completes at once (RWF_NOWAIT): with the
 * frame, or -EAGAIN when there is none (-EOPNOTSUPP from a kernel whose
 * tun lacks non-blocking reads for io_uring). Its completion's tag is
 * URING_READ with the buffer as index; @tag is kept in @rtag[bid]. The
 * buffer is READ until the completion is handled: the handler takes it
 * over as HELD, or puts it back (uring_buf_put()) when no frame came.
 * Return: 0, -ENOBUFS when every buffer is taken, or -EBUSY when the
 * submission queue is full even after a submit.
 */
int uring_read_nowait(struct uring *u, int fd, uint64_t tag);

/* uring_writev() - queue a write of @n iovecs to @fd that completes at
 * once (RWF_NOWAIT: -EAGAIN rather than waiting for room); @iov must stay
 * valid until its completion.  Return: 0, or -EBUSY.
 */
int uring_writev(struct uring *u, int fd, const struct iovec *iov, int n, uint64_t tag);

/* uring_submit() - hand every queued request to the kernel.
 * Return: number submitted, or -errno.
 */
int uring_submit(struct uring *u);

/* uring_buf() - address of buffer @bid.  Return: the address. */
static inline uint8_t *uring_buf(const struct uring *u, unsigned int bid)
{
	return u->mem + (size_t)bid * u->buf_size;
}

/* uring_buf_put() - drop one reference to buffer @bid; the last returns it
 * to the ring.  Return: nothing.
 */
void uring_buf_put(struct uring *u, unsigned int bid);

#endif /* URING_H */
