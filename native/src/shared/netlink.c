/* netlink.c - rtnetlink(7) requests (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR,
 * RTM_NEWROUTE) on a NETLINK_ROUTE socket of the calling thread's network
 * namespace, each sent with NLM_F_ACK and answered by an NLMSG_ERROR whose
 * error is 0 or -errno (netlink(7) "NLMSG_ERROR").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

/* One request: header, the message for its type, and room for attributes. */
struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[256];
};

/* nl_req_init() - zero @r and set the header for a @type request whose
 * fixed part is @len bytes, with @flags besides NLM_F_REQUEST | NLM_F_ACK.
 */
static void nl_req_init(struct nl_req *r, unsigned short type, size_t len,
			unsigned short flags)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = flags;
}

/* nl_attr_add() - append attribute @type with @len bytes of @data; the
 * callers' attributes are a few dozen bytes, well inside attrs[].
 */
static void nl_attr_add(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* nl_req_ack() - send @r and wait for the ack carrying its sequence number.
 * Return: 0 or -errno (the kernel's answer, or the socket's error).
 */
static int nl_req_ack(int nl, struct nl_req *r)
{
	static unsigned int seq;
	char buf[4096];
	struct nlmsghdr *h;
	ssize_t n;

	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++seq;
	if (send(nl, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == seq) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

/* nl_prefix_parse() - ADDR[/PREFIX] into @bin (16 bytes) and *@prefix (the
 * whole address when there is no /PREFIX); the family from the text.
 * Return: AF_INET or AF_INET6, or -EINVAL.
 */
static int nl_prefix_parse(const char *text, unsigned char *bin, int *prefix)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	int family, bits;
	char *end;

	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	family = strchr(host, ':') ? AF_INET6 : AF_INET;
	bits = family == AF_INET6 ? 128 : 32;
	if (inet_pton(family, host, bin) != 1)
		return -EINVAL;
	if (slash) {
		long p = strtol(slash + 1, &end, 10);

		if (*end || end == slash + 1 || p < 0 || p > bits)
			return -EINVAL;
		bits = (int)p;
	}
	*prefix = bits;
	return family;
}

/* nl_open() - a NETLINK_ROUTE socket in the current network namespace.
 * Return: the socket (close-on-exec) or -errno.
 */
int nl_open(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return s < 0 ? -errno : s;
}

/* nl_link_set() - set link @ifindex up, with @mac (6 bytes) and @mtu when
 * given (NULL, 0: unchanged).
 * Return: 0 or -errno.
 */
int nl_link_set(int nl, int ifindex, const unsigned char *mac, unsigned int mtu)
{
	struct nl_req r;

	nl_req_init(&r, RTM_NEWLINK, sizeof(struct ifinfomsg), 0);
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	if (mac)
		nl_attr_add(&r, IFLA_ADDRESS, mac, 6);
	if (mtu)
		nl_attr_add(&r, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_req_ack(nl, &r);
}

/* nl_link_del() - delete link @ifindex (a persistent tap goes too).
 * Return: 0 or -errno (-ENODEV: no such link).
 */
int nl_link_del(int nl, int ifindex)
{
	struct nl_req r;

	nl_req_init(&r, RTM_DELLINK, sizeof(struct ifinfomsg), 0);
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return nl_req_ack(nl, &r);
}

/* nl_addr_add() - add address @cidr (ADDR/PREFIX, IPv4 or IPv6) to link
 * @ifindex. IPv4 gets the broadcast address `ip addr add ... brd +` sets;
 * IPv6 gets IFA_F_NODAD (Linux 3.14 for IFA_FLAGS): the address is
 * assigned, so it is usable at once instead of tentative for a second.
 * Return: 0 or -errno (-EINVAL: @cidr malformed, -EEXIST: there already).
 */
int nl_addr_add(int nl, int ifindex, const char *cidr)
{
	unsigned int flags = IFA_F_NODAD;
	unsigned char bin[16];
	struct nl_req r;
	int family, prefix, len;

	if (!strchr(cidr, '/'))
		return -EINVAL;
	family = nl_prefix_parse(cidr, bin, &prefix);
	if (family < 0)
		return family;
	len = family == AF_INET6 ? 16 : 4;
	nl_req_init(&r, RTM_NEWADDR, sizeof(struct ifaddrmsg), NLM_F_CREATE | NLM_F_EXCL);
	r.ifa.ifa_family = (unsigned char)family;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = (unsigned int)ifindex;
	nl_attr_add(&r, IFA_LOCAL, bin, (size_t)len);
	nl_attr_add(&r, IFA_ADDRESS, bin, (size_t)len);
	if (family == AF_INET) {
		uint32_t a, mask = prefix ? htonl(~0U << (32 - prefix)) : 0;

		/* /31 and /32 have no broadcast address (RFC 3021). */
		memcpy(&a, bin, 4);
		if (prefix < 31) {
			a |= ~mask;
			nl_attr_add(&r, IFA_BROADCAST, &a, 4);
		}
	} else {
		nl_attr_add(&r, IFA_FLAGS, &flags, sizeof(flags));
	}
	return nl_req_ack(nl, &r);
}

/* nl_route_add() - route @dst (CIDR; NULL: the default route of @gw's
 * family) out of link @ifindex, via @gw when it is non-empty, else on-link
 * (scope link); @protocol is the rtm_protocol recorded (RTPROT_BOOT as `ip
 * route add` sets, RTPROT_STATIC...).
 * Return: 0 or -errno (-EINVAL: an address malformed, or families differ).
 */
int nl_route_add(int nl, int ifindex, const char *dst, const char *gw,
		 unsigned char protocol)
{
	unsigned char dbin[16], gbin[16];
	unsigned int oif = (unsigned int)ifindex;
	int family = 0, prefix = 0, gfamily = 0, gprefix;
	int via = gw && *gw;
	struct nl_req r;

	if (dst) {
		family = nl_prefix_parse(dst, dbin, &prefix);
		if (family < 0)
			return family;
	}
	if (via) {
		gfamily = nl_prefix_parse(gw, gbin, &gprefix);
		if (gfamily < 0 || (dst && gfamily != family))
			return -EINVAL;
		family = gfamily;
	}
	if (!family)
		return -EINVAL;
	nl_req_init(&r, RTM_NEWROUTE, sizeof(struct rtmsg), NLM_F_CREATE | NLM_F_EXCL);
	r.rt.rtm_family = (unsigned char)family;
	r.rt.rtm_dst_len = (unsigned char)prefix;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = protocol;
	r.rt.rtm_scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	r.rt.rtm_type = RTN_UNICAST;
	if (prefix)
		nl_attr_add(&r, RTA_DST, dbin, family == AF_INET6 ? 16 : 4);
	if (via)
		nl_attr_add(&r, RTA_GATEWAY, gbin, family == AF_INET6 ? 16 : 4);
	nl_attr_add(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_req_ack(nl, &r);
}

/* nl_mac_parse() - "aa:bb:cc:dd:ee:ff" (either case) into @mac, 6 bytes,
 * as IFLA_ADDRESS takes it.
 * Return: 0 or -EINVAL.
 */
int nl_mac_parse(const char *text, unsigned char *mac)
{
	unsigned int b[6];
	int i;

	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (unsigned char)b[i];
	return 0;
}
