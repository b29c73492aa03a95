/* mounts.c - everything the init does in its new mount namespace before
 * and after pivot_root(2). Mount flags and their OCI names follow
 * mount(2) and the OCI runtime spec's config-linux "mounts" options.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroupfs.h"
#include "copyup.h"
#include "devices.h"
#include "inroot.h"
#include "mounts.h"
#include "report.h"
#include "spec.h"

struct mount_opt {
	const char *name;
	int clear;		/* the option removes @flag */
	unsigned long flag;
};

static const struct mount_opt flag_opts[] = {
	{ "defaults", 0, 0 }, { "ro", 0, MS_RDONLY }, { "rw", 1, MS_RDONLY },
	{ "nosuid", 0, MS_NOSUID }, { "suid", 1, MS_NOSUID },
	{ "nodev", 0, MS_NODEV }, { "dev", 1, MS_NODEV },
	{ "noexec", 0, MS_NOEXEC }, { "exec", 1, MS_NOEXEC },
	{ "sync", 0, MS_SYNCHRONOUS }, { "async", 1, MS_SYNCHRONOUS },
	{ "dirsync", 0, MS_DIRSYNC }, { "remount", 0, MS_REMOUNT },
	{ "mand", 0, MS_MANDLOCK }, { "nomand", 1, MS_MANDLOCK },
	{ "atime", 1, MS_NOATIME }, { "noatime", 0, MS_NOATIME },
	{ "diratime", 1, MS_NODIRATIME }, { "nodiratime", 0, MS_NODIRATIME },
	{ "relatime", 0, MS_RELATIME }, { "norelatime", 1, MS_RELATIME },
	{ "strictatime", 0, MS_STRICTATIME }, { "nostrictatime", 1, MS_STRICTATIME },
	{ "bind", 0, MS_BIND }, { "rbind", 0, MS_BIND | MS_REC },
};

static const struct mount_opt prop_opts[] = {
	{ "private", 0, MS_PRIVATE }, { "rprivate", 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, MS_SLAVE }, { "rslave", 0, MS_SLAVE | MS_REC },
	{ "shared", 0, MS_SHARED }, { "rshared", 0, MS_SHARED | MS_REC },
	{ "unbindable", 0, MS_UNBINDABLE }, { "runbindable", 0, MS_UNBINDABLE | MS_REC },
};

#define N_OPTS(a) (sizeof(a) / sizeof((a)[0]))

/* mount_propagation() - "rslave" etc. into MS_* flags.
 * Return: 0, or -1 for an unknown name.
 */
int mount_propagation(const char *name, unsigned long *out)
{
	size_t i;

	for (i = 0; i < N_OPTS(prop_opts); i++) {
		if (!strcmp(name, prop_opts[i].name)) {
			*out = prop_opts[i].flag;
			return 0;
		}
	}
	return -1;
}

/* Options that are neither mount(2) flags nor file system data: runc's and
 * crun's extensions to the OCI list, done by the runtime itself. */
#define EXT_TMPCOPYUP	0x1	/* copy the covered directory into the new tmpfs */
#define EXT_COPY_SYMLINK 0x2	/* a bind of a symlink copies the link (crun) */
#define EXT_IDMAP	0x4	/* idmapped mount: refused, not supported */
#define EXT_NOCREATE	0x8	/* containode's: the mount point must exist (a container on the host's own files) */

static const struct {
	const char *name;
	unsigned int ext;
} ext_opts[] = {
	{ "tmpcopyup", EXT_TMPCOPYUP }, { "notmpcopyup", 0 }, { "copy-symlink", EXT_COPY_SYMLINK },
	{ "idmap", EXT_IDMAP }, { "ridmap", EXT_IDMAP }, { "nocreate", EXT_NOCREATE },
};

struct parsed_opts {
	unsigned long flags, prop;
	unsigned int ext;
	char data[1024];
};

