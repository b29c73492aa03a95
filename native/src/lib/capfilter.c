/* capfilter.c - pcap-filter(7) capture filters, see capfilter.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capfilter.h"
#include "containet.h"

/* What pcap_compile() gets: Ethernet frames, whole (a capture's own
 * snaplen only cuts what is written, after the filter ran). */
#define CAPFILTER_SNAPLEN 65535

/* Filters compiled for a capture fd the switch has not taken yet: one per
 * capture request in flight, so a few slots do. */
#define CAPFILTER_WAITING 16

struct capfilter {
	struct bpf_program prog;
};

static struct {
	int fd;
	struct capfilter *f;
} waiting[CAPFILTER_WAITING];
static pthread_mutex_t waiting_lock = PTHREAD_MUTEX_INITIALIZER;

int capfilter_compile(const char *expr, struct capfilter **out, char *err, size_t errlen)
{
	struct capfilter *f;
	pcap_t *p;
	int ret = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	/* A "dead" handle only tells the compiler the link type and snaplen
	 * (pcap_open_dead(3PCAP)); libpcap >= 1.8 compiles thread-safely. */
	p = pcap_open_dead(DLT_EN10MB, CAPFILTER_SNAPLEN);
	if (!p)
		return -ENOMEM;
	f = calloc(1, sizeof(*f));
	if (!f) {
		pcap_close(p);
		return -ENOMEM;
	}
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		if (errlen)
			snprintf(err, errlen, "%s", pcap_geterr(p));
		free(f);
		ret = -EINVAL;
	} else {
		*out = f;
	}
	pcap_close(p);
	return ret;
}

int capfilter_match(const struct capfilter *f, const void *frame, size_t len)
{
	return bpf_filter(f->prog.bf_insns, frame, (u_int)len, (u_int)len) != 0;
}

void capfilter_free(struct capfilter *f)
{
	if (!f)
		return;
	pcap_freecode(&f->prog);
	free(f);
}

struct capfilter *capfilter_take(int fd)
{
	struct capfilter *f = NULL;
	int i;

	pthread_mutex_lock(&waiting_lock);
	for (i = 0; i < CAPFILTER_WAITING; i++) {
		if (waiting[i].f && waiting[i].fd == fd) {
			f = waiting[i].f;
			waiting[i].f = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&waiting_lock);
	return f;
}

int cn_capfilter_compile(const char *expr, char *err, int errlen)
{
	struct capfilter *f;
	int n = capfilter_compile(expr, &f, err, errlen > 0 ? (size_t)errlen : 0);

	if (n < 0)
		return n;
	n = (int)f->prog.bf_len;
	capfilter_free(f);
	return n;
}

int cn_capture_filter(int fd, const char *expr, char *err, int errlen)
{
	struct capfilter *f = NULL, *old;
	int i, ret;

	if (expr) {
		ret = capfilter_compile(expr, &f, err, errlen > 0 ? (size_t)errlen : 0);
		if (ret < 0)
			return ret;
	}
	old = capfilter_take(fd);
	capfilter_free(old);
	if (!f)
		return 0;
	pthread_mutex_lock(&waiting_lock);
	for (i = 0; i < CAPFILTER_WAITING && waiting[i].f; i++)
		;
	if (i < CAPFILTER_WAITING) {
		waiting[i].fd = fd;
		waiting[i].f = f;
	}
	pthread_mutex_unlock(&waiting_lock);
	if (i == CAPFILTER_WAITING) {
		capfilter_free(f);
		return -ENOSPC;
	}
	return 0;
}
