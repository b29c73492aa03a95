/* capfilter.h - capture filters: pcap-filter(7) expressions compiled by
 * libpcap into classic BPF for Ethernet frames (DLT_EN10MB, snaplen 65535)
 * and run by libpcap's kernel-compatible interpreter, bpf_filter(), on
 * every frame of a capture, so frames a capture does not want never leave
 * the datapath.
 *
 * A filter is compiled for a capture fd before the switch takes that fd
 * (cn_capture_filter()): it waits in a small table until capture_open()
 * takes it, so a capture filters from its first frame on.
 */
#ifndef CAPFILTER_H
#define CAPFILTER_H

#include <stddef.h>

struct capfilter;

/* capfilter_compile() - compile pcap-filter(7) @expr into @out.
 * Return: 0, -EINVAL with libpcap's message in @err (@errlen bytes),
 * -ENOMEM.
 */
int capfilter_compile(const char *expr, struct capfilter **out, char *err, size_t errlen);

/* capfilter_match() - run @f on the @len bytes of the frame at @frame.
 * Return: non-zero when the frame is wanted.
 */
int capfilter_match(const struct capfilter *f, const void *frame, size_t len);

/* capfilter_free() - release @f (NULL is fine).  Return: nothing. */
void capfilter_free(struct capfilter *f);

/* capfilter_take() - the filter waiting for the capture of @fd, which now
 * owns it, or NULL.
 * Return: the filter or NULL.
 */
struct capfilter *capfilter_take(int fd);

#endif /* CAPFILTER_H */