/* Split an OCI option list: known flags, propagation, and the rest as data. */
static int parse_options(const char *opts, struct parsed_opts *p)
{
	const char *o = opts;
	size_t dlen = 0;

	memset(p, 0, sizeof(*p));
	while (*o) {
		size_t n = strcspn(o, ","), i;
		int known = 0;

		for (i = 0; i < N_OPTS(flag_opts) && !known; i++) {
			if (strlen(flag_opts[i].name) == n && !strncmp(o, flag_opts[i].name, n)) {
				if (flag_opts[i].clear)
					p->flags &= ~flag_opts[i].flag;
				else
					p->flags |= flag_opts[i].flag;
				known = 1;
			}
		}
		for (i = 0; i < N_OPTS(prop_opts) && !known; i++) {
			if (strlen(prop_opts[i].name) == n && !strncmp(o, prop_opts[i].name, n)) {
				p->prop |= prop_opts[i].flag;
				known = 1;
			}
		}
		for (i = 0; i < N_OPTS(ext_opts) && !known; i++) {
			if (strlen(ext_opts[i].name) == n && !strncmp(o, ext_opts[i].name, n)) {
				p->ext |= ext_opts[i].ext;
				known = 1;
			}
		}
		if (!known && n) {
			if (dlen + n + 2 > sizeof(p->data))
				return -1;
			if (dlen)
				p->data[dlen++] = ',';
			memcpy(p->data + dlen, o, n);
			dlen += n;
			p->data[dlen] = '\0';
		}
		o += n;
		if (*o == ',')
			o++;
	}
	return 0;
}

/* mount_options_check() - whether an option list fits (for spec parsing).
 * Return: 0 or -1.
 */
int mount_options_check(const char *opts)
{
	struct parsed_opts p;

	return parse_options(opts, &p);
}

/* path_join() - @root + @path ("" root: @path itself).
 * Return: 0, or -ENAMETOOLONG.
 */
int path_join(char *out, size_t cap, const char *root, const char *path)
{
	int n;

	while (root[0] && path[0] == '/' && path[1] == '/')
		path++;
	n = snprintf(out, cap, "%s%s", root, path);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* mkdirs() - mkdir -p.  Return: 0 or -errno. */
int mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Flags a remount must keep: in a user namespace the kernel refuses to
 * clear nosuid/nodev/noexec/ro set by a more privileged mounter ("locked"
 * flags, mount_namespaces(7)). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int fail(int rep, int err, const char *step, const char *detail)
{
	report_fail(rep, err, step, detail);
	return -1;
}

/* readonly_tree() - the mount at @path and every mount under it
 * read-only, as one change: mount_setattr(2) with AT_RECURSIVE (Linux
 * 5.12). A bind remount changes one mount only, which would leave the
 * host's /sys/fs/cgroup writable under a read-only bind of /sys; kernels
 * without mount_setattr get that (the top mount) and no more.
 * Return: 0 or -errno.
 */
static int readonly_tree(const char *path)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path), NULL) < 0)
		return -errno;
	return 0;
}

/* Whether the init has a cgroup namespace of its own (created, or joined
 * by path), so a fresh cgroup mount is rooted at the container's cgroup. */
static int cgroup_own_ns(const struct spec *s)
{
	return s->ns_new[NS_CGROUP] || s->ns_path[NS_CGROUP];
}

#define BIND_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
		    MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

/* refused_option() - which option of @data the kernel refuses for @type,
 * found by mounting @src once per option at @dst (each success undone),
 * so that an EINVAL names the option instead of the whole list; "" when
 * every one passes alone. */
static void refused_option(const char *src, const char *dst, const char *type,
			   unsigned long flags, const char *data, char *out, size_t cap)
{
	const char *o = data;

	out[0] = '\0';
	while (*o) {
		size_t n = strcspn(o, ",");

		snprintf(out, cap, "%.*s", (int)n, o);
		if (mount(src, dst, type, flags, out) < 0) {
			if (errno == EINVAL)
				return;
		} else {
			umount2(dst, MNT_DETACH);
		}
		o += n;
		if (*o == ',')
			o++;
	}
	out[0] = '\0';
}

/* copy_symlink() - `copy-symlink`: @dest becomes a symlink with @src's
 * target instead of a bind of what it points to (crun; podman asks for it
 * for /etc/localtime). Return: 0, or -1 after reporting.
 */
static int copy_symlink(int rep, const char *root, const char *src, const char *dest)
{
	char target[PATH_MAX], parent[PATH_MAX];
	const char *base = strrchr(dest, '/');
	ssize_t n;
	int dir;

	n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return fail(rep, errno, "readlink(copy-symlink)", src);
	target[n] = '\0';
	snprintf(parent, sizeof(parent), "%.*s", base ? (int)(base - dest) : 0, dest);
	dir = inroot_open(root, parent[0] ? parent : "/", INROOT_MKDIR);
	if (dir < 0)
		return fail(rep, -dir, "mkdir(mount point)", parent);
	base = base ? base + 1 : dest;
	if (unlinkat(dir, base, 0) < 0 && errno != ENOENT && errno != EISDIR) {
		int err = errno;

		close(dir);
		return fail(rep, err, "unlink(copy-symlink)", dest);
	}
	if (symlinkat(target, dir, base) < 0) {
		int err = errno;

		close(dir);
		return fail(rep, err, "symlink(copy-symlink)", dest);
	}
	close(dir);
	return 0;
}

