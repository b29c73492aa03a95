/* netlink.h - the container's eth0: a tap made inside its network
 * namespace, configured over rtnetlink (no `ip` binary needed).
 */
#ifndef SPAWN_NETLINK_H
#define SPAWN_NETLINK_H

struct spec;

int net_setup(const struct spec *s, int pid, int *tap_fd, char *mac_out,
	      const char **step, char *detail, unsigned long detail_cap);

#endif /* SPAWN_NETLINK_H */
