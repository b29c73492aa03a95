/* inroot.c - resolve a container path under its root with openat2(2)
 * RESOLVE_IN_ROOT (Linux 5.6): ".." and absolute symlinks are clamped to
 * the root, as if the process were chrooted there, and magic links are
 * refused. A mount destination planted as a symlink by the image (say
 * /etc -> /host/etc) therefore lands inside the root, never on the host
 * (the class of bug behind runc's CVE-2021-30465).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "inroot.h"

static int openat2_in(int rootfd, const char *path, int oflags)
{
	struct open_how how = {
		.flags = (unsigned long long)(oflags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN); /* a concurrent rename: retry */
	return fd < 0 ? -errno : (int)fd;
}

/* create_last() - make the last component of @prefix (whose parent is
 * @parent_path under @rootfd) a directory, or an empty file with
 * INROOT_FILE when @last.  Return: 0 or -errno.
 */
static int create_last(int rootfd, const char *parent_path, const char *name, int file)
{
	int dir = openat2_in(rootfd, parent_path[0] ? parent_path : "/", O_PATH | O_DIRECTORY);
	int r = 0;

	if (dir < 0)
		return dir;
	if (file) {
		int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd < 0 && errno != EEXIST)
			r = -errno;
		if (fd >= 0)
			close(fd);
	} else if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
		r = -errno;
	}
	close(dir);
	return r;
}

/* inroot_open() - an O_PATH fd of @path resolved inside @root ("" = "/"),
 * creating what is missing with INROOT_MKDIR (INROOT_FILE: the last
 * component as a file). Use the fd as /proc/self/fd/N for mount(2).
 * Return: the fd, or -errno (-ENAMETOOLONG, -ENOENT, -ELOOP, ...).
 */
int inroot_open(const char *root, const char *path, int flags)
{
	char prefix[PATH_MAX], parent[PATH_MAX];
	const char *p = path;
	int rootfd, fd;

	if (strlen(path) >= sizeof(prefix))
		return -ENAMETOOLONG;
	rootfd = open(root[0] ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;

	prefix[0] = '\0';
	for (;;) {
		const char *end;
		size_t len, plen;
		int last;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		plen = strlen(prefix);
		strcpy(parent, prefix);
		prefix[plen] = '/';
		memcpy(prefix + plen + 1, p, len);
		prefix[plen + 1 + len] = '\0';
		p = end;
		while (*p == '/')
			p++;
		last = !*p;

		fd = openat2_in(rootfd, prefix, O_PATH);
		if (fd == -ENOENT && (flags & INROOT_MKDIR)) {
			char name[NAME_MAX + 1];

			if (len > NAME_MAX) {
				close(rootfd);
				return -ENAMETOOLONG;
			}
			memcpy(name, prefix + plen + 1, len);
			name[len] = '\0';
			fd = create_last(rootfd, parent, name, last && (flags & INROOT_FILE));
			if (fd == 0)
				fd = openat2_in(rootfd, prefix, O_PATH);
		}
		if (fd < 0) {
			close(rootfd);
			return fd;
		}
		if (last) {
			close(rootfd);
			return fd;
		}
		close(fd);
	}
	/* The path named the root itself. */
	fd = openat2_in(rootfd, "/", O_PATH);
	close(rootfd);
	return fd;
}
