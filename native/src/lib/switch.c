/* switch.c - the L2 switch: a datapath thread per switch forwarding frames
 * between tap ports with MAC learning, and the cn_switch_* calls the
 * control plane uses (containet.h).
 *
 * Locking: one mutex per switch. The datapath takes it after each
 * epoll_wait() for the whole batch of ready ports (each port read at most
 * RX_BUDGET times per batch, so the hold is bounded) and never while
 * waiting; control calls take it briefly. Per-frame work therefore sees no
 * lock traffic, and a port can't disappear under the datapath's feet: epoll
 * events carry slot and generation, and a stale pair is ignored. Handles
 * are looked up under switches_lock; a switch must not be destroyed while
 * another thread still calls into it (the control plane is one thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "containet.h"
#include "gro.h"
#include "impair.h"
#include "mactable.h"
#include "port.h"
#include "uring.h"
#include "vnet.h"
#include "vxlan.h"

#define SWITCHES_MAX 16
#define RX_BUDGET 64		/* frames per port per batch: fairness */
#define EVQ_LEN 4096		/* queued events (power of two) */
#define EVQ_PORT_RESERVE 64	/* slots only port-down events may use */
#define SEG_MAX 1024		/* segments per GSO frame (MSS >= 64) */
#define SEG_CAP (CN_FRAME_MAX + SEG_MAX * 128)
#define CAPTURES_MAX 16
/* io_uring datapath (uring.h): ring size, read buffers (each a vnet
 * header and the largest frame plus the byte that tells a cut read), and
 * writes in flight; a write that finds no slot is done synchronously. */
#define URING_ENTRIES 512
#define URING_BUFS 64
#define URING_BUF_SIZE (((size_t)VNET_HDR_LEN + CN_FRAME_MAX + 1 + 4095) & ~(size_t)4095)
#define WRITES_MAX 1024
#define CQE_BATCH 256		/* completions handled per lock hold */
/* After traffic, poll this long for more before sleeping: a reply to what
 * was just forwarded usually comes within it, and catching it saves two
 * wake-ups (sleep and IPI) on its way. Bounded: an idle switch sleeps. */
#define BUSY_POLL_NS 50000
/* epoll data of the impairment timer; slots are below CN_SWITCH_PORTS_MAX,
 * wake_fd is UINT32_MAX. */
#define TIMER_TAG (UINT32_MAX - 1)

/* The current frame as one port takes it: its header and up to three
 * pieces, with a VLAN tag spliced in (@tag) or cut out, no copy. */
struct egress {
	struct virtio_net_hdr_v1 hdr;
	struct iovec iov[3];
	int niov;
	size_t len;
	uint8_t tag[VLAN_TAG_LEN];
};

/* A frame write in flight on the io_uring path. */
struct wslot {
	struct iovec iov[4];
	struct virtio_net_hdr_v1 hdr;	/* the egress header (tag pushed or popped) */
	uint8_t tag[VLAN_TAG_LEN];
	uint32_t slot, gen;	/* the output port, as it was when queued */
	uint32_t bid;		/* the buffer written from */
	uint32_t len;		/* frame bytes, for the counters */
};

struct cn_switch {
	pthread_mutex_t lock;
	pthread_t thread;
	int ep;			/* epoll over wake_fd and every UP port */
	int wake_fd;		/* eventfd: stop the datapath */
	int timer_fd;		/* timerfd: the next impaired frame is due */
	uint64_t timer_ns;	/* when it is armed for, 0: not armed */
	int nimpaired;		/* port directions with impairments */
	uint64_t next_due_ns;	/* the earliest queued frame's departure */
	int imp_queued;		/* frames queued since impair_run() looked */
	int event_fd;		/* eventfd: events queued for the control plane */
	int stopping;

	struct port ports[CN_SWITCH_PORTS_MAX];
	int active[CN_SWITCH_PORTS_MAX];	/* slots of UP ports, for flooding */
	int nactive;
	uint32_t next_id;

	struct mactable macs;
	uint64_t age_ms;
	uint64_t evictions;

	struct cn_switch_event evq[EVQ_LEN];
	uint32_t evq_head, evq_tail;	/* free-running; tail - head = queued */
	uint64_t events_lost;
	int watch_macs;
	int events_new;		/* queued since the last event_fd signal */

	struct capture caps[CAPTURES_MAX];
	int ncaps;		/* ACTIVE or DEAD captures */
	uint32_t next_cap_id;

	/* The frame being forwarded: s->hdr/s->frame for a read(2), a
	 * read buffer (@bid >= 0, its header copied to @bhdr[bid]) on
	 * the io_uring path. */
	struct virtio_net_hdr_v1 *hd;
	uint8_t *fr;
	int bid;
	int ftagged;		/* it carries an 802.1Q tag */
	uint16_t fvid;		/* its VLAN (vlan_classify) */

	/* io_uring path (uring.h), when @use_uring. */
	int use_uring;
	struct uring u;
	struct virtio_net_hdr_v1 bhdr[URING_BUFS];
	struct wslot wr[WRITES_MAX];
	uint16_t wr_free[WRITES_MAX];
	int nwr_free;
	int reads_refused;	/* a tap refused RWF_NOWAIT reads: read(2) them */

	/* Datapath buffers, allocated once with the switch. */
	struct virtio_net_hdr_v1 hdr;
	/* One byte more than the largest frame: a read that fills it was
	 * cut short by the buffer (tun truncates silently), see port_recv(). */
	uint8_t frame[CN_FRAME_MAX + 1];
	uint8_t seg[SEG_CAP];
	struct iovec segv[SEG_MAX];
	/* Segments cut to a VXLAN uplink's MTU, and sendmmsg scratch. */
	uint8_t vseg[SEG_CAP];
	struct iovec vsegv[SEG_MAX];
	struct mmsghdr msgs[SEG_MAX];
	struct iovec miov[2 * SEG_MAX];
	uint8_t rxbuf[65536 + 64];	/* a VXLAN read: one or more datagrams */
	/* The current frame with its tag pushed or popped, for plain taps
	 * and uplinks (which take a contiguous frame), and a reordered frame
	 * leaving an impaired port at once. */
	struct virtio_net_hdr_v1 althdr, nowhdr;
	uint8_t alt[CN_FRAME_MAX + VLAN_TAG_LEN];
	uint8_t now[CN_FRAME_MAX + VLAN_TAG_LEN];
};

static struct cn_switch *switches[SWITCHES_MAX];
static pthread_mutex_t switches_lock = PTHREAD_MUTEX_INITIALIZER;

/* now_ms() - monotonic milliseconds; the coarse clock is enough for aging
 * and costs no syscall.  Return: the time.
 */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* now_ns() - monotonic nanoseconds, for busy polling and impairments.  Return: the time. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* sw_get() - the switch behind handle @h.  Return: pointer or NULL. */
static struct cn_switch *sw_get(int h)
{
	struct cn_switch *s = NULL;

	pthread_mutex_lock(&switches_lock);
	if (h >= 0 && h < SWITCHES_MAX)
		s = switches[h];
	pthread_mutex_unlock(&switches_lock);
	return s;
}

/* ev_push() - queue an event unless full; MAC events leave the last
 * EVQ_PORT_RESERVE slots to port-down events so those are never lost.
 * Return: nothing.
 */
static void ev_push(struct cn_switch *s, uint32_t type, uint32_t port, uint32_t other, int err,
		    const uint8_t *mac)
{
	uint32_t queued = s->evq_tail - s->evq_head;
	struct cn_switch_event *e;

	if (queued >= EVQ_LEN || (type != CN_EV_PORT_DOWN && queued >= EVQ_LEN - EVQ_PORT_RESERVE)) {
		s->events_lost++;
		return;
	}
	e = &s->evq[s->evq_tail++ & (EVQ_LEN - 1)];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->port = port;
	e->other = other;
	e->err = err;
	if (mac)
		memcpy(e->mac, mac, 6);
	s->events_new = 1;
}

/* ev_signal() - wake the control plane if events were queued.
 * Return: nothing.
 */
