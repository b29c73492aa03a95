/* tap.h - a tap device as containet's datapath reads it: IFF_TAP, no
 * packet information, a 12-byte virtio-net header before each frame.
 * Compiled into each program in src/bin (not into libcontainet.so).
 */
#ifndef SHARED_TAP_H
#define SHARED_TAP_H

/* struct virtio_net_hdr_v1 without the hash report (virtio 1.1 5.1.6):
 * what containet's datapath reads and writes. */
#define TAP_VNET_HDR_LEN 12

/* tap_open() options */
#define TAP_OFFLOADS	(1U << 0)	/* TUNSETOFFLOAD: CSUM, TSO4/6, ECN */
#define TAP_PERSIST	(1U << 1)	/* TUNSETPERSIST: outlive the fd */

int tap_open(const char *name, unsigned int opts, char *name_out,
	     const char **step);

#endif /* SHARED_TAP_H */