/* One mount of @src on @dest, a path inside @root ("" = the host's /),
 * resolved with inroot_open() so no symlink in the root can redirect it. */
static int mount_at(const struct spec *s, int rep, const char *root, const char *src,
		    const char *dest, const char *type, const char *options)
{
	struct parsed_opts p;
	struct stat st;
	char dst[32];
	int is_bind, fd;

	if (parse_options(options, &p))
		return fail(rep, EINVAL, "mount options", options);
	if (p.ext & EXT_IDMAP)
		return fail(rep, EOPNOTSUPP, "mount option idmap (idmapped mounts are not supported)", dest);
	is_bind = (p.flags & MS_BIND) || !strcmp(type, "bind");
	if (is_bind && (p.ext & EXT_COPY_SYMLINK) && lstat(src, &st) == 0 && S_ISLNK(st.st_mode))
		return copy_symlink(rep, root, src, dest);
	if (is_bind && stat(src, &st) < 0)
		return fail(rep, errno, "stat(bind source)", src);
	/* Without `nocreate` a missing mount point is made (runc's way); with
	 * it, as for a volume of a container sharing the host's files, whatever
	 * is missing stays missing: the mount point would be a new file on the
	 * host, even if the path went away after containode checked it. */
	fd = inroot_open(root, dest, (p.ext & EXT_NOCREATE) ? 0 :
			 INROOT_MKDIR | ((is_bind && !S_ISDIR(st.st_mode)) ? INROOT_FILE : 0));
	if (fd < 0)
		return fail(rep, -fd, (p.ext & EXT_NOCREATE) ? "open(mount point)" : "mkdir(mount point)", dest);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);

	if (!strcmp(type, "cgroup")) {
		/* The container's own cgroups, never the host's tree. */
		close(fd);
		return cgroupfs_mount(rep, root, dest, p.flags, cgroup_own_ns(s));
	}

	if (is_bind) {
		if (mount(src, dst, NULL, MS_BIND | (p.flags & MS_REC), NULL) < 0)
			goto err_mount;
	} else if (mount(src, dst, type, p.flags & ~MS_REC, p.data[0] ? p.data : NULL) < 0) {
		int err = errno;
		char what[64], opt[256], detail[PATH_MAX + 300];

		snprintf(what, sizeof(what), "mount(%s)", type);
		if (err == EINVAL && p.data[0])
			refused_option(src, dst, type, p.flags & ~MS_REC, p.data, opt, sizeof(opt));
		else
			opt[0] = '\0';
		if (opt[0])
			snprintf(detail, sizeof(detail), "%s: option %s", dest, opt);
		else
			snprintf(detail, sizeof(detail), "%s", dest);
		close(fd);
		return fail(rep, err, what, detail);
	} else if (p.ext & EXT_TMPCOPYUP) {
		/* fd still names the directory the tmpfs now covers. */
		int to = inroot_open(root, dest, 0), r;

		if (to < 0) {
			close(fd);
			return fail(rep, -to, "open(mount point)", dest);
		}
		r = copyup_tree(fd, to);
		close(to);
		if (r) {
			close(fd);
			return fail(rep, -r, "tmpcopyup", dest);
		}
	}
	/* The fd still names the covered directory: reopen to reach the new
	 * mount for the remount and propagation changes. */
	close(fd);
	fd = inroot_open(root, dest, 0);
	if (fd < 0)
		return fail(rep, -fd, "open(mount point)", dest);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", fd);
	if (is_bind && (p.flags & BIND_FLAGS)) {
		unsigned long f = MS_BIND | MS_REMOUNT | (p.flags & BIND_FLAGS) |
				  (locked_flags(dst) & ~MS_RDONLY);

		if (mount(NULL, dst, NULL, f, NULL) < 0) {
			int err = errno;

			close(fd);
			return fail(rep, err, "mount(remount bind)", dest);
		}
		/* `rbind,ro`: what came along read-only too, or a read-only
		 * bind of the host's /sys/fs/cgroup would leave every
		 * hierarchy under it writable (Docker 25 does the same). */
		if ((p.flags & MS_REC) && (p.flags & MS_RDONLY)) {
			int r = readonly_tree(dst);

			if (r) {
				close(fd);
				return fail(rep, -r, "mount_setattr(readonly)", dest);
			}
		}
	}
	if (p.prop && mount(NULL, dst, NULL, p.prop, NULL) < 0) {
		int err = errno;

		close(fd);
		return fail(rep, err, "mount(propagation)", dest);
	}
	close(fd);
	return 0;