static void ev_signal(struct cn_switch *s)
{
	uint64_t one = 1;

	if (!s->events_new)
		return;
	s->events_new = 0;
	if (write(s->event_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the fd is readable anyway. */
	}
}

/* mac_gone() - mactable callback: count evictions, report to watchers.
 * Return: nothing.
 */
static void mac_gone(void *ctx, const uint8_t *mac, int slot, int remote, enum mac_gone why)
{
	struct cn_switch *s = ctx;
	static const uint32_t type[] = {
		[MAC_GONE_AGED] = CN_EV_MAC_AGED,
		[MAC_GONE_EVICTED] = CN_EV_MAC_EVICTED,
		[MAC_GONE_FLUSHED] = CN_EV_MAC_FLUSHED,
	};

	s->ports[slot].st.mac_count--;
	if (remote >= 0 && s->ports[slot].vx)
		s->ports[slot].vx->r[remote].macs--;
	if (why == MAC_GONE_EVICTED)
		s->evictions++;
	if (s->watch_macs)
		ev_push(s, type[why], s->ports[slot].id, 0, 0, mac);
}

/* slot_of() - the slot of port id @id.  Return: slot, or -1. */
static int slot_of(const struct cn_switch *s, int id)
{
	int i;

	if (id <= 0)
		return -1;
	for (i = 0; i < s->nactive; i++)
		if (s->ports[s->active[i]].id == (uint32_t)id)
			return s->active[i];
	return -1;
}

/* port_remove() - UP or DYING -> FREE: stop watching, close, flush MACs.
 * Return: nothing.
 */
static void port_remove(struct cn_switch *s, int slot)
{
	struct port *p = &s->ports[slot];
	int i;

	epoll_ctl(s->ep, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	mactable_flush_port(&s->macs, slot);
	free(p->vx);
	p->vx = NULL;
	for (i = 0; i < 2; i++) {
		if (!p->imp[i])
			continue;
		impair_free(p->imp[i]);
		free(p->imp[i]);
		p->imp[i] = NULL;
		s->nimpaired--;
	}
	/* A capture of this port ends with it: its reader sees end of file. */
	for (i = 0; i < CAPTURES_MAX; i++) {
		struct capture *c = &s->caps[i];

		if (c->fd >= 0 && c->port == p->id) {
			ev_push(s, CN_EV_CAPTURE_DOWN, c->id, p->id, 0, NULL);
			capture_close(c);
			s->ncaps--;
		}
	}
	for (i = 0; i < s->nactive; i++) {
		if (s->active[i] == slot) {
			s->active[i] = s->active[--s->nactive];
			break;
		}
	}
	p->fd = -1;
	p->dead_err = 0;
	p->rx_batch = 0;
	p->gen++;
}

/* The frame being forwarded as it would be on a wire, prepared lazily (at
 * most once per frame) for plain taps and captures. */
struct plain {
	int n;		/* wire frames in s->segv, 0: not prepared yet */
	int bad;	/* the frame can't be made plain */
	int vn;		/* wire frames for a VXLAN uplink, 0: not prepared */
	size_t vmax;	/* ... for inner frames of at most this size */
	struct iovec *vsegs;	/* s->segv or s->vsegv */
};

/* plain_prepare() - cut a GSO frame into segments, or finish a partial
 * checksum in a copy (the frame itself stays as read).
 * Return: number of wire frames in s->segv, or -1 (counted on @in).
 */
static int plain_prepare(struct cn_switch *s, int in, size_t len, struct plain *pl)
{
	struct virtio_net_hdr_v1 *h = s->hd;
	int n;

	if (pl->n || pl->bad)
		return pl->bad ? -1 : pl->n;
	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		n = vnet_segment(h, s->fr, len, s->seg, sizeof(s->seg), s->segv, SEG_MAX);
	else if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		s->segv[0].iov_base = s->fr;
		s->segv[0].iov_len = len;
		n = 1;
	} else {
		/* Finished in a copy: the frame itself may still be queued,
		 * partial checksum and all, for vnet ports (uring.h). */
		struct virtio_net_hdr_v1 hc = *h;

		n = -EMSGSIZE;
		if (len <= sizeof(s->seg)) {
			memcpy(s->seg, s->fr, len);
			n = vnet_csum_complete(&hc, s->seg, len);
		}
		if (n == 0) {
			s->segv[0].iov_base = s->seg;
			s->segv[0].iov_len = len;
			n = 1;
		}
	}
	if (n < 0) {
		s->ports[in].st.errors++;
		pl->bad = 1;
		return -1;
	}
	return pl->n = n;
}

/* capture_port() - mirror the current frame to captures of port id @port
 * (0: the captures of every frame).  Return: nothing.
 */
static void capture_port(struct cn_switch *s, int in, uint32_t port, size_t len, struct plain *pl)
{
	int i, n;

	for (i = 0; i < CAPTURES_MAX; i++) {
		struct capture *c = &s->caps[i];

		if (c->fd < 0 || c->dead_err || c->port != port)
			continue;
		n = plain_prepare(s, in, len, pl);
		if (n < 0)
			return;
		capture_frames(c, s->segv, n);
	}
}

/* vxlan_prepare() - the current frame as wire frames of at most @max
 * bytes: a GSO frame is cut with its MSS lowered to fit if needed (a
 * smaller MSS than the sender chose is still valid TCP, RFC 9293 3.7.1);
 * a plain frame that is too big is refused.
 * Return: number of frames at pl->vsegs, or -1 (counted on @p).
 */
static int vxlan_prepare(struct cn_switch *s, struct port *p, int in, size_t len, struct plain *pl)
{
	const struct virtio_net_hdr_v1 *h = s->hd;
	struct vxlan *v = p->vx;
	size_t max = vxlan_frame_max(v), hl;
	struct virtio_net_hdr_v1 hh;
	int n;

	if (pl->vn && pl->vmax == max)
		return pl->vn;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (len > max) {
			v->st.tx_too_big++;
			p->st.drops++;
			return -1;
		}
		n = plain_prepare(s, in, len, pl);
		if (n < 0)
			return -1;
		pl->vsegs = s->segv;
		pl->vmax = max;
		return pl->vn = n;
	}
	/* GSO frames always come with NEEDS_CSUM, csum_start at the TCP
	 * header (virtio 1.1 5.1.6.2); its data offset gives the headers'
	 * length, which hdr_len only bounds (tun sets it to the linear
	 * part). */
	hl = h->csum_start;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && hl + 20 <= len)
		hl += (s->fr[hl + 12] >> 4) * 4u;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || hl > len || hl + 64 > max) {
		v->st.tx_bad_gso++;
		p->st.errors++;
		return -1;
	}
	v->st.tx_segmented++;
	if (hl + h->gso_size <= max) {
		n = plain_prepare(s, in, len, pl);
		if (n < 0)
			return -1;
		pl->vsegs = s->segv;
	} else {
		hh = *h;
		hh.gso_size = (uint16_t)(max - hl);
		n = vnet_segment(&hh, s->fr, len, s->vseg, sizeof(s->vseg), s->vsegv, SEG_MAX);
		if (n < 0) {
			v->st.tx_bad_gso++;
			p->st.errors++;
			return -1;
		}
		pl->vsegs = s->vsegv;
	}
	pl->vmax = max;
	return pl->vn = n;
}

/* vxlan_out() - encapsulate the current frame to remote @remote of uplink
 * @p, or to every remote for -1 (head-end replication, RFC 7348 4.2).
 * Return: nothing (outcomes are counted).
 */
static void vxlan_out(struct cn_switch *s, struct port *p, int remote, int in, size_t len,
		      struct plain *pl)
{
	struct vxlan *v = p->vx;
	int n = vxlan_prepare(s, p, in, len, pl), i;

	if (n <= 0)
		return;
	for (i = 0; i < CN_VXLAN_REMOTES_MAX; i++) {
		if (!v->r[i].used || (remote >= 0 && i != remote))
			continue;
		vxlan_send(v, p->fd, i, pl->vsegs, n, s->msgs, s->miov, &p->st);
	}
}

/* wr_queue() - queue a write of the current frame, which is in read
 * buffer s->bid, to port @slot in the form @eg with @hdr_len bytes of its
 * header, on the io_uring path; it is submitted at the end of the batch.
 * Return: 0, or -EBUSY when no write slot or SQE is free (the caller then
 * writes synchronously).
 */
