/* gro.c - merging received TCP/IPv4 segments into a GSO frame, see gro.h. */
#include <arpa/inet.h>
#include <string.h>

#include "containet.h"
#include "gro.h"

#define ETH_LEN 14
#define IP_LEN 20		/* no options: anything else is not merged */
#define TCP_ACK 0x10
#define TCP_PSH 0x08

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* segment() - whether @s is a mergeable TCP/IPv4 segment with intact
 * checksums; its header length and payload go to *@hl and *@payload.
 * Return: 1 or 0.
 */
static int segment(const uint8_t *s, size_t len, size_t *hl, size_t *payload)
{
	const uint8_t *ip = s + ETH_LEN, *tcp = ip + IP_LEN;
	size_t doff, tcplen;
	uint64_t sum;

	if (len < ETH_LEN + IP_LEN + 20 || s[12] != 0x08 || s[13] != 0x00 || ip[0] != 0x45 || ip[9] != 6)
		return 0;
	/* MF clear and offset zero: not a fragment (RFC 791 3.1). */
	if ((ip[6] & 0x3f) || ip[7] || ((size_t)ip[2] << 8 | ip[3]) != len - ETH_LEN)
		return 0;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || ETH_LEN + IP_LEN + doff >= len || (tcp[13] & ~TCP_PSH) != TCP_ACK)
		return 0;
	if (vnet_csum_fold(vnet_csum_add(ip, IP_LEN, 0)) != 0)
		return 0;
	tcplen = len - ETH_LEN - IP_LEN;
	sum = vnet_csum_add(ip + 12, 8, 0) + htons(6) + htons((uint16_t)tcplen);
	if (vnet_csum_fold(vnet_csum_add(tcp, tcplen, sum)) != 0)
		return 0;
	*hl = ETH_LEN + IP_LEN + doff;
	*payload = len - *hl;
	return 1;
}

int gro_add(struct gro *g, uint8_t *frame, size_t cap, const uint8_t *seg, size_t len)
{
	const uint8_t *sip = seg + ETH_LEN, *stcp = sip + IP_LEN;
	uint8_t *ip = frame + ETH_LEN, *tcp = ip + IP_LEN;
	size_t hl, payload;

	if (g->n && g->closed)
		return 0;
	if (!segment(seg, len, &hl, &payload) || len > cap)
		return 0;
	if (!g->n) {
		memcpy(frame, seg, len);
		g->n = 1;
		g->len = len;
		g->mss = payload;
		g->next_seq = get32(stcp + 4) + (uint32_t)payload;
		g->closed = (stcp[13] & TCP_PSH) != 0;
		return 1;
	}
	/* Everything but length, id, checksums, sequence and flags must be
	 * the held frame's: addresses, TOS, DF, TTL, ports, ack, window,
	 * urgent pointer and the options (timestamps included). */
	if (hl != ETH_LEN + IP_LEN + (size_t)(tcp[12] >> 4) * 4 || memcmp(frame, seg, ETH_LEN) ||
	    ip[1] != sip[1] || ip[6] != sip[6] || ip[8] != sip[8] || memcmp(ip + 12, sip + 12, 8) ||
	    memcmp(tcp, stcp, 4) || memcmp(tcp + 8, stcp + 8, 5) || memcmp(tcp + 14, stcp + 14, 2) ||
	    memcmp(tcp + 18, stcp + 18, hl - ETH_LEN - IP_LEN - 18))
		return 0;
	if (get32(stcp + 4) != g->next_seq || payload > g->mss || g->len + payload > cap ||
	    g->len - ETH_LEN + payload > 65535)
		return 0;
	memcpy(frame + g->len, seg + hl, payload);
	g->len += payload;
	g->next_seq += (uint32_t)payload;
	g->n++;
	if (stcp[13] & TCP_PSH) {
		tcp[13] |= TCP_PSH;
		g->closed = 1;
	}
	if (payload < g->mss)
		g->closed = 1;
	return 1;
}

size_t gro_flush(struct gro *g, uint8_t *frame, struct virtio_net_hdr_v1 *h)
{
	uint8_t *ip = frame + ETH_LEN, *tcp = ip + IP_LEN;
	size_t len = g->len, hl = ETH_LEN + IP_LEN + (size_t)(tcp[12] >> 4) * 4, tcplen;
	uint16_t v;
	uint64_t sum;

	memset(h, 0, sizeof(*h));
	if (g->n > 1) {
		v = htons((uint16_t)(len - ETH_LEN));
		memcpy(ip + 2, &v, 2);
		memset(ip + 10, 0, 2);
		v = vnet_csum_fold(vnet_csum_add(ip, IP_LEN, 0));
		memcpy(ip + 10, &v, 2);
		/* NEEDS_CSUM: the field holds the pseudo-header sum, not
		 * complemented (virtio 1.1 5.1.6.2). */
		tcplen = len - ETH_LEN - IP_LEN;
		sum = vnet_csum_add(ip + 12, 8, 0) + htons(6) + htons((uint16_t)tcplen);
		v = (uint16_t)~vnet_csum_fold(sum);
		memcpy(tcp + 16, &v, 2);
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = (uint16_t)g->mss;
		h->hdr_len = (uint16_t)hl;
		h->csum_start = ETH_LEN + IP_LEN;
		h->csum_offset = 16;
	}
	memset(g, 0, sizeof(*g));
	return len;
}

int cn_gro_merge(const uint8_t *segs, size_t seg_len, int n, uint8_t *out, size_t cap, uint8_t *hdr,
		 uint32_t *out_len)
{
	struct virtio_net_hdr_v1 h;
	struct gro g = { 0 };
	int i;

	for (i = 0; i < n; i++)
		if (!gro_add(&g, out, cap, segs + seg_len * (size_t)i, seg_len))
			break;
	*out_len = (uint32_t)(g.n ? gro_flush(&g, out, &h) : 0);
	if (i > 0)
		memcpy(hdr, &h, sizeof(h));
	return i;
}