err_mount:
	{
		int err = errno;

		close(fd);
		return fail(rep, err, "mount(bind)", dest);
	}
}

/* /sys, with or without a rootfs: sysfs shows the network namespace of
 * its mounter (sysfs_mount() takes it), so a fresh one only with a new
 * network namespace; otherwise the host's bound. Read-only, every mount
 * under it too (see mount_at()), unless `sysfs rw` (privileged). */
static int default_sysfs(const struct spec *s, int rep, const char *root)
{
	if (s->ns_new[NS_NET])
		return mount_at(s, rep, root, "sysfs", "/sys", "sysfs",
				s->sysfs_rw ? "nosuid,nodev,noexec" : "nosuid,nodev,noexec,ro");
	return mount_at(s, rep, root, "/sys", "/sys", "bind",
			s->sysfs_rw ? "rbind,nosuid,nodev,noexec" : "rbind,nosuid,nodev,noexec,ro");
}

static int default_mounts(const struct spec *s, int rep, const char *root)
{
	if (mount_at(s, rep, root, "proc", "/proc", "proc", "nosuid,nodev,noexec"))
		return -1;
	if (mount_at(s, rep, root, "tmpfs", "/dev", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"))
		return -1;
	/* newinstance: a private devpts (devpts docs, Linux >= 4.7 always);
	 * ptmxmode makes its own ptmx usable through the /dev/ptmx link. */
	if (mount_at(s, rep, root, "devpts", "/dev/pts", "devpts",
		     "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"))
		return -1;
	if (mount_at(s, rep, root, "shm", "/dev/shm", "tmpfs", "nosuid,nodev,noexec,mode=1777,size=65536k"))
		return -1;
	if (s->ns_new[NS_IPC] &&
	    mount_at(s, rep, root, "mqueue", "/dev/mqueue", "mqueue", "nosuid,nodev,noexec"))
		return -1;
	return default_sysfs(s, rep, root);
}

/* mount_containing() - the mount point of the mount that holds @path
 * (the longest mount point in /proc/self/mountinfo that is a prefix of it).
 * Return: 0, or -1 when none is found.
 */
static int mount_containing(const char *path, char *out, size_t cap)
{
	char line[4096], mp[PATH_MAX];
	size_t best = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... (proc(5)) */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		n = strlen(mp);
		if (strncmp(path, mp, n) || (n > 1 && path[n] != '/' && path[n] != '\0'))
			continue;
		if (n >= best && n < cap) {
			best = n;
			memcpy(out, mp, n + 1);
		}
	}
	fclose(f);
	return best ? 0 : -1;
}

/* mounts_prepare() - propagation, rootfs, default mounts, the mount list
 * and devices; @hostdev gets an O_PATH fd of the host's /dev, taken before
 * anything covers it, for bind-mounting device nodes when mknod is refused.
 * Return: 0, or -1 after reporting the failure on @rep.
 */
int mounts_prepare(const struct spec *s, int rep, int *hostdev)
{
	const char *root = s->rootfs ? s->rootfs : "";
	unsigned long pre;
	int i;

	/* Unbindable would refuse the rootfs bind below (EINVAL): private
	 * until the pivot, unbindable after it. */
	pre = (s->propagation & MS_UNBINDABLE) ? (MS_PRIVATE | (s->propagation & MS_REC)) : s->propagation;
	if (mount(NULL, "/", NULL, pre, NULL) < 0)
		return fail(rep, errno, "mount(propagation)", "/");
	/* pivot_root(2) refuses a shared new root, a shared parent of it and
	 * a shared current root (EINVAL): with a shared propagation asked for,
	 * the root and the mount holding the rootfs are made private for the
	 * pivot (runc's rootfsParentMountPrivate), and the propagation is
	 * applied to the new root afterwards (mounts_pivot()). */
	if (s->rootfs && !s->no_pivot && (s->propagation & MS_SHARED)) {
		char parent[PATH_MAX];

		if (mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
			return fail(rep, errno, "mount(private /)", "/");
		if (mount_containing(s->rootfs, parent, sizeof(parent)) == 0 &&
		    mount(NULL, parent, NULL, MS_PRIVATE, NULL) < 0)
			return fail(rep, errno, "mount(private rootfs parent)", parent);
	}
	*hostdev = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*hostdev < 0)
		return fail(rep, errno, "open", "/dev");
	/* The host's cgroup layout, before a /sys or /proc mount covers it. */
	for (i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].type, "cgroup") && cgroupfs_scan(rep, cgroup_own_ns(s)))
			return -1;

	if (s->rootfs && s->ov_lower) {
		char data[3 * PATH_MAX + 64];
		int n = snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s",
				 s->ov_lower, s->ov_upper, s->ov_work);

		if (n < 0 || (size_t)n >= sizeof(data))
			return fail(rep, ENAMETOOLONG, "mount(overlay)", s->rootfs);
		if (mount("overlay", s->rootfs, "overlay", 0, data) < 0)
			return fail(rep, errno, "mount(overlay)", s->rootfs);
	} else if (s->rootfs) {
		/* pivot_root(2) needs new_root to be a mount point. */
		if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(rep, errno, "mount(bind rootfs)", s->rootfs);
	}
	if (s->rootfs && !s->no_pivot && (s->propagation & MS_SHARED) &&
	    mount(NULL, s->rootfs, NULL, MS_PRIVATE, NULL) < 0)
		return fail(rep, errno, "mount(private rootfs)", s->rootfs);

	if (s->default_mounts && default_mounts(s, rep, root))
		return -1;
	for (i = 0; i < s->n_mounts; i++) {
		const struct mount_ent *m = &s->mounts[i];

		if (mount_at(s, rep, root, m->source, m->dest, m->type, m->options))
			return -1;
	}
	if (s->default_devices && devices_default(s, rep, root, *hostdev))
		return -1;
	for (i = 0; i < s->n_devices; i++)
		if (device_create(&s->devices[i], rep, root, *hostdev))
			return -1;
	return 0;
}

