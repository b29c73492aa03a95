/* copyup.c - see copyup.h.
 *
 * `tmpcopyup` (runc's libcontainer/rootfs_linux.go, crun's
 * `tmpcopyup`): a tmpfs mounted over an image directory starts with that
 * directory's files, so `podman run --read-only` keeps what the image has
 * in /run, /tmp, /var/tmp. Every entry keeps its type, mode, owner and
 * content; device nodes and fifos are made again with mknodat(2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copyup.h"

#define COPYUP_MAX_DEPTH 64

static int copy_file(int from, int to, const char *name, const struct stat *st)
{
	char buf[65536];
	int in, out, r = 0;
	ssize_t n;

	in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0) {
				r = -errno;
				goto out;
			}
			p += w;
			n -= w;
		}
	}
	if (n < 0)
		r = -errno;
out:
	close(in);
	close(out);
	return r;
}

/* copy_entries() - every entry of directory @from into directory @to.
 * Return: 0 or -errno.
 */
static int copy_entries(int from, int to, int depth)
{
	struct dirent *e;
	int dfd, r = 0;
	DIR *d;

	if (depth > COPYUP_MAX_DEPTH)
		return -ELOOP;
	dfd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (!r && (e = readdir(d))) {
		const char *name = e->d_name;
		char target[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub_from, sub_to;

			if (mkdirat(to, name, st.st_mode & 07777) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			sub_from = openat(from, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			sub_to = openat(to, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				r = -errno;
			else
				r = copy_entries(sub_from, sub_to, depth + 1);
			if (sub_from >= 0)
				close(sub_from);
			if (sub_to >= 0)
				close(sub_to);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(from, to, name, &st);
		} else if (S_ISLNK(st.st_mode)) {
			n = readlinkat(from, name, target, sizeof(target) - 1);
			if (n < 0) {
				r = -errno;
				break;
			}
			target[n] = '\0';
			if (symlinkat(target, to, name) < 0)
				r = -errno;
		} else if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) {
			r = -errno;
		}
		if (r)
			break;
		if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
			r = -errno;
		/* The mode again: mkdirat and openat apply the umask. */
		else if (!S_ISLNK(st.st_mode) && fchmodat(to, name, st.st_mode & 07777, 0) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

/* copyup_tree() - copy the contents of directory @from (any fd of it, e.g.
 * O_PATH of the directory a mount now covers) into directory @to.
 * Return: 0 or -errno.
 */
int copyup_tree(int from, int to)
{
	return copy_entries(from, to, 0);
}
