/* netlink.c - the container's network: inside its network namespace, lo
 * up and the tap with its MAC, MTU, addresses and default routes, made with
 * the rtnetlink requests and tap of src/shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"
#include "shared/netlink.h"
#include "shared/tap.h"
#include "spec.h"

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

/* One tap of the spec: made, MAC and MTU set, up. Return: its fd or -errno. */
static int tap_setup(int nl, int ioc, const struct tap_ent *t, const char **step,
		     char *detail, unsigned long cap)
{
	char ifname[IFNAMSIZ] = "";
	unsigned char mac[6];
	int fd, idx, r;

	snprintf(detail, cap, "%s", t->name);
	fd = tap_open(t->name, 0, ifname, step);
	if (fd < 0)
		return fd;
	*step = "rtnetlink(link set)";
	if (t->mac && nl_mac_parse(t->mac, mac)) {
		snprintf(detail, cap, "MAC %s", t->mac);
		close(fd);
		return -EINVAL;
	}
	idx = ifindex_of(ioc, ifname, NULL);
	r = idx < 0 ? idx : nl_link_set(nl, idx, t->mac ? mac : NULL, t->mtu);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* net_setup() - in the network namespace of @pid: lo up, and each tap
 * line's tap with its MAC/MTU, up, then the addresses and default routes.
 * The spawner's own namespace is restored before returning.
 * Return: 0 with the taps' fds in @tap_fds and their MACs in @macs (in
 * the order of the spec's tap lines), or -errno with the failing step and
 * its argument (no fd left open then).
 */
int net_setup(const struct spec *s, int pid, int *tap_fds, char (*macs)[18],
	      const char **step, char *detail, unsigned long cap)
{
	char path[64];
	unsigned char mac[6];
	int self = -1, target = -1, nl = -1, ioc = -1, idx, r = 0, i;

	for (i = 0; i < s->n_taps; i++) {
		tap_fds[i] = -1;
		macs[i][0] = '\0';
	}
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
	nl = nl_open();
	ioc = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nl < 0 || ioc < 0) {
		r = nl < 0 ? nl : -errno;
		*step = "socket";
		snprintf(detail, cap, "%s", nl < 0 ? "netlink" : "inet");
		goto back;
	}
	*step = "rtnetlink(link up)";
	snprintf(detail, cap, "lo");
	idx = ifindex_of(ioc, "lo", NULL);
	r = idx < 0 ? idx : nl_link_set(nl, idx, NULL, 0);
	if (r)
		goto back;
	for (i = 0; i < s->n_taps; i++) {
		r = tap_setup(nl, ioc, &s->taps[i], step, detail, cap);
		if (r < 0)
			goto back;
		tap_fds[i] = r;
		r = 0;
	}
	for (i = 0; i < s->n_addrs; i++) {
		int ai = ifindex_of(ioc, s->addr_if[i], NULL);

		*step = "rtnetlink(address add)";
		snprintf(detail, cap, "%s %s", s->addr_if[i], s->addr[i]);
		r = ai < 0 ? ai : nl_addr_add(nl, ai, s->addr[i]);
		if (r)
			goto back;
	}
	for (i = 0; i < s->n_routes; i++) {
		int ri = ifindex_of(ioc, s->route_if[i], NULL);

		*step = "rtnetlink(route add)";
		snprintf(detail, cap, "default via %s dev %s", s->route_gw[i], s->route_if[i]);
		r = ri < 0 ? ri : nl_route_add(nl, ri, NULL, s->route_gw[i], RTPROT_STATIC);
		if (r)
			goto back;
	}
	for (i = 0; i < s->n_taps; i++) {
		r = ifindex_of(ioc, s->taps[i].name, mac);
		if (r < 0) {
			*step = "ioctl(SIOCGIFHWADDR)";
			snprintf(detail, cap, "%s", s->taps[i].name);
			goto back;
		}
		r = 0;
		snprintf(macs[i], 18, "%02x:%02x:%02x:%02x:%02x:%02x",
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}
back:
	if (setns(self, CLONE_NEWNET) < 0 && !r) {
		r = -errno;
		*step = "setns(back)";
	}
out:
	for (i = 0; r && i < s->n_taps; i++) {
		if (tap_fds[i] >= 0)
			close(tap_fds[i]);
		tap_fds[i] = -1;
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
