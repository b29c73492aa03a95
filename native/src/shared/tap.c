/* tap.c - open a tap by name in the current network namespace, see the
 * kernel's Documentation/networking/tuntap.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tap.h"

/* tap_open() - open tap @name (created if absent, joined if it persists)
 * with the virtio-net header; @opts: TAP_OFFLOADS, TAP_PERSIST. The name
 * the kernel chose (a "%d" in @name is filled in) goes to @name_out
 * (IFNAMSIZ bytes) unless it is NULL; *@step names the call that failed.
 * Return: the fd (close-on-exec) or -errno.
 */
int tap_open(const char *name, unsigned int opts, char *name_out,
	     const char **step)
{
	unsigned int offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int fd, hdr = TAP_VNET_HDR_LEN, err;
	struct ifreq ifr;

	*step = "open(/dev/net/tun)";
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	*step = "ioctl(TUNSETIFF)";
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto err;
	*step = "ioctl(TUNSETVNETHDRSZ)";
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		goto err;
	*step = "ioctl(TUNSETOFFLOAD)";
	if ((opts & TAP_OFFLOADS) && ioctl(fd, TUNSETOFFLOAD, offloads) < 0)
		goto err;
	*step = "ioctl(TUNSETPERSIST)";
	if ((opts & TAP_PERSIST) && ioctl(fd, TUNSETPERSIST, 1) < 0)
		goto err;
	if (name_out)
		snprintf(name_out, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
err:
	err = errno;
	close(fd);
	return -err;
}
