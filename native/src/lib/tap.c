/* tap.c - tap devices through /dev/net/tun, see the kernel's
 * Documentation/networking/tuntap.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "containet.h"

int cn_tap_open(const char *name, int flags, char *name_out)
{
	struct ifreq ifr;
	int fd;

	if (name && strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (flags & CN_TAP_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (name)
		strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	if (flags & CN_TAP_VNET_HDR) {
		/* The 12-byte virtio_net_hdr_v1 layout (with num_buffers) is
		 * what the datapath parses; tun defaults to the 10-byte one. */
		int sz = 12;

		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
	}
	if (name_out) {
		memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
		name_out[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

int cn_tap_info(int fd, char *name_out, int *flags_out)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TAP))
		return -EINVAL; /* a tun (L3) device: no ethernet frames */
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	*flags_out = ifr.ifr_flags;
	return 0;
}
