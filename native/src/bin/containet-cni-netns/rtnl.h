/* rtnl.h - rtnetlink(7) requests the CNI helper makes inside a pod's
 * network namespace: link up with MAC and MTU, addresses, routes, link
 * deletion. One NETLINK_ROUTE socket, one request at a time, each acked.
 */
#ifndef CNI_RTNL_H
#define CNI_RTNL_H

int rtnl_open(void);
int rtnl_link_set(int nl, int ifindex, const unsigned char *mac, unsigned int mtu);
int rtnl_link_del(int nl, int ifindex);
int rtnl_addr_add(int nl, int ifindex, const char *cidr);
int rtnl_route_add(int nl, int ifindex, const char *dst, const char *gw);

#endif /* CNI_RTNL_H */
