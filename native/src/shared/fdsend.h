/* fdsend.h - send bytes with one file descriptor attached (SCM_RIGHTS).
 * Compiled into each program in src/bin (not into libcontainet.so, whose
 * cn_fd_send() does the same for Node).
 */
#ifndef SHARED_FDSEND_H
#define SHARED_FDSEND_H

#include <stddef.h>

int fdsend_all(int sock, const void *buf, size_t len, int fd, int timeout_ms);

#endif /* SHARED_FDSEND_H */
