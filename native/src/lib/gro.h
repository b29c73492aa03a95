/* gro.h - coalescing of received TCP/IPv4 segments back into one GSO frame
 * (what the kernel's GRO does, Documentation/networking/segmentation-
 * offloads.rst), so that a train of VXLAN datagrams reaches a vnet tap in
 * one write.
 *
 * Only segments that the sender's TSO could have cut from one frame are
 * merged: plain Ethernet + IPv4 without options or fragmentation + TCP,
 * identical headers except IP length/id/checksum and TCP sequence, flags
 * and checksum, consecutive sequence numbers, flags ACK (PSH allowed and
 * ending the frame), every segment but the last exactly as long as the
 * first, and every IP header and TCP checksum verified first: the merged
 * frame carries NEEDS_CSUM, which receivers trust without checking.
 *
 * States: EMPTY (@n 0); HELD (@n >= 1 segments at the start of @frame,
 * their merged length @len). gro_flush() turns HELD into a frame ready to
 * forward and goes back to EMPTY.
 */
#ifndef GRO_H
#define GRO_H

#include <stddef.h>
#include <stdint.h>

#include "vnet.h"

struct gro {
	int n;			/* segments held */
	size_t len;		/* bytes of frame held */
	size_t mss;		/* payload of the first segment */
	uint32_t next_seq;	/* sequence number the next segment must have */
	int closed;		/* a short or PSH segment ended the frame */
};

/* gro_add() - append segment @seg (@len bytes) to the frame held in
 * @frame (@cap bytes), or start one when @g is EMPTY.
 * Return: 1 when @seg is now part of the held frame, 0 when it can't be
 * merged (the caller flushes and forwards it alone, or starts anew).
 */
int gro_add(struct gro *g, uint8_t *frame, size_t cap, const uint8_t *seg, size_t len);

/* gro_flush() - finish the held frame: IP length and header checksum,
 * TCP pseudo-header sum, and in @h a TCPV4 GSO header (or an all-zero one
 * for a single segment, which is left untouched).
 * Return: length of the frame in @frame; @g is EMPTY again.
 */
size_t gro_flush(struct gro *g, uint8_t *frame, struct virtio_net_hdr_v1 *h);

#endif /* GRO_H */