static int wr_queue(struct cn_switch *s, int slot, int hdr_len, const struct egress *eg)
{
	struct port *p = &s->ports[slot];
	struct wslot *w;
	int k, i, n = 0;

	if (!s->nwr_free)
		return -EBUSY;
	k = s->wr_free[s->nwr_free - 1];
	w = &s->wr[k];
	w->hdr = eg->hdr;
	memcpy(w->tag, eg->tag, sizeof(w->tag));
	if (hdr_len) {
		w->iov[n].iov_base = &w->hdr;
		w->iov[n++].iov_len = (size_t)hdr_len;
	}
	for (i = 0; i < eg->niov; i++, n++) {
		w->iov[n] = eg->iov[i];
		if (eg->iov[i].iov_base == eg->tag)
			w->iov[n].iov_base = w->tag;
	}
	if (uring_writev(&s->u, p->fd, w->iov, n, uring_tag(URING_WRITE, (uint32_t)k, 0)) < 0)
		return -EBUSY;
	s->nwr_free--;
	w->slot = (uint32_t)slot;
	w->gen = p->gen;
	w->bid = (uint32_t)s->bid;
	w->len = (uint32_t)eg->len;
	s->u.refs[s->bid]++;
	return 0;
}

/* wr_done() - count the outcome of write slot @k (@res: its completion)
 * on its port, unless that port left meanwhile, and release the slot and
 * its buffer.  Return: nothing.
 */
static void wr_done(struct cn_switch *s, uint32_t k, int res)
{
	struct wslot *w = &s->wr[k];
	struct port *p = &s->ports[w->slot];

	if (p->fd >= 0 && p->gen == w->gen) {
		if (res >= 0) {
			p->st.tx_packets++;
			p->st.tx_bytes += w->len;
		} else if (res == -EAGAIN || res == -ENOBUFS || res == -EIO) {
			p->st.drops++; /* as port_send() counts them */
		} else {
			p->st.errors++;
		}
	}
	uring_buf_put(&s->u, w->bid);
	s->wr_free[s->nwr_free++] = (uint16_t)k;
}

/* Per forwarded frame: its wire form cache, for the frame as read (form
 * 0) or with its tag pushed or popped in s->alt (form 1), which share the
 * segment scratch buffers, and whether s->alt holds it yet. */
struct fwd {
	struct plain pl;
	int form;
	int alt_ready;
};

/* plain_for() - the wire form cache of form @form, emptied when it held
 * the other one.  Return: it.
 */
static struct plain *plain_for(struct fwd *f, int form)
{
	if (f->form != form) {
		memset(&f->pl, 0, sizeof(f->pl));
		f->form = form;
	}
	return &f->pl;
}

/* hdr_shift() - move a vnet header's offsets by @by bytes for a tag pushed
 * (+4) or popped (-4) in front of them.  Return: nothing.
 */
static void hdr_shift(struct virtio_net_hdr_v1 *h, int by)
{
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		h->csum_start = (uint16_t)(h->csum_start + by);
	if (h->hdr_len >= 14 + VLAN_TAG_LEN || (by > 0 && h->hdr_len))
		h->hdr_len = (uint16_t)(h->hdr_len + by);
}

/* egress_form() - the current frame (@len bytes) as port @p takes it:
 * tagged with its VLAN on a trunk (but for the native VLAN), untagged
 * elsewhere (IEEE 802.1Q 8.6.4). A tag is pushed or popped by splitting
 * the frame into iovecs around it, so nothing is copied.
 * Return: nothing.
 */
static void egress_form(const struct cn_switch *s, const struct port *p, size_t len, struct egress *eg)
{
	int tagged = vlan_egress_tagged(&p->vlan, s->fvid);

	eg->hdr = *s->hd;
	if (tagged == s->ftagged || (s->ftagged && len < 14 + VLAN_TAG_LEN)) {
		eg->iov[0].iov_base = s->fr;
		eg->iov[0].iov_len = len;
		eg->niov = 1;
		eg->len = len;
		return;
	}
	eg->iov[0].iov_base = s->fr;
	eg->iov[0].iov_len = 12;
	if (tagged) {
		eg->tag[0] = ETH_P_8021Q_HI;
		eg->tag[1] = ETH_P_8021Q_LO;
		eg->tag[2] = (uint8_t)(s->fvid >> 8);
		eg->tag[3] = (uint8_t)s->fvid;
		eg->iov[1].iov_base = eg->tag;
		eg->iov[1].iov_len = VLAN_TAG_LEN;
		eg->iov[2].iov_base = s->fr + 12;
		eg->iov[2].iov_len = len - 12;
		eg->niov = 3;
		eg->len = len + VLAN_TAG_LEN;
		hdr_shift(&eg->hdr, VLAN_TAG_LEN);
	} else {
		eg->iov[1].iov_base = s->fr + 12 + VLAN_TAG_LEN;
		eg->iov[1].iov_len = len - 12 - VLAN_TAG_LEN;
		eg->niov = 2;
		eg->len = len - VLAN_TAG_LEN;
		hdr_shift(&eg->hdr, -VLAN_TAG_LEN);
	}
}

/* frame_of() - the frame as it is in memory (@h, @fr, @len) as an egress
 * form.  Return: nothing.
 */
static void frame_of(const struct virtio_net_hdr_v1 *h, uint8_t *fr, size_t len, struct egress *eg)
{
	eg->hdr = *h;
	eg->iov[0].iov_base = fr;
	eg->iov[0].iov_len = len;
	eg->niov = 1;
	eg->len = len;
}

/* gather() - copy the pieces of @eg into @buf.  Return: nothing. */
static void gather(const struct egress *eg, uint8_t *buf)
{
	size_t at = 0;
	int i;

	for (i = 0; i < eg->niov; i++) {
		memcpy(buf + at, eg->iov[i].iov_base, eg->iov[i].iov_len);
		at += eg->iov[i].iov_len;
	}
}

/* send_final() - write a frame to port @slot: @eg (the current frame, or
 * pieces of it for a vnet tap) as it is to a vnet tap, as wire frames to
 * a plain one, encapsulated to remote @remote (-1: all) of a VXLAN uplink.
 * For the last two the current frame must be @eg itself (one piece).
 * Return: nothing (outcomes are counted on the ports).
 */
static void send_final(struct cn_switch *s, int slot, int remote, int in, const struct egress *eg,
		       struct plain *pl)
{
	struct port *p = &s->ports[slot];
	int i, n;

	if (p->vx) {
		vxlan_out(s, p, remote, in, eg->len, pl);
		return;
	}
	if (p->hdr_len) {
		if (s->bid < 0 || wr_queue(s, slot, p->hdr_len, eg) < 0)
			port_sendv(p, &eg->hdr, eg->iov, eg->niov, eg->len);
		return;
	}
	if (s->bid >= 0 && eg->hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	    !(eg->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && wr_queue(s, slot, 0, eg) == 0)
		return;
	n = plain_prepare(s, in, eg->len, pl);
	for (i = 0; i < n; i++)
		port_send(p, s->hd, s->segv[i].iov_base, s->segv[i].iov_len);
}

/* Where the current frame is (s->hd, s->fr, s->bid), kept aside. */
struct current {
	struct virtio_net_hdr_v1 *hd;
	uint8_t *fr;
	int bid;
};

/* alt_swap() - make s->alt, the current frame with its tag pushed or
 * popped as @eg has it, the current frame (copied there once per frame),
 * keeping the frame as read in @save.  Return: nothing.
 */
static void alt_swap(struct cn_switch *s, const struct egress *eg, struct fwd *f, struct current *save)
{
	if (!f->alt_ready) {
		gather(eg, s->alt);
		s->althdr = eg->hdr;
		f->alt_ready = 1;
	}
	save->hd = s->hd;
	save->fr = s->fr;
	save->bid = s->bid;
	s->hd = &s->althdr;
	s->fr = s->alt;
	s->bid = -1;
}

/* alt_restore() - undo alt_swap().  Return: nothing. */
static void alt_restore(struct cn_switch *s, const struct current *save)
{
	s->hd = save->hd;
	s->fr = save->fr;
	s->bid = save->bid;
}

/* capture_egress() - mirror the frame to the captures of port @p as it
 * leaves there: with its tag pushed or popped when @eg says so.
 * Return: nothing.
 */
static void capture_egress(struct cn_switch *s, const struct port *p, int in, size_t len, const struct egress *eg,
			   struct fwd *f)
{
	struct current save;
	int i;

