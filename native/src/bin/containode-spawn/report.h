/* report.h - the spawner's two channels: the control socket to the caller
 * (text lines, SPAWN.md) and the report socket from the container init.
 */
#ifndef SPAWN_REPORT_H
#define SPAWN_REPORT_H

#include <stddef.h>

#define LINE_MAX_BYTES 65536

/* Buffered line reader over a stream socket; keeps bytes read past a line. */
struct linebuf {
	char buf[LINE_MAX_BYTES];
	size_t len;	/* bytes in buf */
	size_t skip;	/* bytes of the last returned line, dropped on next call */
};

int ctl_connect(const char *addr);
int ctl_readline(struct linebuf *lb, int fd, char **line);
int ctl_send(int fd, const char *msg, int pass_fd);
int ctl_sendf(int fd, int pass_fd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fmt_error(char *out, size_t cap, int err, const char *step, const char *detail);
int report_send(int sock, const char *msg, int pass_fd);
long report_recv(int sock, char *buf, size_t cap, int *fd_out);
void report_fail(int sock, int err, const char *step, const char *detail);

#endif /* SPAWN_REPORT_H */
