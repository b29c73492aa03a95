/* cgroupfs.c - see cgroupfs.h.
 *
 * With a cgroup namespace of its own, the container gets fresh mounts: the
 * root of a cgroup mount made inside a cgroup namespace is the namespace's
 * root cgroup (cgroup_namespaces(7)), i.e. the container's cgroup, which the
 * init joined before it unshared (SPAWN.md, `cgroup_procs`). Without one
 * (podman on a v1 host defaults to --cgroupns=host) a fresh mount would show
 * the whole hierarchy, so the container's own directory of each hierarchy is
 * bound instead, as runc does.
 *
 * Layouts, as the host has them at /sys/fs/cgroup:
 * - pure v2: one cgroup2 mount, at /sys/fs/cgroup itself -> one at DEST;
 * - v1 and hybrid: a tmpfs holding one mount per hierarchy (cpu,cpuacct,
 *   memory, name=systemd, unified as cgroup2, ...) and symlinks such as
 *   cpu -> cpu,cpuacct -> a tmpfs at DEST with the same names and links.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "inroot.h"
#include "report.h"

#define HOST_CGROUP	"/sys/fs/cgroup"
#define MAX_HIER	32
#define MAX_LINKS	32
#define VIEW_FLAGS	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

struct hier {
	char name[64];		/* directory under /sys/fs/cgroup; "" = pure v2 root */
	char data[256];		/* v1: controllers and name=X, the mount(2) data */
	int v2;
	unsigned int major, minor;
	char mnt[PATH_MAX];	/* the host's mount point */
	char root[PATH_MAX];	/* the mount's root in its hierarchy (mountinfo) */
	char own[PATH_MAX];	/* the init's cgroup in it (/proc/self/cgroup) */
	int src;		/* without own namespace: O_PATH fd of mnt + own */
};

static struct hier hiers[MAX_HIER];
static int n_hiers;
static struct {
	char name[64], target[64];
} links[MAX_LINKS];
static int n_links;
static int scanned;

static int fail(int rep, int err, const char *step, const char *detail)
{
	report_fail(rep, err, step, detail);
	return -1;
}

/* The \NNN escapes of /proc/self/mountinfo (proc(5)), in place. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Whether the comma list @list holds @tok (@len bytes) as a whole item. */
static int has_token(const char *list, const char *tok, size_t len)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == len && !strncmp(p, tok, len))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Super options of a v1 mount that are not part of which hierarchy it is:
 * the kernel matches an existing hierarchy on its controllers and name=
 * (cgroup1_root_to_use()) and at most warns about the rest; release_agent
 * is refused outside the initial namespaces. */
static int hierarchy_option(const char *o, size_t n)
{
	static const char *const not_ids[] = {
		"rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode",
		"favordynmods", "nofavordynmods",
	};
	size_t i;

	if (n >= 14 && !strncmp(o, "release_agent=", 14))
		return 0;
	for (i = 0; i < sizeof(not_ids) / sizeof(not_ids[0]); i++)
		if (strlen(not_ids[i]) == n && !strncmp(o, not_ids[i], n))
			return 0;
	return n > 0;
}

static void hierarchy_data(char *out, size_t cap, const char *superopts)
{
	const char *o = superopts;
	size_t len = 0;

	out[0] = '\0';
	while (*o) {
		size_t n = strcspn(o, ",");

		if (hierarchy_option(o, n) && len + n + 2 < cap) {
			if (len)
				out[len++] = ',';
			memcpy(out + len, o, n);
			len += n;
			out[len] = '\0';
		}
		o += n;
		if (*o == ',')
			o++;
	}
}

/* One mountinfo line: a cgroup or cgroup2 mount at /sys/fs/cgroup or
 * directly under it becomes a hierarchy (a second mount of the same one is
 * skipped). */