/* mounts_pivot() - make the rootfs the root: pivot_root(".", ".") stacks
 * the old root on top of the new one, then it is detached (the trick in
 * pivot_root(2) NOTES), or MS_MOVE + chroot with no_pivot.
 * Return: 0, or -1 after reporting.
 */
int mounts_pivot(const struct spec *s, int rep)
{
	if (!s->rootfs)
		return 0;
	if (chdir(s->rootfs) < 0)
		return fail(rep, errno, "chdir", s->rootfs);
	if (s->no_pivot) {
		if (mount(s->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return fail(rep, errno, "mount(move rootfs)", s->rootfs);
		if (chroot(".") < 0)
			return fail(rep, errno, "chroot", s->rootfs);
	} else {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return fail(rep, errno, "pivot_root", s->rootfs);
		/* The old root must not propagate its unmount to the host. */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			return fail(rep, errno, "mount(slave old root)", "/");
		if (umount2(".", MNT_DETACH) < 0)
			return fail(rep, errno, "umount2(old root)", "/");
	}
	if (chdir("/") < 0)
		return fail(rep, errno, "chdir", "/");
	/* The asked propagation on the container's root itself (runc applies
	 * rootfsPropagation after the pivot too): shared, slave, unbindable. */
	if (s->propagation != MS_REC_PRIVATE_DEFAULT &&
	    mount(NULL, "/", NULL, s->propagation, NULL) < 0)
		return fail(rep, errno, "mount(propagation)", "/");
	return 0;
}

/* mounts_finish() - masked and read-only paths, read-only root; after
 * pivot_root so that the paths are the container's.
 * Return: 0, or -1 after reporting.
 */
int mounts_finish(const struct spec *s, int rep)
{
	struct stat st;
	int i, r;

	for (i = 0; i < s->n_masked; i++) {
		const char *p = s->masked[i];

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return fail(rep, errno, "stat(masked)", p);
		}
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") < 0)
				return fail(rep, errno, "mount(mask tmpfs)", p);
		} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
			return fail(rep, errno, "mount(mask /dev/null)", p);
		}
	}
	for (i = 0; i < s->n_readonly; i++) {
		const char *p = s->readonly[i];

		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return fail(rep, errno, "stat(readonly)", p);
		}
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			return fail(rep, errno, "mount(bind readonly)", p);
		r = readonly_tree(p);
		if (r)
			return fail(rep, -r, "mount_setattr(readonly)", p);
	}
	if (s->rootfs_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), NULL) < 0)
		return fail(rep, errno, "mount(remount / readonly)", "/");
	return 0;
}
