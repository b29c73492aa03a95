/* uring.h - the datapath's io_uring (io_uring(7), liburing): one ring per
 * switch, a ring of provided buffers that tap reads land in, and reads and
 * writes queued during a round and handed to the kernel with one
 * io_uring_enter(2).
 *
 * Why: a tap gives one frame per read(2) and takes one per write(2). Here
 * a round submits a batch of non-blocking reads per readable tap (each
 * takes a provided buffer only if a frame is there) together with the
 * writes of the frames the previous round read: one system call per round
 * instead of two per frame. Frames are written from the buffer they were
 * read into: no copy beyond the two the tap does anyway.
 *
 * Reads carry RWF_NOWAIT and so complete at once, with a frame or -EAGAIN;
 * they never wait armed on a tap. An armed request (a multishot read,
 * IORING_OP_READ_MULTISHOT of Linux 6.7) would hold the tap's file until
 * the ring is torn down, which after a crash happens in a kernel worker
 * 5-12 ms after the process is gone (measured here): a daemon restarted at
 * once then finds its tap names busy.
 *
 * Buffer states (index @bid, 0..@nbufs-1):
 *   RING  in the provided-buffer ring: a read may fill it.
 *   HELD  a read completed into it; @refs[bid] counts the datapath's own
 *         hold while it forwards plus each write of it not yet completed.
 *         uring_buf_put() drops one; at zero the buffer goes back to RING.
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
	URING_READ = 1,		/* a read of a tap port, index: its slot */
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
	struct io_uring_buf_ring *br;
	uint8_t *mem;		/* @nbufs buffers of @buf_size bytes */
	size_t buf_size;
	unsigned int nbufs;	/* power of two */
	uint16_t *refs;		/* per buffer: 0 in RING, else HELD */
	unsigned int held;	/* buffers out of the ring */
	unsigned int queued;	/* SQEs prepared since the last submit */
};

/* uring_init() - set up the ring (@entries SQEs, 8x as many CQEs) and
 * register @nbufs provided buffers of @buf_size bytes as buffer group 0
 * (a buffer ring, Linux 5.19).
 * Return: 0, -ENOSYS/-EPERM when io_uring is unavailable or disabled
 * (kernel.io_uring_disabled, a seccomp filter), -EOPNOTSUPP when the
 * kernel lacks what the datapath needs, or -errno.
 */
int uring_init(struct uring *u, unsigned int entries, unsigned int nbufs, size_t buf_size);

/* uring_free() - tear down the ring (cancelling what is armed) and free the
 * buffers.  Return: nothing.
 */
void uring_free(struct uring *u);

/* uring_read_nowait() - queue a read of one frame from @fd into a
 * provided buffer that completes at once (RWF_NOWAIT): with the frame, or
 * -EAGAIN when there is none (-EOPNOTSUPP from a kernel whose tun lacks
 * non-blocking reads for io_uring).
 * Return: 0, or -EBUSY when the submission queue is full even after a
 * submit.
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

/* uring_buf_hold() - mark buffer @bid HELD by the reader (refs 1), as a
 * read completion into it is taken.  Return: nothing.
 */
void uring_buf_hold(struct uring *u, unsigned int bid);

/* uring_buf_put() - drop one reference to buffer @bid; the last returns it
 * to the ring.  Return: nothing.
 */
void uring_buf_put(struct uring *u, unsigned int bid);

#endif /* URING_H */
