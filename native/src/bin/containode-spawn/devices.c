/* devices.c - mknod(2) of the container's device nodes. In a user
 * namespace mknod of devices is refused (EPERM, user_namespaces(7)), so the
 * host's node is bind-mounted instead, as other runtimes do.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devices.h"
#include "inroot.h"
#include "mounts.h"
#include "report.h"
#include "spec.h"

static int fail(int rep, int err, const char *step, const char *detail)
{
	report_fail(rep, err, step, detail);
	return -1;
}

/* Bind the host's node @name (relative to the host /dev, via @hostdev) on
 * @dst. /proc/self/fd/N reaches the host /dev even once a tmpfs covers it. */
static int bind_host_node(int rep, int hostdev, const char *hostpath, const char *dst)
{
	char src[PATH_MAX];
	int fd;

	if (!strncmp(hostpath, "/dev/", 5))
		snprintf(src, sizeof(src), "/proc/self/fd/%d/%s", hostdev, hostpath + 5);
	else
		snprintf(src, sizeof(src), "%s", hostpath);
	fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail(rep, errno, "create(device bind target)", dst);
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return fail(rep, errno, "mount(bind device)", hostpath);
	return 0;
}

static int make_node(int rep, int hostdev, const char *dst, const char *hostpath,
		     mode_t type, unsigned int major, unsigned int minor,
		     mode_t perm, uid_t uid, gid_t gid)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdirs(dir, 0755);
	}
	if (mknod(dst, type | perm, makedev(major, minor)) < 0) {
		if (errno == EEXIST) {
			/* Replace: an explicit device wins over a default. */
			if (unlink(dst) < 0 && errno == EBUSY)
				umount2(dst, MNT_DETACH), unlink(dst);
			if (mknod(dst, type | perm, makedev(major, minor)) == 0)
				goto made;
		}
		if ((errno == EPERM || errno == EACCES) && type != S_IFIFO)
			return bind_host_node(rep, hostdev, hostpath, dst);
		return fail(rep, errno, "mknod", dst);
	}
made:
	/* mknod's mode is filtered by the umask; the spec's mode is exact. */
	if (chmod(dst, perm) < 0)
		return fail(rep, errno, "chmod", dst);
	if (chown(dst, uid, gid) < 0)
		return fail(rep, errno, "chown", dst);
	return 0;
}

/* device_create() - one OCI linux.devices entry under @root.
 * Return: 0, or -1 after reporting.
 */
int device_create(const struct device_ent *d, int rep, const char *root, int hostdev)
{
	char parent[PATH_MAX], dst[PATH_MAX + 32];
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	const char *name;
	char *slash;
	int dirfd, r;

	if (strlen(d->path) >= sizeof(parent))
		return fail(rep, ENAMETOOLONG, "mknod", d->path);
	strcpy(parent, d->path);
	slash = strrchr(parent, '/');
	name = slash ? slash + 1 : parent;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(rep, EINVAL, "mknod", d->path);
	if (slash)
		*slash = '\0';
	/* The directory is resolved inside the root (inroot.c), so a symlink
	 * in the image cannot place the node on the host. */
	dirfd = inroot_open(root, slash ? parent : "/", INROOT_MKDIR);
	if (dirfd < 0)
		return fail(rep, -dirfd, "mkdir(device directory)", d->path);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%s", dirfd, name);
	r = make_node(rep, hostdev, dst, d->path, type, d->major, d->minor,
		      d->mode, d->uid, d->gid);
	close(dirfd);
	return r;
}

static const struct {
	const char *name;
	unsigned int major, minor;
} std_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *target, *name;
} std_links[] = {
	{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" },
	{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" },
};

/* devices_default() - the standard nodes and links (OCI runtime spec,
 * "Default Devices"), plus /dev/console: a placeholder for the pty slave
 * with a terminal, else the console device 5:1.
 * Return: 0, or -1 after reporting.
 */
int devices_default(const struct spec *s, int rep, const char *root, int hostdev)
{
	char dst[PATH_MAX], host[64];
	size_t i;

	for (i = 0; i < sizeof(std_nodes) / sizeof(std_nodes[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/dev/%s", root, std_nodes[i].name);
		snprintf(host, sizeof(host), "/dev/%s", std_nodes[i].name);
		if (make_node(rep, hostdev, dst, host, S_IFCHR, std_nodes[i].major,
			      std_nodes[i].minor, 0666, 0, 0))
			return -1;
	}
	snprintf(dst, sizeof(dst), "%s/dev/console", root);
	if (s->terminal) {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return fail(rep, errno, "create", dst);
		close(fd);
	} else if (make_node(rep, hostdev, dst, "/dev/console", S_IFCHR, 5, 1, 0600, 0, 0)) {
		return -1;
	}
	for (i = 0; i < sizeof(std_links) / sizeof(std_links[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/dev/%s", root, std_links[i].name);
		if (symlink(std_links[i].target, dst) < 0 && errno != EEXIST)
			return fail(rep, errno, "symlink", dst);
	}
	return 0;
}