	for (i = 0; i < CAPTURES_MAX; i++)
		if (s->caps[i].fd >= 0 && !s->caps[i].dead_err && s->caps[i].port == p->id)
			break;
	if (i == CAPTURES_MAX)
		return;
	if (eg->niov == 1) {
		capture_port(s, in, p->id, len, plain_for(f, 0));
		return;
	}
	alt_swap(s, eg, f, &save);
	capture_port(s, in, p->id, eg->len, plain_for(f, 1));
	alt_restore(s, &save);
}

/* deliver() - send form @eg of the current frame to port @slot: straight
 * when it is the frame as read or the port is a vnet tap (which takes
 * pieces), else from a copy with the tag pushed or popped in s->alt (a
 * plain tap or uplink copies the frame into wire frames anyway).
 * Return: nothing.
 */
static void deliver(struct cn_switch *s, int slot, int remote, int in, const struct egress *eg, struct fwd *f)
{
	struct port *p = &s->ports[slot];
	struct current save;
	struct egress alt;

	if (eg->niov == 1 || (p->hdr_len && !p->vx)) {
		send_final(s, slot, remote, in, eg, plain_for(f, 0));
		return;
	}
	alt_swap(s, eg, f, &save);
	frame_of(&s->althdr, s->alt, eg->len, &alt);
	send_final(s, slot, remote, in, &alt, plain_for(f, 1));
	alt_restore(s, &save);
}

/* impair_enqueue() - draw the fate of form @eg of the current frame under
 * impairment @im: lost, to be sent at once (reordered, ahead of the
 * queue), or queued (once, or twice when duplicated) until due; the timer
 * is set for it at the end of the batch (impair_run()).
 * Return: 1 when the caller is to send it now, else 0.
 */
static int impair_enqueue(struct cn_switch *s, struct impair *im, int remote, const struct egress *eg)
{
	/* The frame as read is s->fr; @eg may have a tag more (3 pieces) or
	 * less (2), once per segment on the wire. */
	long delta = eg->niov == 3 ? VLAN_TAG_LEN : eg->niov == 2 ? -VLAN_TAG_LEN : 0;
	size_t segs, wire = impair_wire_bytes(s->hd, s->fr, (size_t)((long)eg->len - delta), &segs);
	int copies = 1, corrupt = 0, i;
	uint64_t due = 0;

	wire = (size_t)((long)wire + delta * (long)segs);
	switch (impair_decide(im, now_ns(), wire, eg->hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE, &due, &copies,
			      &corrupt)) {
	case IMPAIR_NOW:
		return 1;
	case IMPAIR_QUEUE:
		for (i = 0; i < copies; i++) {
			if (impair_push(im, due, remote, &eg->hdr, eg->iov, eg->niov, eg->len, corrupt) < 0)
				break;
			if (i)
				im->duplicated++;
		}
		s->imp_queued = 1;
		return 0;
	default:
		return 0;
	}
}

/* send_to() - send the current frame to port @slot in the form it takes
 * (tagged or not), through its outgoing impairments if it has any.
 * Return: nothing (outcomes are counted on the ports).
 */
static void send_to(struct cn_switch *s, int slot, int remote, int in, size_t len, struct fwd *f)
{
	struct port *p = &s->ports[slot];
	struct egress eg;

	egress_form(s, p, len, &eg);
	if (s->ncaps)
		capture_egress(s, p, in, len, &eg, f);
	if (p->imp[CN_DIR_OUT] && !impair_enqueue(s, p->imp[CN_DIR_OUT], remote, &eg))
		return;
	deliver(s, slot, remote, in, &eg, f);
}

/* switch_frame() - the current frame from port @in (behind remote @remote
 * of an uplink, else -1), past its incoming impairments: classify its
 * VLAN, learn its source in that VLAN and send it on: known unicast to
 * its port (and remote), everything else to every other port of the VLAN.
 * A frame from an uplink therefore never goes back out of it: remotes
 * reach each other directly (split horizon, as head-end replication
 * assumes).
 * Return: nothing.
 */
static void switch_frame(struct cn_switch *s, int in, int remote, size_t len, uint64_t now)
{
	struct port *ip = &s->ports[in];
	const uint8_t *dst = s->fr, *src = s->fr + 6;
	struct fwd f = { 0 };
	int out, i, old, old_remote, out_remote, tag = vlan_frame_tag(s->fr, len);
	uint16_t vid = vlan_classify(&ip->vlan, tag);

	if (!vid) {
		ip->st.vlan_drops++;
		return;
	}
	s->ftagged = tag >= 0;
	s->fvid = vid;
	/* A group address is never a source (IEEE 802.1Q 8.7.2 learns
	 * individual addresses only). */
	if (!(src[0] & 1)) {
		switch (mactable_learn(&s->macs, src, vid, in, remote, now, &old, &old_remote)) {
		case MAC_LEARNED:
			ip->st.mac_count++;
			if (remote >= 0)
				ip->vx->r[remote].macs++;
			if (s->watch_macs)
				ev_push(s, CN_EV_MAC_LEARNED, ip->id, 0, 0, src);
			break;
		case MAC_MOVED:
			ip->st.mac_count++;
			s->ports[old].st.mac_count--;
			if (remote >= 0)
				ip->vx->r[remote].macs++;
			if (old_remote >= 0 && s->ports[old].vx)
				s->ports[old].vx->r[old_remote].macs--;
			if (s->watch_macs)
				ev_push(s, CN_EV_MAC_MOVED, ip->id, s->ports[old].id, 0, src);
			break;
		default:
			break;
		}
	}
	out = (dst[0] & 1) ? -1 : mactable_lookup(&s->macs, dst, vid, &out_remote);
	if (out == in)
		return; /* the destination is behind the ingress port */
	if (out >= 0 && vlan_member(&s->ports[out].vlan, vid)) {
		send_to(s, out, out_remote, in, len, &f);
		return;
	}
	for (i = 0; i < s->nactive; i++)
		if (s->active[i] != in && vlan_member(&s->ports[s->active[i]].vlan, vid))
			send_to(s, s->active[i], -1, in, len, &f);
}

/* forward() - count and mirror the frame read from port @in (behind
 * remote @remote of an uplink, else -1), then switch it, or queue it when
 * the port's incoming direction is impaired.
 * Return: nothing.
 */
static void forward(struct cn_switch *s, int in, int remote, size_t len, uint64_t now)
{
	struct port *ip = &s->ports[in];
	struct plain pl = { 0 };
	struct egress eg;

	if (len < 14) {
		ip->st.errors++;
		return;
	}
	ip->st.rx_packets++;
	ip->st.rx_bytes += len;
	s->hd->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	s->hd->num_buffers = 0;
	if (s->ncaps) {
		capture_port(s, in, 0, len, &pl);
		capture_port(s, in, ip->id, len, &pl);
	}
	if (ip->imp[CN_DIR_IN]) {
		frame_of(s->hd, s->fr, len, &eg);
		if (!impair_enqueue(s, ip->imp[CN_DIR_IN], remote, &eg))
			return;
	}
	switch_frame(s, in, remote, len, now);
}

/* vxlan_rx() - read and forward up to RX_BUDGET reads (each one datagram
 * or a UDP GRO train of them) from uplink @slot; bad datagrams are counted
 * in its VXLAN figures and skipped.
 * Return: 1 when the budget ran out before the socket was empty, else 0.
 */
static int vxlan_rx(struct cn_switch *s, int slot, uint64_t now)
{
	struct port *p = &s->ports[slot];
	struct gro g = { 0 };
	size_t seg, off, l;
	int i, remote, at;

	for (i = 0; i < RX_BUDGET; i++) {
		ssize_t n = vxlan_recv(p->vx, p->fd, s->rxbuf, sizeof(s->rxbuf), &seg, &remote);

		if (n == -EAGAIN)
			return 0;
		if (n == -EBADMSG)
			continue;
		if (n < 0) {
			p->st.errors++;
			return 0;
		}
		for (off = 0; off < (size_t)n; off += seg) {
			const uint8_t *inner;

			l = (size_t)n - off < seg ? (size_t)n - off : seg;
			at = vxlan_decap(p->vx, s->rxbuf + off, l, remote);
			if (at < 0)
				continue;
			inner = s->rxbuf + off + at;
			l -= (size_t)at;
			/* A train of segments of one TCP stream goes on as
			 * one GSO frame (gro.h); anything else as it came. */
			if (gro_add(&g, s->frame, CN_FRAME_MAX, inner, l))
				continue;
			if (g.n) {
				forward(s, slot, remote, gro_flush(&g, s->frame, &s->hdr), now);
				if (gro_add(&g, s->frame, CN_FRAME_MAX, inner, l))
					continue;
			}
			memcpy(s->frame, inner, l);
			memset(&s->hdr, 0, sizeof(s->hdr));
			forward(s, slot, remote, l, now);
		}
		if (g.n)
			forward(s, slot, remote, gro_flush(&g, s->frame, &s->hdr), now);
	}
	return 1;
}

/* port_rx() - read and forward up to RX_BUDGET frames from port @slot;
 * a failed read makes the port DYING.
 * Return: nothing.
 */
static void port_rx(struct cn_switch *s, int slot, uint32_t events, uint64_t now)
{
	struct port *p = &s->ports[slot];
	int i;

	for (i = 0; i < RX_BUDGET; i++) {
		ssize_t n = port_recv(p, &s->hdr, s->frame, sizeof(s->frame));

		if (n == -EAGAIN) {
			/* tun reports EPOLLERR once its device is gone
			 * (tun_chr_poll), while reads may still say EAGAIN. */
			if (events & (EPOLLERR | EPOLLHUP))
				p->dead_err = EPIPE;
			return;
		}
		if (n == -EPROTO || n == -EINVAL || n == -EMSGSIZE) {
			p->st.errors++;
			continue;
		}
		if (n < 0) {
			p->dead_err = (int)-n;
			return;
		}
		forward(s, slot, -1, (size_t)n, now);
	}
}

/* impair_release() - send the due record @r of direction @dir of port
 * @slot on: switch a frame the port sent, write one it is to receive.
 * Return: nothing.
 */
static void impair_release(struct cn_switch *s, int slot, int dir, struct impair_rec *r, uint64_t now)
{
	struct plain pl = { 0 };
	struct egress eg;

	s->hd = &r->hdr;
	s->fr = r->data;
	s->bid = -1;
	if (dir == CN_DIR_IN) {
		switch_frame(s, slot, r->remote, r->len, now);
	} else {
		frame_of(&r->hdr, r->data, r->len, &eg);
		send_final(s, slot, r->remote, slot, &eg, &pl);
	}
	s->hd = &s->hdr;
	s->fr = s->frame;
}

/* impair_run() - send every impaired frame that is due, then set the timer
 * for the next one (an absolute CLOCK_MONOTONIC time, timerfd_create(2)),
 * so delayed frames wait in the queues and never in a sleep.
 * Return: nothing.
 */
static void impair_run(struct cn_switch *s, uint64_t now_msec)
{
	struct itimerspec its = { 0 };
	uint64_t now, next = UINT64_MAX, v;
	struct impair_rec *r;
	int i, d;

	if (!s->nimpaired) {
		/* The last impairment went: an expired timer left unread would
		 * keep epoll waking. */
		if (s->timer_ns) {
			timerfd_settime(s->timer_fd, 0, &its, NULL);
			if (read(s->timer_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: it had not expired */
			}
			s->timer_ns = 0;
		}
		return;
	}
	now = now_ns();
	/* Nothing due and nothing new: no system call, as most batches of
	 * unimpaired ports beside impaired ones end. */
	if (!s->imp_queued && now < s->next_due_ns)
		return;
	if (s->timer_ns && s->timer_ns <= now && read(s->timer_fd, &v, sizeof(v)) == sizeof(v))
		s->timer_ns = 0; /* expired: disarmed */
	for (i = 0; i < s->nactive; i++) {
		struct port *p = &s->ports[s->active[i]];

		for (d = 0; d < 2; d++) {
			while (p->imp[d] && (r = impair_peek(p->imp[d])) && r->due_ns <= now) {
				impair_release(s, s->active[i], d, r, now_msec);
				impair_pop(p->imp[d]);
			}
		}
	}
	/* Released frames may have queued others (a frame let in goes out
	 * through another port's impairments): look at every head again. */
	for (i = 0; i < s->nactive; i++) {
		struct port *p = &s->ports[s->active[i]];

		for (d = 0; d < 2; d++)
			if (p->imp[d] && (r = impair_peek(p->imp[d])) && r->due_ns < next)
				next = r->due_ns;
	}
	s->imp_queued = 0;
	s->next_due_ns = next;
	if (next == UINT64_MAX || next == s->timer_ns)
		return;
	if (next <= now)
		next = now + 1;
	its.it_value.tv_sec = (time_t)(next / 1000000000);
	its.it_value.tv_nsec = (long)(next % 1000000000);
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		s->timer_ns = next;
}

/* batch_end() - after a batch: remove DYING ports and dead captures with
 * their events, age the MAC table, wake the control plane for events.
 * Return: nothing.
 */
static void batch_end(struct cn_switch *s, uint64_t now)
{
	int i;

	impair_run(s, now);
	for (i = 0; i < s->nactive; i++) {
		int slot = s->active[i];
		struct port *p = &s->ports[slot];

		if (!p->dead_err)
			continue;
		ev_push(s, CN_EV_PORT_DOWN, p->id, 0, p->dead_err, NULL);
		port_remove(s, slot);
		i--; /* the last active slot moved here */
	}
	for (i = 0; s->ncaps && i < CAPTURES_MAX; i++) {
		struct capture *c = &s->caps[i];

		if (c->fd < 0 || !c->dead_err)
			continue;
		ev_push(s, CN_EV_CAPTURE_DOWN, c->id, c->port, c->dead_err, NULL);
		capture_close(c);
		s->ncaps--;
	}
	if (s->age_ms && now > s->age_ms)
		mactable_expire(&s->macs, now - s->age_ms);
	ev_signal(s);
}

/* A datapath thread that slept longer than this is serving sporadic
 * frames (pings, requests): it sleeps as a real-time thread so that a
 * frame's wake-up preempts whatever runs on the core at once, where a
 * normal thread on a loaded machine can wait out a scheduler tick (4 ms
 * at HZ=250). Shorter sleeps mean a stream: it sleeps as a normal thread
 * then and shares the cores fairly with the endpoints, which is worth more
 * to throughput than the wake-up. */
#define SPORADIC_NS 1000000

/* sched_for_sleep() - choose the policy for the sleep ahead from the
 * length of the last one, changing it only when it differs. Without
 * CAP_SYS_NICE the change fails and the thread stays normal.
 * Return: nothing.
 */
static void sched_for_sleep(int *rt, uint64_t last_sleep_ns)
{
	struct sched_param sp = { .sched_priority = 0 };
	int want = last_sleep_ns > SPORADIC_NS;

	if (want == *rt)
		return;
	/* SCHED_FIFO priority 1, the lowest (sched(7)); RT throttling
	 * (sched_rt_runtime_us) still bounds it at 95% of a core. */
	sp.sched_priority = want ? 1 : 0;
	if (pthread_setschedparam(pthread_self(), want ? SCHED_FIFO : SCHED_OTHER, &sp) == 0)
		*rt = want;
	else
		*rt = want ? -1 : 0; /* not allowed: don't try again */
}

/* How a datapath thread waits: polling (epoll_wait with no timeout) for
 * BUSY_POLL_NS after a batch with frames, else sleeping, as a real-time
 * thread after a sporadic frame (sched_for_sleep()). */
struct dp_wait {
	uint64_t spin_until;	/* polling until then; 0: not polling */
	uint64_t slept;		/* the last sleep's length, ns */
	int rt;			/* sched_for_sleep()'s state */
};

/* dp_wait() - wait for ready ports into @evs (64 of them): at once while
 * polling, else up to 250 ms (the MAC table's aging) or for ever.
 * Return: epoll_wait(2)'s count, or -1 with errno.
 */
static int dp_wait(struct cn_switch *s, struct epoll_event *evs, struct dp_wait *w)
{
	int timeout = s->age_ms ? 250 : -1, n;
	uint64_t t0;

	if (w->spin_until && now_ns() < w->spin_until) {
		timeout = 0;
	} else {
		w->spin_until = 0;
		if (w->rt >= 0)
			sched_for_sleep(&w->rt, w->slept);
	}
	t0 = now_ns();
	n = epoll_wait(s->ep, evs, 64, timeout);
	if (timeout)
		w->slept = now_ns() - t0;
	return n;
}

/* dp_lock() - take the switch's lock for a batch.
 * Return: 1, or 0 (not locked) when the switch is stopping.
 */
static int dp_lock(struct cn_switch *s)
{
	pthread_mutex_lock(&s->lock);
	if (!s->stopping)
		return 1;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* datapath() - the forwarding thread of the read(2)/write(2) path: wait
 * for ready ports, forward their frames, age the MAC table, remove ports
 * whose tap died. After a batch with frames it polls (epoll_wait with no
 * timeout) for BUSY_POLL_NS before sleeping again.
 * Return: NULL.
 */
static void *datapath(void *arg)
{
	struct cn_switch *s = arg;
	struct epoll_event evs[64];
	struct dp_wait w = { 0 };
	int n, i;

	for (;;) {
		n = dp_wait(s, evs, &w);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0 && w.spin_until)
			continue; /* polling: nothing yet */
		if (!dp_lock(s))
			break;
		uint64_t now = now_ms();

		for (i = 0; i < n; i++) {
			uint32_t slot = (uint32_t)evs[i].data.u64, gen = evs[i].data.u64 >> 32;
			struct port *p;

			if (slot >= CN_SWITCH_PORTS_MAX)
				continue; /* wake_fd */
			p = &s->ports[slot];
			if (p->fd < 0 || p->gen != gen || p->dead_err)
				continue;
			if (p->vx)
				vxlan_rx(s, slot, now);
			else
				port_rx(s, slot, evs[i].events, now);
		}
		batch_end(s, now);
		pthread_mutex_unlock(&s->lock);
		if (n > 0)
			w.spin_until = now_ns() + BUSY_POLL_NS;
	}
	return NULL;
}

/* uring_rx() - handle the completion of a read into buffer @bid (of
 * the port and generation its tag names): forward the frame in it, or note
 * that the tap is empty or dead.
 * Return: 1 when a frame was read, 0 when the tap is empty (or the port
 * gone), -1 when it is dead; the port's slot in @slot_out.
 */
static int uring_rx(struct cn_switch *s, uint32_t bid, int res, uint64_t now, uint32_t *slot_out)
{
	uint64_t tag = s->u.rtag[bid];
	uint32_t slot = URING_INDEX(tag), gen = URING_GEN(tag);
	struct port *p = slot < CN_SWITCH_PORTS_MAX ? &s->ports[slot] : NULL;
	int live = p && p->fd >= 0 && p->gen == gen && !p->dead_err;
	uint8_t *b = uring_buf(&s->u, bid);
	size_t n;

	*slot_out = slot;
	if (res <= 0 || !live) {
		uring_buf_put(&s->u, bid);
		if (!live || res == -EAGAIN || res == -ENOBUFS || res == -EINTR)
			return 0;
		if (res == -EOPNOTSUPP || res == -EINVAL) {
			s->reads_refused = 1; /* no RWF_NOWAIT on this tun */
			return 0;
		}
		p->dead_err = res < 0 ? -res : EPIPE;
		return -1;
	}
	n = (size_t)res;
	/* As port_recv(): a frame that filled the room for the largest
	 * frame plus one byte was cut short. */
	if (n < (size_t)p->hdr_len || n - (size_t)p->hdr_len > CN_FRAME_MAX) {
		p->st.errors++;
		uring_buf_put(&s->u, bid);
		return 1;
	}
	memset(&s->bhdr[bid], 0, sizeof(s->bhdr[bid]));
	memcpy(&s->bhdr[bid], b, (size_t)p->hdr_len);
	s->hd = &s->bhdr[bid];
	s->fr = b + p->hdr_len;
	s->bid = (int)bid;
	forward(s, (int)slot, -1, n - (size_t)p->hdr_len, now);
	s->hd = &s->hdr;
	s->fr = s->frame;
	s->bid = -1;
	uring_buf_put(&s->u, bid);
	return 1;
}

/* uring_reap() - handle every completion there is: frames read (counted
 * per port in @got, reads that found the tap empty in @empty), writes
 * done.  Return: number of frames read.
 */
static int uring_reap(struct cn_switch *s, uint64_t now, uint16_t *got, uint8_t *empty)
{
	struct io_uring_cqe *cqes[CQE_BATCH];
	unsigned int n, i;
	uint32_t slot;
	int frames = 0, r;

	while ((n = io_uring_peek_batch_cqe(&s->u.ring, cqes, CQE_BATCH)) > 0) {
		for (i = 0; i < n; i++) {
			uint64_t tag = io_uring_cqe_get_data64(cqes[i]);
			uint32_t idx = URING_INDEX(tag);

			switch (URING_KIND(tag)) {
			case URING_READ:
				if (idx >= s->u.nbufs)
					break;
				r = uring_rx(s, idx, cqes[i]->res, now, &slot);
				if (r > 0)
					frames++;
				if (r > 0 && got)
					got[slot]++;
				else if (r <= 0 && empty && slot < CN_SWITCH_PORTS_MAX)
					empty[slot] = 1;
				break;
			case URING_WRITE:
				if (idx < WRITES_MAX)
					wr_done(s, idx, cqes[i]->res);
				break;
			default:
				break;
			}
		}
		io_uring_cq_advance(&s->u.ring, n);
	}
	return frames;
}

/* uring_rx_ports() - read and forward the frames waiting on the ready tap
 * ports @ready[0..@n): per round, up to @p->rx_batch non-blocking reads per
 * port into read buffers and every write the previous round queued go
 * to the kernel in one io_uring_enter(2); a port whose reads all found a
 * frame gets more in the next round (at most RX_BUDGET frames per port per
 * batch, as the read(2) path), one that came up empty is done. The batch
 * size adapts per port: doubled when all reads found a frame, else what
 * they found plus two.
 * Return: nothing.
 */
static void uring_rx_ports(struct cn_switch *s, const int *ready, int n, uint64_t now)
{
	static const int batch_min = 2, batch_max = 32;
	uint16_t got[CN_SWITCH_PORTS_MAX];
	uint8_t empty[CN_SWITCH_PORTS_MAX];
	int want[64], asked[64], total[64], i, k, left = n;

	for (i = 0; i < n; i++) {
		want[i] = 1;
		total[i] = 0;
		got[ready[i]] = 0;
		empty[ready[i]] = 0;
	}
	while (left > 0) {
		left = 0;
		for (i = 0; i < n; i++) {
			struct port *p = &s->ports[ready[i]];

			asked[i] = 0;
			if (!want[i] || p->dead_err)
				continue;
			if (p->rx_batch < batch_min)
				p->rx_batch = batch_min;
			for (k = 0; k < p->rx_batch && total[i] + k < RX_BUDGET; k++) {
				if (uring_read_nowait(&s->u, p->fd,
						      uring_tag(URING_READ, (uint32_t)ready[i], p->gen)) < 0)
					break;
			}
			asked[i] = k;
		}
		uring_submit(&s->u);
		uring_reap(s, now, got, empty);
		for (i = 0; i < n; i++) {
			struct port *p = &s->ports[ready[i]];
			int g = got[ready[i]];

			got[ready[i]] = 0;
			total[i] += g;
			want[i] = asked[i] && !empty[ready[i]] && g == asked[i] && total[i] < RX_BUDGET;
			if (asked[i])
				p->rx_batch = g == asked[i] ? (2 * g > batch_max ? batch_max : 2 * g) : g + batch_min;
			empty[ready[i]] = 0;
			left += want[i];
		}
	}
}

/* datapath_uring() - the forwarding thread of the io_uring path (uring.h):
 * epoll says which ports have frames, as on the read(2)/write(2) path;
 * their frames are then read with batches of non-blocking reads and
 * written with the writes of a round submitted together, one
 * io_uring_enter(2) per round instead of a system call per frame. No
 * request stays armed on a tap between batches, so a tap goes with its
 * fd, also when the process dies (an armed multishot read would keep it
 * open until the ring's teardown, measured at 5-12 ms after exit). After a
 * batch with frames it polls for BUSY_POLL_NS before sleeping again.
 * Return: NULL.
 */
static void *datapath_uring(void *arg)
{
	struct cn_switch *s = arg;
	struct epoll_event evs[64];
	struct dp_wait w = { 0 };
	int ready[64], n, i, nready;

	for (;;) {
		n = dp_wait(s, evs, &w);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0 && w.spin_until)
			continue; /* polling: nothing yet */
		if (!dp_lock(s))
			break;
		uint64_t now = now_ms();

		nready = 0;
		for (i = 0; i < n; i++) {
			uint32_t slot = (uint32_t)evs[i].data.u64, gen = evs[i].data.u64 >> 32;
			struct port *p;

			if (slot >= CN_SWITCH_PORTS_MAX)
				continue; /* wake_fd */
			p = &s->ports[slot];
			if (p->fd < 0 || p->gen != gen || p->dead_err)
				continue;
			if (p->vx)
				vxlan_rx(s, slot, now);
			else if (s->reads_refused)
				port_rx(s, slot, evs[i].events, now);
			else {
				/* tun reports EPOLLERR once its device is gone
				 * (tun_chr_poll), while reads may still say
				 * EAGAIN. */
				if (evs[i].events & (EPOLLERR | EPOLLHUP))
					p->dead_err = EPIPE;
				else
					ready[nready++] = (int)slot;
			}
		}
		if (nready)
			uring_rx_ports(s, ready, nready, now);
		/* Writes queued by frames from uplinks. */
		uring_submit(&s->u);
		uring_reap(s, now, NULL, NULL);
		batch_end(s, now);
		pthread_mutex_unlock(&s->lock);
		if (n > 0)
			w.spin_until = now_ns() + BUSY_POLL_NS;
	}
	return NULL;
}

/* want_uring() - whether a new switch should try the io_uring path:
 * CONTAINET_DATAPATH=epoll chooses the read/write path (for comparison
 * and tests); it is also taken whenever uring_init() fails.
 * Return: 1 or 0.
 */
static int want_uring(void)
{
	const char *v = getenv("CONTAINET_DATAPATH");

	return !(v && !strcmp(v, "epoll"));
}

int cn_switch_create(int mac_table_size, int mac_age_ms)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = UINT32_MAX };
	struct cn_switch *s;
	sigset_t all, old;
	int h, ret, i;

	if (mac_age_ms < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = mactable_init(&s->macs, mac_table_size, mac_gone, s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	s->age_ms = (uint64_t)mac_age_ms;
	s->next_id = 1;
	s->next_cap_id = 1;
	for (i = 0; i < CN_SWITCH_PORTS_MAX; i++)
		s->ports[i].fd = -1;
	for (i = 0; i < CAPTURES_MAX; i++)
		s->caps[i].fd = -1;
	s->hd = &s->hdr;
	s->fr = s->frame;
	s->bid = -1;
	for (i = 0; i < WRITES_MAX; i++)
		s->wr_free[i] = (uint16_t)(WRITES_MAX - 1 - i);
	s->nwr_free = WRITES_MAX;
	/* io_uring unless unavailable (kernel.io_uring_disabled, seccomp,
	 * a kernel before 5.19 without buffer rings): then read/write. */
	s->use_uring = want_uring() && uring_init(&s->u, URING_ENTRIES, URING_BUFS, URING_BUF_SIZE) == 0;
	pthread_mutex_init(&s->lock, NULL);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->ep < 0 || s->wake_fd < 0 || s->event_fd < 0 || s->timer_fd < 0 ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &e) < 0) {
		ret = -errno;
		goto fail;
	}
	e.data.u64 = TIMER_TAG;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->timer_fd, &e) < 0) {
		ret = -errno;
		goto fail;
	}
	pthread_mutex_lock(&switches_lock);
	for (h = 0; h < SWITCHES_MAX && switches[h]; h++)
		;
	if (h < SWITCHES_MAX)
		switches[h] = s;
	pthread_mutex_unlock(&switches_lock);
	if (h == SWITCHES_MAX) {
		ret = -EMFILE;
		goto fail;
	}
	/* Signals stay with the threads Node owns (its handlers run there);
	 * the new thread inherits this mask (pthread_sigmask(3)). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&s->thread, NULL, s->use_uring ? datapath_uring : datapath, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		pthread_setname_np(s->thread, "cn-switch"); /* in ps -L, /proc/PID/task/TID/comm */
	if (ret) {
		pthread_mutex_lock(&switches_lock);
		switches[h] = NULL;
		pthread_mutex_unlock(&switches_lock);
		ret = -ret;
		goto fail;
	}
	return h;
