/* bpfcache.c - see bpfcache.h.
 *
 * File layout (host byte order; the cache never leaves the machine):
 *   "CNBPF\001\0\0"  magic and version, 8 bytes
 *   u32 text_len, u32 unknown_len, u32 insns, u32 zero
 *   text, unknown names (no NUL), insns * struct sock_filter
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bpfcache.h"
#include "seccomp.h"

static const char magic[8] = "CNBPF\001\0";

struct header {
	char magic[8];
	uint32_t text_len, unknown_len, insns, zero;
};

/* FNV-1a, 64 bits: a file name, not a proof (the text is compared). */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Ours alone: owned by our euid, nobody else may write. */
static int trusted(const struct stat *st, mode_t type)
{
	return (st->st_mode & S_IFMT) == type && st->st_uid == geteuid() && !(st->st_mode & 022);
}

static int file_path(char *out, size_t cap, const char *dir, const char *text, size_t len)
{
	int n = snprintf(out, cap, "%s/%016llx.bpf", dir, (unsigned long long)fnv1a(text, len));

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* bpfcache_load() - the program compiled earlier from exactly @text, and
 * the unknown names found then, into @prog (malloc'd) and @unknown.
 * Return: 1 when found, 0 when not (nothing changed).
 */
int bpfcache_load(const char *dir, const char *text, size_t len,
		  struct seccomp_prog *prog, char *unknown, size_t unknown_cap)
{
	char path[PATH_MAX], *buf = NULL;
	struct header h;
	struct stat st;
	int fd, ok = 0;
	size_t size;

	if (file_path(path, sizeof(path), dir, text, len) ||
	    lstat(dir, &st) < 0 || !trusted(&st, S_IFDIR))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !trusted(&st, S_IFREG) || st.st_size < (off_t)sizeof(h) ||
	    read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || memcmp(h.magic, magic, sizeof(magic)) ||
	    h.text_len != len || h.unknown_len >= unknown_cap || !h.insns || h.insns > BPF_MAXINSNS)
		goto out;
	size = (size_t)h.text_len + h.unknown_len + (size_t)h.insns * sizeof(struct sock_filter);
	if ((off_t)(sizeof(h) + size) != st.st_size || !(buf = malloc(size)) ||
	    read(fd, buf, size) != (ssize_t)size || memcmp(buf, text, len))
		goto out;
	memcpy(unknown, buf + len, h.unknown_len);
	unknown[h.unknown_len] = '\0';
	prog->len = (unsigned short)h.insns;
	prog->filter = malloc((size_t)h.insns * sizeof(struct sock_filter));
	if (!prog->filter)
		goto out;
	memcpy(prog->filter, buf + len + h.unknown_len, (size_t)h.insns * sizeof(struct sock_filter));
	ok = 1;
out:
	free(buf);
	close(fd);
	return ok;
}

/* Files in @dir, up to the bound (a directory we cannot read counts as full). */
static int dir_full(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)) && n < BPFCACHE_MAX_FILES)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n >= BPFCACHE_MAX_FILES;
}

/* bpfcache_store() - keep @prog for @text. Best effort: a cache that
 * cannot be written only costs the next start the compile time. The file
 * appears whole or not at all (written aside, then renamed).
 */
void bpfcache_store(const char *dir, const char *text, size_t len,
		    const struct seccomp_prog *prog, const char *unknown)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	struct header h = { .text_len = (uint32_t)len, .unknown_len = (uint32_t)strlen(unknown),
			    .insns = prog->len };
	struct iovec iov[4];
	size_t total;
	struct stat st;
	int fd;

	memcpy(h.magic, magic, sizeof(magic));
	/* Parents as any state directory (0755), the cache itself ours alone. */
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; (p = strchr(p, '/')); *p++ = '/') {
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	if (lstat(dir, &st) < 0 || !trusted(&st, S_IFDIR) || dir_full(dir) ||
	    file_path(path, sizeof(path), dir, text, len))
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ (void *)text, len };
	iov[2] = (struct iovec){ (void *)unknown, h.unknown_len };
	iov[3] = (struct iovec){ prog->filter, (size_t)prog->len * sizeof(struct sock_filter) };
	total = sizeof(h) + len + h.unknown_len + iov[3].iov_len;
	if (writev(fd, iov, 4) != (ssize_t)total) {
		close(fd);
		unlink(tmp);
		return;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}
