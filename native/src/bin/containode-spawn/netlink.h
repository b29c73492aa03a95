/* netlink.h - the container's interfaces: taps made inside its network
 * namespace, configured over rtnetlink (no `ip` binary needed).
 */
#ifndef SPAWN_NETLINK_H
#define SPAWN_NETLINK_H

struct spec;

int net_setup(const struct spec *s, int pid, int *tap_fds, char (*macs)[18],
	      const char **step, char *detail, unsigned long detail_cap);

#endif /* SPAWN_NETLINK_H */