fail:
	if (s->ep >= 0)
		close(s->ep);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->event_fd >= 0)
		close(s->event_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	mactable_free(&s->macs);
	uring_free(&s->u);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

int cn_switch_destroy(int h)
{
	struct cn_switch *s;
	uint64_t one = 1;

	pthread_mutex_lock(&switches_lock);
	s = h >= 0 && h < SWITCHES_MAX ? switches[h] : NULL;
	if (s)
		switches[h] = NULL;
	pthread_mutex_unlock(&switches_lock);
	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* saturated counter: the thread wakes anyway */
	}
	pthread_join(s->thread, NULL);
	while (s->nactive)
		port_remove(s, s->active[0]);
	for (int i = 0; i < CAPTURES_MAX; i++)
		capture_close(&s->caps[i]);
	close(s->ep);
	close(s->wake_fd);
	close(s->event_fd);
	close(s->timer_fd);
	mactable_free(&s->macs);
	uring_free(&s->u);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

int cn_switch_port_add(int h, int fd)
{
	struct cn_switch *s = sw_get(h);
	struct epoll_event e = { .events = EPOLLIN };
	struct port p;
	int slot, ret;

	if (!s)
		return -EBADF;
	ret = port_open(&p, fd);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	for (slot = 0; slot < CN_SWITCH_PORTS_MAX && s->ports[slot].fd >= 0; slot++)
		;
	if (slot == CN_SWITCH_PORTS_MAX) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	p.gen = s->ports[slot].gen;
	p.id = s->next_id++;
	e.data.u64 = (uint64_t)p.gen << 32 | (uint32_t)slot;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		ret = -errno;
		pthread_mutex_unlock(&s->lock);
		return ret;
	}
	s->ports[slot] = p;
	s->active[s->nactive++] = slot;
	pthread_mutex_unlock(&s->lock);
	return (int)p.id;
}

