/* logfile.h - a detached container's output as a size-bounded, rotated
 * log file in the CRI logging format (what kubelet, CRI-O's conmon and
 * containerd write): one record per line,
 *
 *   TIMESTAMP STREAM TAG TEXT\n
 *
 * TIMESTAMP RFC 3339 with nanoseconds in UTC, STREAM `stdout` or `stderr`,
 * TAG `F` (the line ended with a newline, which is not kept) or `P` (a
 * partial line: longer than LOGFILE_LINE_MAX, or cut by the program's end;
 * the next record continues it). When the file would pass its size bound,
 * PATH.1 .. PATH.KEEP shift up (the oldest goes) and PATH starts empty.
 */
#ifndef SPAWN_LOGFILE_H
#define SPAWN_LOGFILE_H

#include <stddef.h>

#define LOGFILE_LINE_MAX 16384

struct logstream {
	const char *name;		/* "stdout" or "stderr" */
	char buf[LOGFILE_LINE_MAX];	/* the line being assembled */
	size_t len;
};

struct logfile {
	const char *path;
	unsigned long max;	/* bytes per file */
	int keep;		/* rotated files kept: PATH.1 .. PATH.keep */
	int fd;
	unsigned long size;
	struct logstream out, err;
};

int logfile_open(struct logfile *lf, const char *path, unsigned long max, int keep);
void logfile_feed(struct logfile *lf, struct logstream *st, const char *data, size_t len);
void logfile_flush(struct logfile *lf);
int logfile_copy(struct logfile *lf, struct logstream *st, int fd);

#endif /* SPAWN_LOGFILE_H */
