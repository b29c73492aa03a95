/* impair.c - link impairments of one port direction, see impair.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "impair.h"

#define REC_HDR sizeof(struct impair_rec)
/* A token bucket of this much time: after a late wake-up the link catches
 * up to this far behind, so the average rate holds. The datapath is a
 * thread that a loaded machine can keep waiting for milliseconds (tbf runs
 * in softirq and needs less: tbf(8) asks for rate/HZ at least). */
#define RATE_BURST_NS 4000000ULL
/* Largest jitter draw, in standard deviations: netem's tables end near
 * there too (iproute2 netem/maketable.c scales to 4 sigma). */
#define DIST_CLAMP 8.0

/* splitmix64() - seeds xoshiro's state from one word (Vigna).  Return: next. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* rnd64() - xoshiro256** (Blackman and Vigna): fast, seedable, good enough
 * for loss draws.  Return: 64 random bits.
 */
static uint64_t rnd64(struct impair *im)
{
	uint64_t *s = im->rng, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* chance() - true with probability @ppb parts per 10^9.  Return: 0 or 1. */
static int chance(struct impair *im, uint32_t ppb)
{
	if (!ppb)
		return 0;
	if (ppb >= CN_PPB)
		return 1;
	return rnd64(im) % CN_PPB < ppb;
}

/* unit() - uniform in (0, 1).  Return: the draw. */
static double unit(struct impair *im)
{
	return ((double)(rnd64(im) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(struct impair *im)
{
	/* Box-Muller: one normal deviate from two uniform ones. */
	return sqrt(-2.0 * log(unit(im))) * cos(2.0 * M_PI * unit(im));
}

/* pareto() - Pareto of shape 3 scaled to mean 0 and deviation 1 (netem's
 * pareto table is a Pareto of shape 3 too, iproute2 netem/pareto.c).
 * Return: the draw.
 */
static double pareto(struct impair *im)
{
	const double a = 3.0, mean = a / (a - 1), sd = sqrt(a / ((a - 1) * (a - 1) * (a - 2)));

	return (pow(unit(im), -1.0 / a) - mean) / sd;
}

/* deviate() - a draw of the jitter distribution: mean 0, deviation 1
 * (uniform: -1..1, as netem's default).  Return: the draw.
 */
static double deviate(struct impair *im)
{
	double z;

	switch (im->dist) {
	case CN_DIST_NORMAL:
		z = normal(im);
		break;
	case CN_DIST_PARETO:
		z = pareto(im);
		break;
	case CN_DIST_PARETONORMAL:
		/* A quarter normal, three quarters Pareto, rescaled to
		 * deviation 1 (iproute2 netem/paretonormal.c mixes so). */
		z = (0.25 * normal(im) + 0.75 * pareto(im)) / sqrt(0.25 * 0.25 + 0.75 * 0.75);
		break;
	default:
		return 2.0 * unit(im) - 1.0;
	}
	return z > DIST_CLAMP ? DIST_CLAMP : z < -DIST_CLAMP ? -DIST_CLAMP : z;
}

int impair_init(struct impair *im, const uint64_t *params, int n)
{
	uint64_t v[CN_IMP_COUNT] = { 0 }, seed;
	int i;

	if (n < 0 || n > CN_IMP_COUNT)
		return -EINVAL;
	for (i = 0; i < n; i++)
		v[i] = params[i];
	memset(im, 0, sizeof(*im));
	for (i = CN_IMP_LOSS; i <= CN_IMP_CORRUPT; i++)
		if (i != CN_IMP_GILBERT && i != CN_IMP_RATE_BPS && i != CN_IMP_LIMIT && v[i] > CN_PPB)
			return -EINVAL;
	/* An hour of delay is surely a mistake; so is a rate below 8 bit/s. */
	if (v[CN_IMP_DELAY_NS] > 3600000000000ULL || v[CN_IMP_JITTER_NS] > 3600000000000ULL ||
	    v[CN_IMP_DIST] > CN_DIST_PARETONORMAL || v[CN_IMP_GILBERT] > 1 ||
	    (v[CN_IMP_RATE_BPS] && v[CN_IMP_RATE_BPS] < 8) || v[CN_IMP_LIMIT] > CN_IMP_LIMIT_MAX)
		return -EINVAL;
	im->delay_ns = v[CN_IMP_DELAY_NS];
	im->jitter_ns = v[CN_IMP_JITTER_NS];
	im->dist = (uint32_t)v[CN_IMP_DIST];
	im->loss = (uint32_t)v[CN_IMP_LOSS];
	im->gilbert = (int)v[CN_IMP_GILBERT];
	im->ge_p = (uint32_t)v[CN_IMP_GE_P];
	im->ge_r = (uint32_t)v[CN_IMP_GE_R];
	im->ge_bad = (uint32_t)v[CN_IMP_GE_BAD];
	im->ge_good = (uint32_t)v[CN_IMP_GE_GOOD];
	im->rate_bps = v[CN_IMP_RATE_BPS];
	im->limit = v[CN_IMP_LIMIT] ? v[CN_IMP_LIMIT] : CN_IMP_LIMIT_DEFAULT;
	if (!v[CN_IMP_LIMIT] && im->rate_bps) {
		/* A shaped link queues what it carries in its delay plus 20
		 * ms, as a router sized to its link would: a deeper queue only
		 * adds latency, a much shallower one drops TCP's bursts. */
		double t = (double)(im->delay_ns + 4 * im->jitter_ns + 20000000ULL) / 1e9;
		uint64_t l = (uint64_t)((double)im->rate_bps / 8 * t) + 2 * (CN_FRAME_MAX + 64);

		im->limit = l < CN_IMP_LIMIT_MAX ? l : CN_IMP_LIMIT_MAX;
	}
	im->dup = (uint32_t)v[CN_IMP_DUP];
	im->reorder = (uint32_t)v[CN_IMP_REORDER];
	im->corrupt = (uint32_t)v[CN_IMP_CORRUPT];
	seed = v[CN_IMP_SEED];
	if (!seed && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)im ^ 0x6a09e667f3bcc909ULL;
	for (i = 0; i < 4; i++)
		im->rng[i] = splitmix64(&seed);
	/* Room for @limit bytes of the smallest frames with their records,
	 * and for one record more of the largest frame wasted at the wrap. */
	im->size = (size_t)im->limit * 4 + 2 * (REC_HDR + CN_FRAME_MAX + 8);
	im->buf = malloc(im->size);
	return im->buf ? 0 : -ENOMEM;
}

void impair_free(struct impair *im)
{
	free(im->buf);
	im->buf = NULL;
	im->count = 0;
	im->bytes = 0;
}

size_t impair_wire_bytes(const struct virtio_net_hdr_v1 *h, const uint8_t *frame, size_t len, size_t *segs)
{
	size_t hl, payload;

	*segs = 1;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE || !h->gso_size)
		return len;
	/* csum_start is the TCP header (virtio 1.1 5.1.6.2), its data offset
	 * its length: every segment repeats the headers. */
	hl = h->csum_start;
	if (hl + 20 > len)
		return len;
	hl += (frame[hl + 12] >> 4) * 4u;
	if (hl >= len)
		return len;
	payload = len - hl;
	*segs = (payload + h->gso_size - 1) / h->gso_size;
	return len + (*segs - 1) * hl;
}

/* lose() - the loss draw: Gilbert-Elliott as netem's loss_gilbert_elliot()
 * (the state's loss, then the transition), else random.  Return: 1 to lose.
 */
static int lose(struct impair *im)
{
	int lost;

	if (!im->gilbert)
		return chance(im, im->loss);
	if (im->ge_in_bad) {
		lost = chance(im, im->ge_bad);
		if (chance(im, im->ge_r))
			im->ge_in_bad = 0;
	} else {
		lost = chance(im, im->ge_good);
		if (chance(im, im->ge_p))
			im->ge_in_bad = 1;
	}
	return lost;
}

int impair_decide(struct impair *im, uint64_t now_ns, size_t wire, int gso, uint64_t *due, int *copies,
		  int *corrupt)
{
	uint64_t depart = now_ns, d;
	double delay;

	if (lose(im)) {
		im->lost++;
		return IMPAIR_LOSE;
	}
	*corrupt = chance(im, im->corrupt);
	if (*corrupt && gso) {
		/* The receiver trusts a GSO frame's partial checksum, so a
		 * flipped bit would reach the application; one bad segment
		 * would be dropped by its checksum instead: drop it whole. */
		im->corrupted++;
		im->lost++;
		return IMPAIR_LOSE;
	}
	*copies = 1 + chance(im, im->dup);
	if (im->reorder && im->count && chance(im, im->reorder)) {
		im->reordered++;
		return IMPAIR_NOW;
	}
	if (im->rate_bps) {
		if (im->t_free_ns + RATE_BURST_NS < now_ns)
			im->t_free_ns = now_ns - RATE_BURST_NS;
		if (im->t_free_ns > now_ns)
			depart = im->t_free_ns;
		/* Taken now; given back by impair_push() if the queue refuses. */
		im->charge_ns = (uint64_t)((double)wire * 8e9 / (double)im->rate_bps);
		im->t_free_ns += im->charge_ns;
	}
	delay = (double)im->delay_ns;
	if (im->jitter_ns)
		delay += (double)im->jitter_ns * deviate(im);
	d = delay > 0 ? (uint64_t)delay : 0;
	*due = depart + d;
	if (*due < im->last_due_ns)
		*due = im->last_due_ns;
	return IMPAIR_QUEUE;
}

/* rec_size() - ring bytes of a record of a @len-byte frame.  Return: it. */
static size_t rec_size(size_t len)
{
	return (REC_HDR + len + 7) & ~(size_t)7;
}

/* ring_take() - the offset for a record of @need bytes, or -1 when the
 * ring has no room (head/tail: oldest record, next free byte; a record
 * never wraps: the end is skipped with a wrap mark).  Return: offset or -1.
 */
static long ring_take(struct impair *im, size_t need)
{
	if (!im->count)
		im->head = im->tail = 0;
	else if (im->tail == im->head)
		return -1; /* full to the byte */
	if (im->tail > im->head) {
		if (im->size - im->tail >= need)
			return (long)im->tail;
		if (im->head < need)
			return -1;
		if (im->size - im->tail >= REC_HDR)
			((struct impair_rec *)(im->buf + im->tail))->wrap = 1;
		im->tail = 0;
		return 0;
	}
	if (!im->count)
		return im->size >= need ? 0 : -1;
	return im->head - im->tail >= need ? (long)im->tail : -1;
}

int impair_push(struct impair *im, uint64_t due, int remote, const struct virtio_net_hdr_v1 *h,
		const struct iovec *iov, int niov, size_t len, int corrupt)
{
	size_t need = rec_size(len), at = 0;
	struct impair_rec *r;
	long off;
	int i;

	/* An empty queue takes any frame, so a GSO frame larger than a small
	 * limit passes as its segments would through tbf (which segments
	 * what exceeds its burst) instead of never. */
	if ((im->bytes && im->bytes + len > im->limit) || (off = ring_take(im, need)) < 0) {
		im->queue_drops++;
		im->t_free_ns -= im->charge_ns;
		im->charge_ns = 0;
		return -ENOSPC;
	}
	r = (struct impair_rec *)(im->buf + off);
	r->due_ns = due;
	r->len = (uint32_t)len;
	r->remote = (int16_t)remote;
	r->wrap = 0;
	r->hdr = *h;
	for (i = 0; i < niov; i++) {
		memcpy(r->data + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	im->charge_ns = 0; /* a duplicate is not charged again */
	im->tail = (size_t)off + need;
	im->count++;
	im->bytes += len;
	im->last_due_ns = due;
	if (corrupt && len) {
		/* As netem: finish a partial checksum first, so the flipped
		 * bit is one the receiver can detect. */
		if (vnet_csum_complete(&r->hdr, r->data, len) == 0) {
			uint64_t x = rnd64(im);

			r->data[(x >> 8) % len] ^= (uint8_t)(1u << (x & 7));
			im->corrupted++;
		}
	}
	return 0;
}

struct impair_rec *impair_peek(struct impair *im)
{
	struct impair_rec *r;

	if (!im->count)
		return NULL;
	if (im->size - im->head < REC_HDR || ((struct impair_rec *)(im->buf + im->head))->wrap)
		im->head = 0;
	r = (struct impair_rec *)(im->buf + im->head);
	return r;
}

void impair_pop(struct impair *im)
{
	struct impair_rec *r = impair_peek(im);

	if (!r)
		return;
	im->bytes -= r->len;
	im->head += rec_size(r->len);
	if (!--im->count)
		im->head = im->tail = 0;
}