int cn_switch_port_del(int h, int id)
{
	struct cn_switch *s = sw_get(h);
	int slot;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, id);
	if (slot >= 0)
		port_remove(s, slot);
	ev_signal(s);
	pthread_mutex_unlock(&s->lock);
	return slot >= 0 ? 0 : -ENOENT;
}

int cn_switch_port_vlan(int h, int id, int mode, int pvid, const uint16_t *allowed, int n)
{
	struct cn_switch *s = sw_get(h);
	struct port_vlan v;
	int slot, i;

	if (!s)
		return -EBADF;
	if ((mode != CN_VLAN_ACCESS && mode != CN_VLAN_TRUNK) || n < 0 || n > CN_VLAN_MAX ||
	    pvid < (mode == CN_VLAN_ACCESS) || pvid > CN_VLAN_MAX || (mode == CN_VLAN_ACCESS && n))
		return -EINVAL;
	vlan_set_access(&v, (uint16_t)pvid);
	v.trunk = mode == CN_VLAN_TRUNK;
	for (i = 0; i < n; i++) {
		uint16_t vid = allowed[i];

		if (vid < 1 || vid > CN_VLAN_MAX || (v.allowed[vid >> 6] >> (vid & 63) & 1))
			return -EINVAL;
		v.allowed[vid >> 6] |= 1ULL << (vid & 63);
	}
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, id);
	if (slot >= 0) {
		s->ports[slot].vlan = v;
		/* Its MACs were learned in VLANs it may no longer carry. */
		mactable_flush_port(&s->macs, slot);
		ev_signal(s);
	}
	pthread_mutex_unlock(&s->lock);
	return slot >= 0 ? 0 : -ENOENT;
}

