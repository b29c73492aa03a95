/* containet-cni-netns - the namespace work of containet's CNI plugin
 * (packages/cni), done outside the multi-threaded Node process: one
 * short-lived, single-threaded process per request that setns()es into the
 * pod's network namespace by path (CNI_NETNS) and returns.
 *
 *   containet-cni-netns add NETNS IFNAME [--mac MAC] [--mtu N]
 *                       [--addr CIDR]... [--route DST[,GW]]... [--send FD]
 *       Create tap IFNAME in NETNS (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, 12-byte
 *       header, TSO/CSUM offloads, TUNSETPERSIST so it outlives this
 *       process and the switch), set MAC and MTU, bring it up, add the
 *       addresses and routes. With --send, the bytes read from stdin (an
 *       attach frame the caller encoded) are sent on socket FD with the
 *       tap's fd attached (SCM_RIGHTS). Prints the tap's MAC. On failure
 *       the tap is deleted again.
 *   containet-cni-netns open NETNS IFNAME --send FD
 *       Re-open the existing persistent tap IFNAME in NETNS and send it as
 *       above (a switch restarted after the pod was attached).
 *   containet-cni-netns del NETNS IFNAME
 *       Delete IFNAME in NETNS; an absent namespace or link is success
 *       (prints "absent").
 *   containet-cni-netns check NETNS IFNAME [--mac MAC] [--mtu N] [--addr CIDR]...
 *       Report on stderr each way IFNAME differs (missing, down, MAC, MTU,
 *       an address missing); exit 200 when any does.
 *
 * Errors: one line `containet-cni-netns: STEP(DETAIL): strerror` on stderr
 * and the errno as exit status, so the caller can tell EEXIST and ENOENT.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/unixsock.h"
#include "shared/netlink.h"
#include "shared/tap.h"

#define MAX_ITEMS 32
#define MAX_FRAME (1 << 20)
/* How long a full socket (the caller reads it from its event loop) may stay
 * full before the attach frame is given up on. */
#define SEND_TIMEOUT_MS 5000
/* Exit status of `check` when the interface differs from what was asked. */
#define EXIT_DIFFERS 200

struct request {
	const char *cmd, *netns, *ifname, *mac;
	unsigned int mtu;
	int send_fd;
	const char *addr[MAX_ITEMS];
	int n_addr;
	const char *route[MAX_ITEMS];
	int n_route;
};

static int fail(int err, const char *step, const char *detail)
{
	if (err < 0)
		err = -err;
	fprintf(stderr, "containet-cni-netns: %s(%s): %s\n", step, detail, strerror(err));
	return err > 0 && err < EXIT_DIFFERS ? err : 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: containet-cni-netns add|open|del|check NETNS IFNAME [--mac MAC] [--mtu N] "
			"[--addr CIDR]... [--route DST[,GW]]... [--send FD]\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct request *rq)
{
	int i;

	memset(rq, 0, sizeof(*rq));
	rq->send_fd = -1;
	if (argc < 4)
		return -1;
	rq->cmd = argv[1];
	rq->netns = argv[2];
	rq->ifname = argv[3];
	if (!*rq->ifname || strlen(rq->ifname) >= IFNAMSIZ)
		return -1;
	for (i = 4; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val)
			return -1;
		i++;
		if (!strcmp(opt, "--mac"))
			rq->mac = val;
		else if (!strcmp(opt, "--mtu"))
			rq->mtu = (unsigned int)strtoul(val, NULL, 10);
		else if (!strcmp(opt, "--send"))
			rq->send_fd = atoi(val);
		else if (!strcmp(opt, "--addr") && rq->n_addr < MAX_ITEMS)
			rq->addr[rq->n_addr++] = val;
		else if (!strcmp(opt, "--route") && rq->n_route < MAX_ITEMS)
			rq->route[rq->n_route++] = val;
		else
			return -1;
	}
	return 0;
}

/* Enter the network namespace at @path (a bind mount or /proc/PID/ns/net).
 * Return: 0 or -errno (-ENOENT: no such file, -EINVAL: not a netns).
 */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The attach frame the caller wrote on stdin.  Return: its length or -errno. */
static ssize_t read_frame(char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return len ? (ssize_t)len : -ENODATA;
		len += (size_t)n;
		if (len == cap)
			return -EMSGSIZE;
	}
}

