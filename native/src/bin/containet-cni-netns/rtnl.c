/* rtnl.c - rtnetlink(7) requests (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR,
 * RTM_NEWROUTE) on a NETLINK_ROUTE socket of the calling thread's network
 * namespace, as containode-spawn's netlink.c makes them for eth0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"

struct nlreq {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[256];
};

static void add_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* rtnl_open() - a NETLINK_ROUTE socket in the current network namespace.
 * Return: the socket or -errno.
 */
int rtnl_open(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return s < 0 ? -errno : s;
}

/* Send one request and wait for its ack.  Return: 0 or -errno. */
static int nl_talk(int sock, struct nlreq *r)
{
	static unsigned int seq;
	char buf[4096];
	struct nlmsghdr *h;
	ssize_t n;

	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++seq;
	if (send(sock, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(sock, buf, sizeof(buf), 0);
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

/* rtnl_link_set() - set @ifindex up, with @mac (6 bytes) and @mtu when
 * given (NULL, 0: unchanged).  Return: 0 or -errno.
 */
int rtnl_link_set(int nl, int ifindex, const unsigned char *mac, unsigned int mtu)
{
	struct nlreq r;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	if (mac)
		add_attr(&r, IFLA_ADDRESS, mac, 6);
	if (mtu)
		add_attr(&r, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_talk(nl, &r);
}

/* rtnl_link_del() - delete link @ifindex (a persistent tap goes too).
 * Return: 0 or -errno.
 */
int rtnl_link_del(int nl, int ifindex)
{
	struct nlreq r;

	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_DELLINK;
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return nl_talk(nl, &r);
}

/* Parse ADDR[/PREFIX] into @bin; the family from the text.
 * Return: the family (AF_INET, AF_INET6) or -EINVAL.
 */
static int parse_prefix(const char *text, unsigned char *bin, int *prefix)
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

/* rtnl_addr_add() - add address @cidr (ADDR/PREFIX) to @ifindex, without
 * duplicate address detection for IPv6 (the CNI result is final).
 * Return: 0 or -errno (-EEXIST when it is there already).
 */
int rtnl_addr_add(int nl, int ifindex, const char *cidr)
{
	unsigned char bin[16];
	unsigned int flags = IFA_F_NODAD;
	struct nlreq r;
	int family, prefix, len;

	if (!strchr(cidr, '/'))
		return -EINVAL;
	family = parse_prefix(cidr, bin, &prefix);
	if (family < 0)
		return family;
	len = family == AF_INET6 ? 16 : 4;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.ifa.ifa_family = (unsigned char)family;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = (unsigned int)ifindex;
	add_attr(&r, IFA_LOCAL, bin, (size_t)len);
	add_attr(&r, IFA_ADDRESS, bin, (size_t)len);
	if (family == AF_INET) {
		/* Broadcast as `ip addr add ... brd +` sets it. */
		uint32_t a, mask = prefix ? htonl(~0U << (32 - prefix)) : 0;

		memcpy(&a, bin, 4);
		if (prefix < 31) {
			a |= ~mask;
			add_attr(&r, IFA_BROADCAST, &a, 4);
		}
	} else {
		add_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	}
	return nl_talk(nl, &r);
}

/* rtnl_route_add() - route @dst (CIDR) out of @ifindex, via @gw when it is
 * non-empty, else on-link (scope link).  Return: 0 or -errno.
 */
int rtnl_route_add(int nl, int ifindex, const char *dst, const char *gw)
{
	unsigned char dbin[16], gbin[16];
	unsigned int oif = (unsigned int)ifindex;
	struct nlreq r;
	int family, prefix, gprefix;

	family = parse_prefix(dst, dbin, &prefix);
	if (family < 0)
		return family;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = RTM_NEWROUTE;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.rt.rtm_family = (unsigned char)family;
	r.rt.rtm_dst_len = (unsigned char)prefix;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_BOOT;
	r.rt.rtm_scope = gw && *gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	r.rt.rtm_type = RTN_UNICAST;
	if (prefix)
		add_attr(&r, RTA_DST, dbin, family == AF_INET6 ? 16 : 4);
	if (gw && *gw) {
		if (parse_prefix(gw, gbin, &gprefix) != family)
			return -EINVAL;
		add_attr(&r, RTA_GATEWAY, gbin, family == AF_INET6 ? 16 : 4);
	}
	add_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(nl, &r);
}