int cn_switch_port_impair(int h, int id, int dir, const uint64_t *params, int n)
{
	struct cn_switch *s = sw_get(h);
	struct impair *im = NULL, *old;
	struct port *p;
	int slot, ret;

	if (!s)
		return -EBADF;
	if ((dir != CN_DIR_IN && dir != CN_DIR_OUT) || n < 0 || n > CN_IMP_COUNT)
		return -EINVAL;
	if (n > 0) {
		/* Allocated here, not in the datapath: the ring is the bound. */
		im = calloc(1, sizeof(*im));
		if (!im)
			return -ENOMEM;
		ret = impair_init(im, params, n);
		if (ret < 0) {
			impair_free(im);
			free(im);
			return ret;
		}
	}
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, id);
	if (slot < 0) {
		pthread_mutex_unlock(&s->lock);
		if (im) {
			impair_free(im);
			free(im);
		}
		return -ENOENT;
	}
	p = &s->ports[slot];
	old = p->imp[dir];
	if (old) {
		/* Its counters stay with the port; its queued frames go. */
		p->st.impair_lost += old->lost;
		p->st.queue_drops += old->queue_drops + old->count;
		impair_free(old);
		free(old);
		s->nimpaired--;
	}
	p->imp[dir] = im;
	if (im)
		s->nimpaired++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int cn_switch_ports(int h, uint32_t *ids, int max)
{
	struct cn_switch *s = sw_get(h);
	int i, n;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	n = s->nactive;
	for (i = 0; i < n && i < max; i++)
		ids[i] = s->ports[s->active[i]].id;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int cn_switch_port_stats(int h, int id, struct cn_port_stats *out)
{
	struct cn_switch *s = sw_get(h);
	int slot;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, id);
	if (slot >= 0) {
		const struct port *p = &s->ports[slot];

		*out = p->st;
		for (int d = 0; d < 2; d++) {
			if (!p->imp[d])
				continue;
			out->impair_lost += p->imp[d]->lost;
			out->queue_drops += p->imp[d]->queue_drops;
			out->queued_bytes += p->imp[d]->bytes;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return slot >= 0 ? 0 : -ENOENT;
}

int cn_switch_macs(int h, struct cn_mac_record *out, int max)
{
	struct cn_switch *s = sw_get(h);
	uint64_t now = now_ms();
	int i, n = 0;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	for (i = s->macs.oldest; i >= 0; i = s->macs.e[i].next, n++) {
		const struct mac_entry *e = &s->macs.e[i];

		if (n >= max)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(out[n].mac, e->mac, 6);
		out[n].remote = (uint16_t)(e->remote + 1);
		out[n].port = s->ports[e->port].id;
		out[n].age_ms = (uint32_t)(now > e->seen_ms ? now - e->seen_ms : 0);
		out[n].vlan = e->vid;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int cn_switch_status(int h, struct cn_switch_status *out)
{
	struct cn_switch *s = sw_get(h);

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	out->ports = (uint64_t)s->nactive;
	out->macs = (uint64_t)s->macs.used;
	out->mac_table_size = (uint64_t)s->macs.size;
	out->mac_age_ms = s->age_ms;
	out->events_lost = s->events_lost;
	out->evictions = s->evictions;
	out->io_uring = (uint64_t)s->use_uring;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int cn_switch_event_fd(int h)
{
	struct cn_switch *s = sw_get(h);

	return s ? s->event_fd : -EBADF;
}

int cn_switch_events(int h, struct cn_switch_event *out, int max)
{
	struct cn_switch *s = sw_get(h);
	uint64_t v;
	int n = 0;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	if (read(s->event_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled since the last call */
	}
	while (n < max && s->evq_head != s->evq_tail)
		out[n++] = s->evq[s->evq_head++ & (EVQ_LEN - 1)];
	/* Left-overs: stay readable so the caller comes back. */
	if (s->evq_head != s->evq_tail) {
		s->events_new = 1;
		ev_signal(s);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int cn_switch_watch_macs(int h, int on)
{
	struct cn_switch *s = sw_get(h);

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	s->watch_macs = !!on;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int cn_switch_capture_add(int h, int port, int fd, int snaplen)
{
	struct cn_switch *s = sw_get(h);
	struct capture c;
	int i, ret;

	if (!s)
		return -EBADF;
	if (port < 0)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (port > 0 && slot_of(s, port) < 0) {
		ret = -ENOENT;
		goto out;
	}
	for (i = 0; i < CAPTURES_MAX && s->caps[i].fd >= 0; i++)
		;
	if (i == CAPTURES_MAX) {
		ret = -ENOSPC;
		goto out;
	}
	ret = capture_open(&c, fd, (uint32_t)snaplen);
	if (ret < 0)
		goto out;
	c.port = (uint32_t)port;
	c.id = s->next_cap_id++;
	s->caps[i] = c;
	s->ncaps++;
	ret = (int)c.id;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* cap_of() - the capture with id @id.  Return: pointer or NULL. */
static struct capture *cap_of(struct cn_switch *s, int id)
{
	int i;

	for (i = 0; i < CAPTURES_MAX; i++)
		if (s->caps[i].fd >= 0 && s->caps[i].id == (uint32_t)id)
			return &s->caps[i];
	return NULL;
}

int cn_switch_capture_del(int h, int id)
{
	struct cn_switch *s = sw_get(h);
	struct capture *c;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	c = cap_of(s, id);
	if (c) {
		capture_close(c);
		s->ncaps--;
	}
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -ENOENT;
}

int cn_switch_capture_stats(int h, int id, struct cn_capture_stats *out)
{
	struct cn_switch *s = sw_get(h);
	struct capture *c;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	c = cap_of(s, id);
	if (c) {
		out->written = c->written;
		out->dropped = c->dropped;
	}
	pthread_mutex_unlock(&s->lock);
	return c ? 0 : -ENOENT;
}

int cn_switch_vxlan_add(int h, const char *local, int port, int vni, int mtu)
{
	struct cn_switch *s = sw_get(h);
	struct epoll_event e = { .events = EPOLLIN };
	struct vxlan *v;
	struct port p;
	int slot, fd, ret;

	if (!s)
		return -EBADF;
	if (vni < 0)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	fd = vxlan_open(v, local, port, (uint32_t)vni, mtu);
	if (fd < 0) {
		free(v);
		return fd;
	}
	memset(&p, 0, sizeof(p));
	p.fd = fd;
	p.vx = v;
	p.st.flags = CN_PORT_VXLAN;
	/* A trunk of every VLAN; VLAN 1 untagged, as before VLANs. */
	vlan_set_access(&p.vlan, 1);
	p.vlan.trunk = 1;
	memset(p.vlan.allowed, 0xff, sizeof(p.vlan.allowed));
	snprintf(p.name, sizeof(p.name), "vxlan%d", vni);
	pthread_mutex_lock(&s->lock);
	for (slot = 0; slot < CN_SWITCH_PORTS_MAX && s->ports[slot].fd >= 0; slot++)
		;
	if (slot == CN_SWITCH_PORTS_MAX) {
		ret = -ENOSPC;
		goto fail;
	}
	p.gen = s->ports[slot].gen;
	p.id = s->next_id++;
	e.data.u64 = (uint64_t)p.gen << 32 | (uint32_t)slot;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		ret = -errno;
		goto fail;
	}
	s->ports[slot] = p;
	s->active[s->nactive++] = slot;
	pthread_mutex_unlock(&s->lock);
	return (int)p.id;
fail:
	pthread_mutex_unlock(&s->lock);
	close(fd);
	free(v);
	return ret;
}

int cn_switch_vxlan_remote(int h, int port, const char *addr, int udp_port, int add)
{
	struct cn_switch *s = sw_get(h);
	struct vxlan *v;
	int slot, r, ret = 0;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, port);
	if (slot < 0 || !(v = s->ports[slot].vx)) {
		ret = -ENOENT;
		goto out;
	}
	if (add) {
		r = vxlan_remote_add(v, addr, udp_port);
		ret = r < 0 ? r : 0;
		goto out;
	}
	r = vxlan_remote_find(v, addr);
	if (r < 0) {
		ret = -ENOENT;
		goto out;
	}
	/* MACs first: the mactable callback still sees the slot in use. */
	mactable_flush_remote(&s->macs, slot, r);
	v->r[r].used = 0;
	v->nremotes--;
out:
	ev_signal(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int cn_switch_vxlan_info(int h, int port, struct cn_vxlan_stats *st, struct cn_vxlan_remote_info *out,
			 int max)
{
	struct cn_switch *s = sw_get(h);
	struct vxlan *v;
	int slot, i, n = 0;

	if (!s)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, port);
	if (slot < 0 || !(v = s->ports[slot].vx)) {
		pthread_mutex_unlock(&s->lock);
		return -ENOENT;
	}
	*st = v->st;
	for (i = 0; i < CN_VXLAN_REMOTES_MAX; i++) {
		const struct vxlan_remote *r = &v->r[i];

		if (!r->used)
			continue;
		if (n < max) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].addr = r->addr.sin_addr.s_addr;
			out[n].port = ntohs(r->addr.sin_port);
			out[n].slot = (uint32_t)i;
			out[n].rx_packets = r->rx_packets;
			out[n].rx_bytes = r->rx_bytes;
			out[n].tx_packets = r->tx_packets;
			out[n].tx_bytes = r->tx_bytes;
			out[n].macs = r->macs;
		}
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}
