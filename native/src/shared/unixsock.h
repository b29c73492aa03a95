/* unixsock.h - unix stream sockets: connecting, and sending bytes with one
 * file descriptor attached (SCM_RIGHTS). Compiled into each program in
 * src/bin and into libcontainet.so, whose cn_unix_connect() and
 * cn_fd_send() are these for Node.
 */
#ifndef SHARED_UNIXSOCK_H
#define SHARED_UNIXSOCK_H

#include <stddef.h>

int fdsend_all(int sock, const void *buf, size_t len, int fd, int timeout_ms);

/* unix_connect() - a new SOCK_STREAM | SOCK_CLOEXEC unix socket connected
 * (blocking) to @path.
 * Return: the socket, or -errno (-ENAMETOOLONG: @path does not fit).
 */
int unix_connect(const char *path);

#endif /* SHARED_UNIXSOCK_H */
