/* logfile.c - a detached container's rotated log file (see logfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logfile.h"

static int open_log(struct logfile *lf, int trunc)
{
	off_t end;

	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0640);
	if (lf->fd < 0)
		return -errno;
	end = lseek(lf->fd, 0, SEEK_END);
	lf->size = end > 0 ? (unsigned long)end : 0;
	return 0;
}

/* logfile_open() - open (append to) @path; rotate past @max bytes keeping @keep old files.
 * Return: 0 or -errno.
 */
int logfile_open(struct logfile *lf, const char *path, unsigned long max, int keep)
{
	lf->path = path;
	lf->max = max ? max : 1 << 20;
	lf->keep = keep < 0 ? 0 : keep;
	lf->out.name = "stdout";
	lf->out.len = 0;
	lf->err.name = "stderr";
	lf->err.len = 0;
	return open_log(lf, 0);
}

/* PATH.keep goes, PATH.N becomes PATH.N+1, PATH becomes PATH.1 (or is
 * emptied when no old file is kept), then a fresh PATH. A reader that
 * follows the file sees its inode change. */
static void rotate(struct logfile *lf)
{
	char from[4096], to[4096];
	int i;

	close(lf->fd);
	lf->fd = -1;
	if (lf->keep > 0) {
		snprintf(to, sizeof(to), "%s.%d", lf->path, lf->keep);
		unlink(to);
		for (i = lf->keep - 1; i >= 1; i--) {
			snprintf(from, sizeof(from), "%s.%d", lf->path, i);
			snprintf(to, sizeof(to), "%s.%d", lf->path, i + 1);
			rename(from, to);
		}
		snprintf(to, sizeof(to), "%s.1", lf->path);
		rename(lf->path, to);
	}
	open_log(lf, 1);
}

/* One record: `TIMESTAMP STREAM F|P TEXT\n`. */
static void write_record(struct logfile *lf, const char *stream, int partial, const char *text, size_t len)
{
	char head[80];
	struct timespec ts;
	struct tm tm;
	size_t hn;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	hn = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
	hn += (size_t)snprintf(head + hn, sizeof(head) - hn, ".%09ldZ %s %c ", ts.tv_nsec, stream, partial ? 'P' : 'F');
	if (lf->fd >= 0 && lf->size > 0 && lf->size + hn + len + 1 > lf->max)
		rotate(lf);
	if (lf->fd < 0)
		return;
	{
		struct iovec_like { const void *b; size_t n; } parts[3] = { { head, hn }, { text, len }, { "\n", 1 } };
		int i;

		for (i = 0; i < 3; i++) {
			const char *p = parts[i].b;
			size_t left = parts[i].n;

			while (left) {
				ssize_t w = write(lf->fd, p, left);

				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					return;	/* a full disk loses output, never the container */
				p += w;
				left -= (size_t)w;
				lf->size += (unsigned long)w;
			}
		}
	}
}

/* logfile_feed() - @len bytes the program wrote on @st: complete lines are
 * written as F records, a line that fills the buffer as a P record.
 */
void logfile_feed(struct logfile *lf, struct logstream *st, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;

		if (take > sizeof(st->buf) - st->len)
			take = sizeof(st->buf) - st->len;
		memcpy(st->buf + st->len, data, take);
		st->len += take;
		data += take;
		len -= take;
		if (len && *data == '\n' && nl) {
			write_record(lf, st->name, 0, st->buf, st->len);
			st->len = 0;
			data++;
			len--;
		} else if (st->len == sizeof(st->buf)) {
			write_record(lf, st->name, 1, st->buf, st->len);
			st->len = 0;
		}
	}
}

/* logfile_flush() - what is left of unfinished lines, as P records (the program ended). */
void logfile_flush(struct logfile *lf)
{
	if (lf->out.len)
		write_record(lf, lf->out.name, 1, lf->out.buf, lf->out.len);
	if (lf->err.len)
		write_record(lf, lf->err.name, 1, lf->err.buf, lf->err.len);
	lf->out.len = lf->err.len = 0;
}

/* logfile_copy() - read what @fd (non-blocking) holds into @st.
 * Return: bytes read, 0 at end of file, -errno (-EAGAIN: nothing now).
 */
int logfile_copy(struct logfile *lf, struct logstream *st, int fd)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return -errno;
	logfile_feed(lf, st, buf, (size_t)n);
	return (int)n;
}
