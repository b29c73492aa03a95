/* rmtree.c - the spawner's `orphan_rmtree` cleanup: a container's top
 * directory (overlay upper/ and work/, written by the container) removed
 * when its caller died. Its content is the container's doing, so nothing
 * in it is trusted: symlinks are unlinked, never followed (every open is
 * relative to a directory fd, O_NOFOLLOW), and a directory on another
 * filesystem (a mount point) is left alone rather than emptied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rmtree.h"

/* Deep enough for any real tree; bounds the fds held open at once. */
#define MAX_DEPTH 256

/* Remove @name in @dirfd; for a directory, its content first. Returns 0 or
 * the first -errno met (the rest is still attempted). */
static int remove_at(int dirfd, const char *name, dev_t dev, int depth)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, r = 0, q;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	if (depth >= MAX_DEPTH)
		return -ELOOP;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		q = remove_at(fd, e->d_name, dev, depth + 1);
		if (q && !r)
			r = q;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

/* rmtree() - remove @path (absolute) and everything under it on its
 * filesystem. Return: 0, or the first -errno. */
int rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return remove_at(AT_FDCWD, path, st.st_dev, 0);
}
