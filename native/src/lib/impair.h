/* impair.h - link impairments of one direction of a port: netem's model
 * (tc-netem(8)) inside the switch. Each frame gets its fate drawn (loss,
 * random or Gilbert-Elliott; duplication; corruption; reordering) and a
 * departure time (delay plus jitter from a distribution, after a token
 * bucket at the rate), and waits in a bounded FIFO of copies until then.
 *
 * The queue is a byte ring allocated once by impair_init() (no allocation
 * per frame): at most @limit frame bytes wait (or one frame of any size,
 * when the queue is empty); a frame that would pass the limit is dropped
 * and counted (@queue_drops). Departure times never go
 * backwards, so jitter does not reorder frames (as netem with a rate);
 * reordering is its own draw: a frame chosen for it leaves at once, ahead
 * of the queue (netem's `reorder`).
 *
 * Queue record states: QUEUED between impair_push() and the impair_pop()
 * that follows its release at @due_ns; nothing else. Not thread-safe: the
 * switch calls it under its lock.
 */
#ifndef IMPAIR_H
#define IMPAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "containet.h"
#include "vnet.h"

/* One queued frame; the frame's bytes follow it, 8-byte aligned. */
struct impair_rec {
	uint64_t due_ns;
	uint32_t len;
	int16_t remote;		/* VXLAN remote slot the frame came from or goes to, -1 */
	uint16_t wrap;		/* 1: no record here, the next one is at offset 0 */
	struct virtio_net_hdr_v1 hdr;
	uint8_t pad[4];
	uint8_t data[];
};

struct impair {
	/* Settings (CN_IMP_*), probabilities in parts per 10^9. */
	uint64_t delay_ns, jitter_ns, rate_bps, limit;
	uint32_t dist, loss, ge_p, ge_r, ge_bad, ge_good, dup, reorder, corrupt;
	int gilbert;
	/* Draws: xoshiro256** state, Gilbert-Elliott state (1: bad). */
	uint64_t rng[4];
	int ge_in_bad;
	/* Token bucket as virtual time: when the link is free again. */
	uint64_t t_free_ns, last_due_ns;
	uint64_t charge_ns;	/* the last frame's time on the link, until queued */
	/* The ring. */
	uint8_t *buf;
	size_t size, head, tail;
	uint32_t count;
	uint64_t bytes;		/* frame bytes queued */
	/* Counters. */
	uint64_t lost, queue_drops, duplicated, reordered, corrupted;
};

/* Fates impair_decide() draws. */
enum impair_fate {
	IMPAIR_LOSE = 0,	/* dropped (loss, or a GSO frame drawn for corruption) */
	IMPAIR_QUEUE = 1,	/* wait until *@due */
	IMPAIR_NOW = 2,		/* reordered: leaves at once, ahead of the queue */
};

/* impair_init() - settings from @params (@n values indexed by CN_IMP_*;
 * missing ones are 0) and an empty queue.
 * Return: 0, -EINVAL for a value out of range, -ENOMEM.
 */
int impair_init(struct impair *im, const uint64_t *params, int n);

/* impair_free() - release the ring.  Return: nothing. */
void impair_free(struct impair *im);

/* impair_decide() - draw the fate of a frame of @wire bytes on the wire
 * (GSO: all its segments) at @now_ns; for IMPAIR_QUEUE its departure in
 * *@due, how many copies to queue in *@copies (2: duplicated) and whether
 * to corrupt them in *@corrupt. @gso: the frame is a GSO frame.
 * Return: enum impair_fate.
 */
int impair_decide(struct impair *im, uint64_t now_ns, size_t wire, int gso, uint64_t *due, int *copies,
		  int *corrupt);

/* impair_push() - queue a copy of the frame in @iov (@niov pieces, @len
 * bytes) with header @h to leave at @due; corrupt it (one bit flipped,
 * after its partial checksum was finished) when @corrupt.
 * Return: 0, -ENOSPC when the queue is full (counted).
 */
int impair_push(struct impair *im, uint64_t due, int remote, const struct virtio_net_hdr_v1 *h,
		const struct iovec *iov, int niov, size_t len, int corrupt);

/* impair_peek() - the oldest queued record.  Return: it, or NULL. */
struct impair_rec *impair_peek(struct impair *im);

/* impair_pop() - drop the oldest record after it was sent.  Return: nothing. */
void impair_pop(struct impair *im);

/* impair_wire_bytes() - bytes frame @len with header @h puts on the wire:
 * a GSO frame as its segments, each with the headers repeated; their
 * number in *@segs.
 * Return: the bytes.
 */
size_t impair_wire_bytes(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len, size_t *segs);

#endif /* IMPAIR_H */
