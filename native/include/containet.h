/* containet.h - the whole C surface that packages/common loads with koffi.
 *
 * Only numbers, byte buffers and file descriptors cross this boundary. Every
 * exported symbol starts with cn_. Unless a function says otherwise it
 * returns 0 (or a non-negative count) on success and -errno on failure, so
 * the TypeScript side can turn the value into an error with a code once.
 */
#ifndef CONTAINET_H
#define CONTAINET_H

#include <stddef.h>
#include <stdint.h>

/* ---- fdpass.c: a message body plus at most one fd over a unix socket ---- */

/* cn_fd_send() - send @len bytes of @buf on stream socket @sock, with @fd
 * attached to the first byte as SCM_RIGHTS (@fd < 0: no fd). Loops over
 * partial writes; waits (poll) up to @timeout_ms when the socket is
 * non-blocking and full.
 * Return: @len on success, -errno on failure (-ETIMEDOUT on timeout).
 */
long cn_fd_send(int sock, const uint8_t *buf, size_t len, int fd, int timeout_ms);

/* cn_fd_recv() - one recvmsg() of at most @cap bytes into @buf. A passed fd
 * is stored in *@fd_out (close-on-exec) or -1 if none came; if more than
 * one fd arrived, the extras are closed. Non-blocking: MSG_DONTWAIT.
 * Return: bytes read (0 at end of stream), -errno on failure (-EAGAIN when
 * nothing is waiting).
 */
long cn_fd_recv(int sock, uint8_t *buf, size_t cap, int *fd_out);

/* cn_fd_close() - close(@fd).  Return: 0 or -errno. */
int cn_fd_close(int fd);

/* cn_fd_dup() - F_DUPFD_CLOEXEC copy of @fd.  Return: new fd or -errno. */
int cn_fd_dup(int fd);

/* cn_unix_connect() - blocking connect of a new SOCK_STREAM unix socket to
 * @path (close-on-exec).  Return: the socket fd, or -errno.
 */
int cn_unix_connect(const char *path);

/* cn_peer_cred() - SO_PEERCRED of unix socket @sock into @pid/@uid/@gid.
 * Return: 0 or -errno.
 */
int cn_peer_cred(int sock, int *pid, int *uid, int *gid);

/* ---- tap.c: tap devices in the calling thread's network namespace ---- */

#define CN_TAP_VNET_HDR 0x1 /* IFF_VNET_HDR: frames carry virtio_net_hdr_v1 */

/* cn_tap_open() - create (or open) tap @name (IFF_TAP|IFF_NO_PI, plus
 * IFF_VNET_HDR with CN_TAP_VNET_HDR) in the calling thread's network
 * namespace. The kernel's chosen name is written to @name_out (at least
 * 16 bytes). The fd is close-on-exec and non-blocking.
 * Return: the tap fd, or -errno.
 */
int cn_tap_open(const char *name, int flags, char *name_out);

/* cn_tap_info() - check that @fd is a tap (TUNGETIFF) and report its name
 * into @name_out (16 bytes) and its IFF_* flags into *@flags_out.
 * Return: 0, -EBADFD/-EINVAL/-ENOTTY when @fd is not a tun/tap, or -errno.
 */
int cn_tap_info(int fd, char *name_out, int *flags_out);

/* ---- poll.c: wait for readable fds off the JavaScript thread ---- */

/* cn_poll_create() - an epoll set plus an internal eventfd that
 * cn_poll_wake() uses to interrupt a waiter.  Return: handle (>= 0) or -errno.
 */
int cn_poll_create(void);
/* cn_poll_add()/cn_poll_del() - watch @fd for input (level-triggered)
 * or stop watching it.  Return: 0 or -errno.
 */
int cn_poll_add(int poller, int fd);
int cn_poll_del(int poller, int fd);
/* cn_poll_wait() - block up to @timeout_ms (-1: forever) until fds are
 * readable or hung up; store up to @max of them in @fds. Called through
 * koffi's async path so it blocks a worker thread, never the event loop.
 * Return: number of fds stored (0 on timeout or wake), or -errno.
 */
int cn_poll_wait(int poller, int *fds, int max, int timeout_ms);
/* cn_poll_wake() - make a current or the next cn_poll_wait() return 0. */
int cn_poll_wake(int poller);
/* cn_poll_destroy() - close the set.  Return: 0 or -errno. */
int cn_poll_destroy(int poller);

#endif /* CONTAINET_H */
