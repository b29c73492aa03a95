/* capture.h - port mirroring into a pcap stream (the classic libpcap file
 * format, https://wiki.wireshark.org/Development/LibpcapFileFormat) on a
 * socket or pipe handed over by the control plane.
 *
 * Capture states:
 *   FREE    @fd is -1.
 *   ACTIVE  records are written without ever blocking the datapath: a
 *           record that does not fit is dropped whole and counted; the tail
 *           of a partly written record is kept in @pend and sent first, so
 *           the stream always stays a valid pcap file.
 *   DEAD    @dead_err set (the reader went away: EPIPE/ECONNRESET); the
 *           switch closes it at the end of the batch and queues an event.
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CAPTURE_REC_HDR 16

struct capture {
	int fd;
	uint32_t id;
	uint32_t port;		/* port id mirrored, 0: every frame once */
	uint32_t snaplen;
	int is_sock;		/* send(MSG_NOSIGNAL) rather than write() */
	int dead_err;
	uint64_t written, dropped;
	uint8_t *pend;		/* unsent tail of the last record */
	size_t pend_len, pend_off;
	struct capfilter *filter;	/* frames it rejects are skipped; NULL: all */
};

/* capture_open() - take over @fd (a socket or pipe) and the filter waiting
 * for it (capfilter.h), make it non-blocking and write the pcap global
 * header (link type EN10MB, @snaplen).
 * Return: 0, -ENOMEM, -EINVAL for a snaplen out of 64..262144, or -errno.
 */
int capture_open(struct capture *c, int fd, uint32_t snaplen);

/* capture_frame() - append one record for the @n segments in @v (each a
 * whole frame as on the wire).
 * Return: nothing; outcomes are counted in @c.
 */
void capture_frames(struct capture *c, const struct iovec *v, int n);

/* capture_close() - close the fd, free buffers, mark FREE.  Return: nothing. */
void capture_close(struct capture *c);

#endif /* CAPTURE_H */
