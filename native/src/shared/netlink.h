/* netlink.h - rtnetlink(7) requests the helper programs make inside a
 * network namespace: link up with MAC and MTU, link deletion, addresses,
 * routes. One NETLINK_ROUTE socket, one request at a time, each acked.
 * Compiled into each program in src/bin (not into libcontainet.so).
 */
#ifndef SHARED_NETLINK_H
#define SHARED_NETLINK_H

int nl_open(void);
int nl_link_set(int nl, int ifindex, const unsigned char *mac, unsigned int mtu);
int nl_link_del(int nl, int ifindex);
int nl_addr_add(int nl, int ifindex, const char *cidr);
int nl_route_add(int nl, int ifindex, const char *dst, const char *gw,
		 unsigned char protocol);
int nl_mac_parse(const char *text, unsigned char *mac);

#endif /* SHARED_NETLINK_H */