static char frame[MAX_FRAME];
static ssize_t frame_len = -ENODATA;

/* Read the attach frame from stdin before anything can fail, so the caller
 * writing it never meets a closed pipe (EPIPE) when this process gives up
 * early.  Return: 0 or -errno.
 */
static int take_frame(const struct request *rq)
{
	if (rq->send_fd < 0)
		return 0;
	frame_len = read_frame(frame, sizeof(frame));
	return frame_len < 0 ? (int)frame_len : 0;
}

static int send_tap(int sock, int tap)
{
	if (frame_len < 0)
		return (int)frame_len;
	return fdsend_all(sock, frame, (size_t)frame_len, tap, SEND_TIMEOUT_MS);
}

static void delete_tap(int nl, const char *name)
{
	unsigned int idx = if_nametoindex(name);

	if (idx)
		nl_link_del(nl, (int)idx);
}

static int cmd_add(const struct request *rq)
{
	unsigned char mac[6], *macp = NULL;
	char detail[128];
	const char *step;
	struct ifreq ifr;
	int tap = -1, nl = -1, sock = -1, r, i;
	unsigned int idx;

	if (rq->mac) {
		if (nl_mac_parse(rq->mac, mac) < 0)
			return fail(EINVAL, "mac", rq->mac);
		macp = mac;
	}
	if (if_nametoindex(rq->ifname))
		return fail(EEXIST, "link", rq->ifname);
	nl = nl_open();
	if (nl < 0)
		return fail(nl, "socket", "netlink");
	tap = tap_open(rq->ifname, TAP_OFFLOADS | TAP_PERSIST, NULL, &step);
	if (tap < 0) {
		r = fail(tap, step, rq->ifname);
		tap = -1;
		goto out;
	}
	idx = if_nametoindex(rq->ifname);
	r = idx ? nl_link_set(nl, (int)idx, macp, rq->mtu) : -errno;
	if (r) {
		r = fail(r, "rtnetlink(link set)", rq->ifname);
		goto undo;
	}
	for (i = 0; i < rq->n_addr; i++) {
		r = nl_addr_add(nl, (int)idx, rq->addr[i]);
		if (r) {
			snprintf(detail, sizeof(detail), "%s dev %s", rq->addr[i], rq->ifname);
			r = fail(r, "rtnetlink(address add)", detail);
			goto undo;
		}
	}
	for (i = 0; i < rq->n_route; i++) {
		char dst[96], *gw;

		snprintf(dst, sizeof(dst), "%s", rq->route[i]);
		gw = strchr(dst, ',');
		if (gw)
			*gw++ = '\0';
		r = nl_route_add(nl, (int)idx, dst, gw, RTPROT_BOOT);
		if (r) {
			snprintf(detail, sizeof(detail), "%s via %s dev %s", dst, gw && *gw ? gw : "(on-link)", rq->ifname);
			r = fail(r, "rtnetlink(route add)", detail);
			goto undo;
		}
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", rq->ifname);
	if (sock < 0 || ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) {
		r = fail(errno, "ioctl(SIOCGIFHWADDR)", rq->ifname);
		goto undo;
	}
	if (rq->send_fd >= 0) {
		r = send_tap(rq->send_fd, tap);
		if (r) {
			r = fail(r, "sendmsg(attach)", rq->ifname);
			goto undo;
		}
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	printf("%02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	r = 0;
	goto out;
undo:
	delete_tap(nl, rq->ifname);
out:
	if (sock >= 0)
		close(sock);
	if (tap >= 0)
		close(tap);
	close(nl);
	return r;
}

static int cmd_open(const struct request *rq)
{
	const char *step;
	int tap, r;

	if (rq->send_fd < 0)
		return usage();
	if (!if_nametoindex(rq->ifname))
		return fail(ENODEV, "link", rq->ifname);
	tap = tap_open(rq->ifname, TAP_OFFLOADS, NULL, &step);
	if (tap < 0)
		return fail(tap, step, rq->ifname);
	r = send_tap(rq->send_fd, tap);
	close(tap);
	return r ? fail(r, "sendmsg(attach)", rq->ifname) : 0;
}

static int cmd_del(const struct request *rq)
{
	unsigned int idx = if_nametoindex(rq->ifname);
	int nl, r;

	if (!idx) {
		printf("absent\n");
		return 0;
	}
	nl = nl_open();
	if (nl < 0)
		return fail(nl, "socket", "netlink");
	r = nl_link_del(nl, (int)idx);
	close(nl);
	if (r == -ENODEV) {
		printf("absent\n");
		return 0;
	}
	return r ? fail(r, "rtnetlink(link del)", rq->ifname) : 0;
}

/* Whether @cidr (ADDR/PREFIX) is on @ifname, from getifaddrs(3). */
static int has_addr(struct ifaddrs *list, const char *ifname, const char *cidr)
{
	char want[INET6_ADDRSTRLEN + 16], host[INET6_ADDRSTRLEN];
	struct ifaddrs *a;

	for (a = list; a; a = a->ifa_next) {
		int family, bits = 0, i;
		const unsigned char *m;
		size_t mlen;

		if (!a->ifa_addr || strcmp(a->ifa_name, ifname))
			continue;
		family = a->ifa_addr->sa_family;
		if (family == AF_INET) {
			inet_ntop(family, &((struct sockaddr_in *)a->ifa_addr)->sin_addr, host, sizeof(host));
			m = (const unsigned char *)&((struct sockaddr_in *)a->ifa_netmask)->sin_addr;
			mlen = 4;
		} else if (family == AF_INET6) {
			inet_ntop(family, &((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr, host, sizeof(host));
			m = (const unsigned char *)&((struct sockaddr_in6 *)a->ifa_netmask)->sin6_addr;
			mlen = 16;
		} else {
			continue;
		}
		for (i = 0; i < (int)mlen; i++)
			bits += __builtin_popcount(m[i]);
		snprintf(want, sizeof(want), "%s/%d", host, bits);
		if (!strcmp(want, cidr))
			return 1;
	}
	return 0;
}

static int cmd_check(const struct request *rq)
{
	struct ifaddrs *list = NULL;
	struct ifreq ifr;
	int sock, bad = 0, i;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return fail(errno, "socket", "inet");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", rq->ifname);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
		fprintf(stderr, "%s is missing\n", rq->ifname);
		close(sock);
		return EXIT_DIFFERS;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		fprintf(stderr, "%s is down\n", rq->ifname);
		bad = 1;
	}
	if (rq->mtu && ioctl(sock, SIOCGIFMTU, &ifr) == 0 && (unsigned int)ifr.ifr_mtu != rq->mtu) {
		fprintf(stderr, "%s has MTU %d, not %u\n", rq->ifname, ifr.ifr_mtu, rq->mtu);
		bad = 1;
	}
	if (rq->mac && ioctl(sock, SIOCGIFHWADDR, &ifr) == 0) {
		const unsigned char *m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
		char have[18];

		snprintf(have, sizeof(have), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
		if (strcasecmp(have, rq->mac)) {
			fprintf(stderr, "%s has MAC %s, not %s\n", rq->ifname, have, rq->mac);
			bad = 1;
		}
	}
	close(sock);
	if (rq->n_addr && getifaddrs(&list) < 0)
		return fail(errno, "getifaddrs", rq->ifname);
	for (i = 0; i < rq->n_addr; i++) {
		if (!has_addr(list, rq->ifname, rq->addr[i])) {
			fprintf(stderr, "%s lacks address %s\n", rq->ifname, rq->addr[i]);
			bad = 1;
		}
	}
	if (list)
		freeifaddrs(list);
	return bad ? EXIT_DIFFERS : 0;
}

int main(int argc, char **argv)
{
	struct request rq;
	int r;

	if (parse_args(argc, argv, &rq) < 0)
		return usage();
	r = take_frame(&rq);
	if (r)
		return fail(r, "read(stdin)", "attach frame");
	r = enter_netns(rq.netns);
	if (r == -ENOENT && !strcmp(rq.cmd, "del")) {
		printf("absent\n");
		return 0;
	}
	if (r)
		return fail(r, r == -EINVAL ? "setns(not a network namespace)" : "setns", rq.netns);
	if (!strcmp(rq.cmd, "add"))
		return cmd_add(&rq);
	if (!strcmp(rq.cmd, "open"))
		return cmd_open(&rq);
	if (!strcmp(rq.cmd, "del"))
		return cmd_del(&rq);
	if (!strcmp(rq.cmd, "check"))
		return cmd_check(&rq);
	return usage();
}