static void scan_mount(char *line)
{
	char root[PATH_MAX], mnt[PATH_MAX], fstype[32], source[64], superopts[512];
	unsigned int major, minor;
	const char *name;
	struct hier *h;
	char *sep;
	int i;

	sep = strstr(line, " - ");
	if (!sep || sscanf(line, "%*u %*u %u:%u %4095s %4095s", &major, &minor, root, mnt) != 4 ||
	    sscanf(sep + 3, "%31s %63s %511s", fstype, source, superopts) != 3)
		return;
	unescape_octal(root);
	unescape_octal(mnt);
	/* mountinfo lists mounts in the order they were made: one at
	 * /sys/fs/cgroup or above it (not /) hides what was found so far. */
	if (strcmp(mnt, "/") && !strncmp(HOST_CGROUP, mnt, strlen(mnt)) &&
	    (HOST_CGROUP[strlen(mnt)] == '/' || !HOST_CGROUP[strlen(mnt)]))
		n_hiers = 0;
	if (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2"))
		return;
	if (!strcmp(mnt, HOST_CGROUP))
		name = "";
	else if (!strncmp(mnt, HOST_CGROUP "/", sizeof(HOST_CGROUP)) &&
		 !strchr(mnt + sizeof(HOST_CGROUP), '/') && strlen(mnt + sizeof(HOST_CGROUP)) < 64)
		name = mnt + sizeof(HOST_CGROUP);
	else
		return;
	if (!*name && strcmp(fstype, "cgroup2"))
		return;
	for (i = 0; i < n_hiers; i++)
		if (hiers[i].major == major && hiers[i].minor == minor)
			return;
	if (n_hiers >= MAX_HIER)
		return;
	h = &hiers[n_hiers++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->v2 = !strcmp(fstype, "cgroup2");
	h->major = major;
	h->minor = minor;
	snprintf(h->mnt, sizeof(h->mnt), "%s", mnt);
	snprintf(h->root, sizeof(h->root), "%s", root);
	if (!h->v2)
		hierarchy_data(h->data, sizeof(h->data), superopts);
	h->src = -1;
}

/* The init's cgroup in each hierarchy, from /proc/self/cgroup (cgroups(7):
 * "ID:CONTROLLERS:PATH", ID 0 and no controllers for v2). */
static int scan_own(void)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int i;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *path;
		size_t first;

		if (!ctrls)
			continue;
		path = strchr(++ctrls, ':');
		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		first = strcspn(ctrls, ",");
		for (i = 0; i < n_hiers; i++) {
			struct hier *h = &hiers[i];

			if (h->v2 ? *ctrls != '\0' : (!first || !has_token(h->data, ctrls, first)))
				continue;
			snprintf(h->own, sizeof(h->own), "%s", path);
		}
	}
	fclose(f);
	return 0;
}

/* Symlinks beside the hierarchies (cpu -> cpu,cpuacct), to lay out alike. */
static void scan_links(void)
{
	DIR *d = opendir(HOST_CGROUP);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && n_links < MAX_LINKS) {
		char target[64];
		ssize_t n;

		if (e->d_type != DT_LNK || strlen(e->d_name) >= sizeof(links[0].name))
			continue;
		n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strchr(target, '/'))
			continue;	/* only siblings: the view has nothing else */
		snprintf(links[n_links].name, sizeof(links[0].name), "%s", e->d_name);
		snprintf(links[n_links].target, sizeof(links[0].target), "%s", target);
		n_links++;
	}
	closedir(d);
}

/* cgroupfs_scan() - read the host's cgroup layout and the init's cgroups,
 * before any mount covers /sys or /proc. Without a cgroup namespace of its
 * own (@own_ns 0), the container's directory in each hierarchy is opened
 * now (O_PATH), as the host's /sys may be covered by the time it is bound.
 * Return: 0, or -1 after reporting on @rep.
 */
int cgroupfs_scan(int rep, int own_ns)
{
	char line[3 * PATH_MAX];
	FILE *f;
	int i, r;

	if (scanned)
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return fail(rep, errno, "open", "/proc/self/mountinfo");
	while (fgets(line, sizeof(line), f))
		scan_mount(line);
	fclose(f);
	r = scan_own();
	if (r)
		return fail(rep, -r, "open", "/proc/self/cgroup");
	if (!(n_hiers == 1 && !hiers[0].name[0]))
		scan_links();
	for (i = 0; !own_ns && i < n_hiers; i++) {
		struct hier *h = &hiers[i];
		size_t rl = strlen(h->root);
		const char *rel;
		char src[2 * PATH_MAX];

		/* Both paths are relative to the same cgroup namespace: the
		 * container's cgroup is the mount's root plus what follows. */
		if (!h->own[0])
			return fail(rep, ENOENT, "cgroup of the container", h->mnt);
		if (!strcmp(h->root, "/"))
			rel = h->own;
		else if (!strncmp(h->own, h->root, rl) && (h->own[rl] == '/' || !h->own[rl]))
			rel = h->own + rl;
		else
			return fail(rep, ENOENT, "cgroup of the container outside its mount", h->own);
		snprintf(src, sizeof(src), "%s%s", h->mnt, rel);
		h->src = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (h->src < 0)
			return fail(rep, errno, "open", src);
	}
	scanned = 1;
	return 0;
}

