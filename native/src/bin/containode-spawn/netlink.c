/* netlink.c - rtnetlink(7) requests (RTM_NEWLINK, RTM_NEWADDR,
 * RTM_NEWROUTE) on a NETLINK_ROUTE socket opened inside the container's
 * network namespace, and the tap itself (Documentation/networking/tuntap.rst).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"
#include "spec.h"

/* 12 bytes: struct virtio_net_hdr_v1 without the hash report, which is what
 * containet's datapath reads and writes. */
#define VNET_HDR_LEN 12

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

/* Send one request and wait for its ack.  Return: 0 or -errno. */
static int nl_talk(int sock, struct nlreq *r)
{
	char buf[4096];
	struct nlmsghdr *h;
	ssize_t n;

	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq++;
	if (send(sock, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(sock, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

static int link_set(int sock, int ifindex, const unsigned char *mac, unsigned int mtu)
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
	return nl_talk(sock, &r);
}

static int addr_add(int sock, int ifindex, const char *cidr)
{
	char host[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *slash = strchr(cidr, '/');
	struct nlreq r;
	int family, prefix, len;
	unsigned int flags = IFA_F_NODAD;

	if (!slash || (size_t)(slash - cidr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, cidr, (size_t)(slash - cidr));
	host[slash - cidr] = '\0';
	prefix = atoi(slash + 1);
	family = strchr(host, ':') ? AF_INET6 : AF_INET;
	len = family == AF_INET6 ? 16 : 4;
	if (inet_pton(family, host, bin) != 1 || prefix < 0 || prefix > len * 8)
		return -EINVAL;
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
		/* Broadcast as `ip addr add ... brd +` would set it. */
		uint32_t a, mask = prefix ? htonl(~0U << (32 - prefix)) : 0;

		memcpy(&a, bin, 4);
		if (prefix < 31) {
			a |= ~mask;
			add_attr(&r, IFA_BROADCAST, &a, 4);
		}
	} else {
		add_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	}
	return nl_talk(sock, &r);
}

static int route_default(int sock, int ifindex, const char *gw)
{
	unsigned char bin[16];
	int family = strchr(gw, ':') ? AF_INET6 : AF_INET;
	struct nlreq r;
	unsigned int oif = (unsigned int)ifindex;

	if (inet_pton(family, gw, bin) != 1)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.h.nlmsg_type = RTM_NEWROUTE;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.rt.rtm_family = (unsigned char)family;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_STATIC;
	r.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	r.rt.rtm_type = RTN_UNICAST;
	add_attr(&r, RTA_GATEWAY, bin, family == AF_INET6 ? 16 : 4);
	add_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(sock, &r);
}

static int parse_mac(const char *s, unsigned char *mac)
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6 ||
	    strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (unsigned char)b[i];
	return 0;
}

static int tap_create(const char *name, char *name_out)
{
	struct ifreq ifr;
	int fd, hdr = VNET_HDR_LEN;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	snprintf(name_out, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
}

static int ifindex_of(int sock, const char *name, unsigned char *mac)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	if (mac) {
		int idx = ifr.ifr_ifindex;

		if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0)
			return -errno;
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		return idx;
	}
	return ifr.ifr_ifindex;
}

/* net_setup() - in the network namespace of @pid: lo up, and with a tap
 * line: the tap, its MAC/MTU, up, addresses and default routes. The
 * spawner's own namespace is restored before returning.
 * Return: 0 with the tap fd in *@tap_fd (or -1) and its MAC in @mac_out
 * (18 bytes), or -errno with the failing step and its argument.
 */
int net_setup(const struct spec *s, int pid, int *tap_fd, char *mac_out,
	      const char **step, char *detail, unsigned long cap)
{
	char path[64], ifname[IFNAMSIZ] = "";
	unsigned char mac[6];
	int self = -1, target = -1, nl = -1, ioc = -1, idx, r = 0, i;

	*tap_fd = -1;
	mac_out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0) {
		r = -errno;
		*step = "open";
		snprintf(detail, cap, "%s", self < 0 ? "/proc/self/ns/net" : path);
		goto out;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		r = -errno;
		*step = "setns";
		snprintf(detail, cap, "%s", path);
		goto out;
	}
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ioc = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nl < 0 || ioc < 0) {
		r = -errno;
		*step = "socket";
		snprintf(detail, cap, "%s", nl < 0 ? "netlink" : "inet");
		goto back;
	}
	*step = "rtnetlink(link up)";
	snprintf(detail, cap, "lo");
	idx = ifindex_of(ioc, "lo", NULL);
	r = idx < 0 ? idx : link_set(nl, idx, NULL, 0);
	if (r || !s->tap_name)
		goto back;

	*step = "open(tap)";
	snprintf(detail, cap, "%s", s->tap_name);
	r = tap_create(s->tap_name, ifname);
	if (r < 0)
		goto back;
	*tap_fd = r;
	r = 0;
	*step = "rtnetlink(link set)";
	if (s->tap_mac && parse_mac(s->tap_mac, mac)) {
		r = -EINVAL;
		snprintf(detail, cap, "MAC %s", s->tap_mac);
		goto back;
	}
	idx = ifindex_of(ioc, ifname, NULL);
	r = idx < 0 ? idx : link_set(nl, idx, s->tap_mac ? mac : NULL, s->tap_mtu);
	if (r)
		goto back;
	for (i = 0; i < s->n_addrs; i++) {
		int ai = ifindex_of(ioc, s->addr_if[i], NULL);

		*step = "rtnetlink(address add)";
		snprintf(detail, cap, "%s %s", s->addr_if[i], s->addr[i]);
		r = ai < 0 ? ai : addr_add(nl, ai, s->addr[i]);
		if (r)
			goto back;
	}
	for (i = 0; i < s->n_routes; i++) {
		int ri = ifindex_of(ioc, s->route_if[i], NULL);

		*step = "rtnetlink(route add)";
		snprintf(detail, cap, "default via %s dev %s", s->route_gw[i], s->route_if[i]);
		r = ri < 0 ? ri : route_default(nl, ri, s->route_gw[i]);
		if (r)
			goto back;
	}
	r = ifindex_of(ioc, ifname, mac);
	if (r < 0) {
		*step = "ioctl(SIOCGIFHWADDR)";
		goto back;
	}
	r = 0;
	snprintf(mac_out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
back:
	if (setns(self, CLONE_NEWNET) < 0 && !r) {
		r = -errno;
		*step = "setns(back)";
	}
out:
	if (r && *tap_fd >= 0) {
		close(*tap_fd);
		*tap_fd = -1;
	}
	if (nl >= 0)
		close(nl);
	if (ioc >= 0)
		close(ioc);
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return r;
}