/* One hierarchy at @dst: a fresh mount in the container's own namespace,
 * else a bind of its directory, with the view's flags. A bind's flags take
 * a remount, on a path that reaches the new mount: @dst itself when it goes
 * through a directory name, else (@root not NULL: @dst is the O_PATH fd of
 * the covered mount point) @dest resolved again in @root. */
static int mount_hier(int rep, const struct hier *h, const char *dst, unsigned long flags,
		      const char *root, const char *dest)
{
	const char *type = h->v2 ? "cgroup2" : "cgroup";
	char src[32], again[32];
	int fd = -1, r = 0;

	if (h->src < 0) {
		if (mount(type, dst, type, flags, h->v2 ? NULL : h->data) < 0) {
			char step[300];

			snprintf(step, sizeof(step), "mount(%s %s)", type, h->v2 ? "" : h->data);
			return fail(rep, errno, step, dest);
		}
		return 0;
	}
	snprintf(src, sizeof(src), "/proc/self/fd/%d", h->src);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return fail(rep, errno, "mount(bind cgroup)", h->mnt);
	if (!flags)
		return 0;
	if (root) {
		fd = inroot_open(root, dest, 0);
		if (fd < 0)
			return fail(rep, -fd, "open(mount point)", dest);
		snprintf(again, sizeof(again), "/proc/self/fd/%d", fd);
		dst = again;
	}
	if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		r = fail(rep, errno, "mount(remount bind cgroup)", h->mnt);
	if (fd >= 0)
		close(fd);
	return r;
}

/* cgroupfs_mount() - the view at @dest inside @root ("" = the host's /):
 * only ro/nosuid/nodev/noexec of @flags are used (read-only is what a
 * container should get). @own_ns: the init is in a cgroup namespace of its
 * own (fresh mounts), else its directories are bound (see cgroupfs_scan()).
 * Return: 0, or -1 after reporting on @rep.
 */
int cgroupfs_mount(int rep, const char *root, const char *dest, unsigned long flags, int own_ns)
{
	char dst[PATH_MAX];
	int fd, i, r = -1;

	if (cgroupfs_scan(rep, own_ns))
		return -1;
	flags &= VIEW_FLAGS;
	fd = inroot_open(root, dest, INROOT_MKDIR);
	if (fd < 0)
		return fail(rep, -fd, "mkdir(mount point)", dest);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);
	if (n_hiers == 1 && !hiers[0].name[0]) {
		r = mount_hier(rep, &hiers[0], dst, flags, root, dest);
		close(fd);
		return r;
	}
	if (mount("tmpfs", dst, "tmpfs", flags & ~MS_RDONLY, "mode=755,size=64k") < 0) {
		r = errno;
		close(fd);
		return fail(rep, r, "mount(tmpfs)", dest);
	}
	/* The fd names the covered directory: reach the new tmpfs. */
	close(fd);
	fd = inroot_open(root, dest, 0);
	if (fd < 0)
		return fail(rep, -fd, "open(mount point)", dest);
	for (i = 0; i < n_hiers; i++) {
		if (mkdirat(fd, hiers[i].name, 0755) < 0) {
			fail(rep, errno, "mkdir(cgroup hierarchy)", hiers[i].name);
			goto out;
		}
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d/%.63s", fd, hiers[i].name);
		if (mount_hier(rep, &hiers[i], dst, flags, NULL, dest))
			goto out;
	}
	for (i = 0; i < n_links; i++) {
		if (symlinkat(links[i].target, fd, links[i].name) < 0 && errno != EEXIST) {
			fail(rep, errno, "symlink", links[i].name);
			goto out;
		}
	}
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);
	if ((flags & MS_RDONLY) && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0) {
		fail(rep, errno, "mount(remount tmpfs readonly)", dest);
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}
