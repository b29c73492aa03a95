/* spec.c - parse the spec lines of SPAWN.md into struct spec. Every field
 * is checked here, before anything is created, so a bad spec leaves nothing
 * behind.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "mounts.h"
#include "spec.h"

const char *const ns_names[NS_COUNT] = {
	"user", "pid", "mount", "uts", "ipc", "net", "cgroup",
};
const int ns_flag[NS_COUNT] = {
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUTS,
	CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static const struct { const char *name; int res; } rlimit_names[] = {
	{ "CPU", RLIMIT_CPU }, { "FSIZE", RLIMIT_FSIZE }, { "DATA", RLIMIT_DATA },
	{ "STACK", RLIMIT_STACK }, { "CORE", RLIMIT_CORE }, { "RSS", RLIMIT_RSS },
	{ "NPROC", RLIMIT_NPROC }, { "NOFILE", RLIMIT_NOFILE },
	{ "MEMLOCK", RLIMIT_MEMLOCK }, { "AS", RLIMIT_AS }, { "LOCKS", RLIMIT_LOCKS },
	{ "SIGPENDING", RLIMIT_SIGPENDING }, { "MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "NICE", RLIMIT_NICE }, { "RTPRIO", RLIMIT_RTPRIO }, { "RTTIME", RLIMIT_RTTIME },
};

/* Undo the wire escapes (\\ \t \n) in place. */
static int unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		s++;
		if (*s == '\\')
			*o++ = '\\';
		else if (*s == 't')
			*o++ = '\t';
		else if (*s == 'n')
			*o++ = '\n';
		else
			return -1;
	}
	*o = '\0';
	return 0;
}

static int parse_ulong(const char *s, unsigned long *out, int base)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, base);
	return (errno || *end) ? -1 : 0;
}

static int parse_int(const char *s, long *out)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || *end) ? -1 : 0;
}

static int parse_rlim(const char *s, rlim_t *out)
{
	unsigned long v;

	if (!strcmp(s, "unlimited") || !strcmp(s, "-1")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (parse_ulong(s, &v, 10))
		return -1;
	*out = (rlim_t)v;
	return 0;
}

static int rlimit_resource(const char *name)
{
	unsigned long v;
	size_t i;

	if (!strncmp(name, "RLIMIT_", 7))
		name += 7;
	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(name, rlimit_names[i].name))
			return rlimit_names[i].res;
	if (!parse_ulong(name, &v, 10) && v < RLIM_NLIMITS)
		return (int)v;
	return -1;
}

static int ns_index(const char *name)
{
	int i;

	for (i = 0; i < NS_COUNT; i++)
		if (!strcmp(name, ns_names[i]))
			return i;
	return -1;
}

/* Append "IN OUT COUNT\n" to a uid_map/gid_map text. */
static int add_idmap(char *map, char **f, int n)
{
	unsigned long a, b, c;
	size_t len = strlen(map);
	int w;

	if (n != 4 || parse_ulong(f[1], &a, 10) || parse_ulong(f[2], &b, 10) ||
	    parse_ulong(f[3], &c, 10) || c == 0 || a > UINT32_MAX ||
	    b > UINT32_MAX || c > UINT32_MAX)
		return -1;
	w = snprintf(map + len, MAX_IDMAP - len, "%lu %lu %lu\n", a, b, c);
	return (w < 0 || (size_t)w >= MAX_IDMAP - len) ? -1 : 0;
}

static int parse_groups(const char *list, struct spec *s)
{
	char *copy, *tok, *save = NULL;
	unsigned long g;

	if (!*list)
		return 0;
	copy = strdup(list);
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (s->n_groups >= MAX_GROUPS || parse_ulong(tok, &g, 10) || g > UINT32_MAX) {
			free(copy);
			return -1;
		}
		s->groups[s->n_groups++] = (gid_t)g;
	}
	free(copy);
	return 0;
}

/* One directive. Return: 0, or -1 when the line is malformed. */
static int spec_line(struct spec *s, char **f, int n)
{
	const char *k = f[0];
	unsigned long u;
	long l;
	int i;

#define NEED(cnt) do { if (n != (cnt)) return -1; } while (0)
	if (!strcmp(k, "version")) {
		NEED(2);
		return strcmp(f[1], "1") ? -1 : 0;
	} else if (!strcmp(k, "mode")) {
		NEED(2);
		if (!strcmp(f[1], "detached"))
			s->detached = 1;
		else if (strcmp(f[1], "attached"))
			return -1;
	} else if (!strcmp(k, "ns")) {
		if (n < 3 || (i = ns_index(f[1])) < 0 || s->ns_new[i] || s->ns_path[i])
			return -1;
		if (!strcmp(f[2], "new") && n == 3)
			s->ns_new[i] = 1;
		else if (!strcmp(f[2], "path") && n == 4 && *f[3])
			s->ns_path[i] = f[3];
		else
			return -1;
	} else if (!strcmp(k, "uidmap")) {
		return add_idmap(s->uidmap, f, n);
	} else if (!strcmp(k, "gidmap")) {
		return add_idmap(s->gidmap, f, n);
	} else if (!strcmp(k, "setgroups")) {
		NEED(2);
		if (!strcmp(f[1], "deny"))
			s->setgroups_deny = 1;
		else if (strcmp(f[1], "allow"))
			return -1;
	} else if (!strcmp(k, "hostname")) {
		NEED(2);
		s->hostname = f[1];
	} else if (!strcmp(k, "domainname")) {
		NEED(2);
		s->domainname = f[1];
	} else if (!strcmp(k, "rootfs")) {
		NEED(2);
		if (f[1][0] != '/')
			return -1;
		s->rootfs = f[1];
	} else if (!strcmp(k, "overlay")) {
		NEED(4);
		s->ov_lower = f[1];
		s->ov_upper = f[2];
		s->ov_work = f[3];
	} else if (!strcmp(k, "rootfs_readonly")) {
		NEED(1);
		s->rootfs_readonly = 1;
	} else if (!strcmp(k, "propagation")) {
		NEED(2);
		return mount_propagation(f[1], &s->propagation);
	} else if (!strcmp(k, "chroot")) {
		NEED(2);
		if (f[1][0] != '/')
			return -1;
		s->chroot_dir = f[1];
	} else if (!strcmp(k, "no_pivot")) {
		NEED(1);
		s->no_pivot = 1;
	} else if (!strcmp(k, "default_mounts")) {
		NEED(1);
		s->default_mounts = 1;
	} else if (!strcmp(k, "default_devices")) {
		NEED(1);
		s->default_devices = 1;
	} else if (!strcmp(k, "sysfs")) {
		NEED(2);
		if (!strcmp(f[1], "rw"))
			s->sysfs_rw = 1;
		else if (strcmp(f[1], "ro"))
			return -1;
	} else if (!strcmp(k, "mount")) {
		struct mount_ent *m;

		NEED(5);
		if (s->n_mounts >= MAX_MOUNTS || f[2][0] != '/')
			return -1;
		m = &s->mounts[s->n_mounts++];
		m->source = strcmp(f[1], "-") ? f[1] : "";
		m->dest = f[2];
		m->type = strcmp(f[3], "-") ? f[3] : "";
		m->options = strcmp(f[4], "-") ? f[4] : "";
		if (mount_options_check(m->options))
			return -1;
	} else if (!strcmp(k, "device")) {
		struct device_ent *d;
		unsigned long ma, mi, mo, uid, gid;

		NEED(8);
		if (s->n_devices >= MAX_DEVICES || f[1][0] != '/' || strlen(f[2]) != 1 ||
		    !strchr("cbup", f[2][0]) || parse_ulong(f[3], &ma, 10) ||
		    parse_ulong(f[4], &mi, 10) || parse_ulong(f[5], &mo, 8) || mo > 07777 ||
		    parse_ulong(f[6], &uid, 10) || parse_ulong(f[7], &gid, 10))
			return -1;
		d = &s->devices[s->n_devices++];
		d->path = f[1];
		d->type = f[2][0];
		d->major = (unsigned int)ma;
		d->minor = (unsigned int)mi;
		d->mode = (unsigned int)mo;
		d->uid = (uid_t)uid;
		d->gid = (gid_t)gid;
	} else if (!strcmp(k, "masked")) {
		NEED(2);
		if (s->n_masked >= MAX_PATHS || f[1][0] != '/')
			return -1;
		s->masked[s->n_masked++] = f[1];
	} else if (!strcmp(k, "readonly")) {
		NEED(2);
		if (s->n_readonly >= MAX_PATHS || f[1][0] != '/')
			return -1;
		s->readonly[s->n_readonly++] = f[1];
	} else if (!strcmp(k, "sysctl")) {
		NEED(3);
		if (s->n_sysctl >= MAX_SYSCTL || !*f[1] || strstr(f[1], ".."))
			return -1;
		s->sysctl[s->n_sysctl].key = f[1];
		s->sysctl[s->n_sysctl++].value = f[2];
	} else if (!strcmp(k, "devices_cgroup2")) {
		NEED(2);
		if (f[1][0] != '/')
			return -1;
		s->devices_cgroup2 = f[1];
	} else if (!strcmp(k, "device_rule")) {
		struct device_rule *d;
		char *end;

		NEED(6);
		if (s->n_device_rules >= MAX_DEVICE_RULES)
			return -1;
		d = &s->device_rules[s->n_device_rules++];
		if (strcmp(f[1], "allow") && strcmp(f[1], "deny"))
			return -1;
		d->allow = !strcmp(f[1], "allow");
		if (strlen(f[2]) != 1 || !strchr("acb", f[2][0]))
			return -1;
		d->type = f[2][0];
		d->major = d->minor = -1;
		if (strcmp(f[3], "*")) {
			d->major = strtol(f[3], &end, 10);
			if (*end || d->major < 0)
				return -1;
		}
		if (strcmp(f[4], "*")) {
			d->minor = strtol(f[4], &end, 10);
			if (*end || d->minor < 0)
				return -1;
		}
		if (devcgroup_parse_access(f[5], &d->access))
			return -1;
	} else if (!strcmp(k, "cgroup_procs")) {
		NEED(2);
		if (s->n_cgroups >= MAX_CGROUPS || f[1][0] != '/')
			return -1;
		s->cgroup_procs[s->n_cgroups++] = f[1];
	} else if (!strcmp(k, "tap")) {
		NEED(4);
		if (!*f[1] || strlen(f[1]) >= 16 || parse_ulong(f[3], &u, 10) || u > 65535 ||
		    s->n_taps >= MAX_TAPS)
			return -1;
		for (i = 0; i < s->n_taps; i++)
			if (!strcmp(s->taps[i].name, f[1]))
				return -1;
		s->taps[s->n_taps].name = f[1];
		s->taps[s->n_taps].mac = strcmp(f[2], "-") ? f[2] : NULL;
		s->taps[s->n_taps++].mtu = (unsigned int)u;
	} else if (!strcmp(k, "addr")) {
		NEED(3);
		if (s->n_addrs >= MAX_ADDRS)
			return -1;
		s->addr_if[s->n_addrs] = f[1];
		s->addr[s->n_addrs++] = f[2];
	} else if (!strcmp(k, "route")) {
		NEED(3);
		if (s->n_routes >= MAX_ADDRS)
			return -1;
		s->route_if[s->n_routes] = f[1];
		s->route_gw[s->n_routes++] = f[2];
	} else if (!strcmp(k, "terminal")) {
		NEED(1);
		s->terminal = 1;
	} else if (!strcmp(k, "console_socket")) {
		NEED(2);
		s->console_socket = f[1];
	} else if (!strcmp(k, "console_size")) {
		unsigned long rows, cols;

		NEED(3);
		if (parse_ulong(f[1], &rows, 10) || parse_ulong(f[2], &cols, 10) ||
		    !rows || !cols || rows > 0xffff || cols > 0xffff)
			return -1;
		s->console_rows = (unsigned short)rows;
		s->console_cols = (unsigned short)cols;
	} else if (!strcmp(k, "oom_score_adj")) {
		NEED(2);
		if (parse_int(f[1], &l) || l < -1000 || l > 1000)
			return -1;
		s->has_oom_score_adj = 1;
		s->oom_score_adj = (int)l;
	} else if (!strcmp(k, "rlimit")) {
		struct rlimit_ent *r;

		NEED(4);
		if (s->n_rlimits >= MAX_RLIMITS)
			return -1;
		r = &s->rlimits[s->n_rlimits];
		r->resource = rlimit_resource(f[1]);
		if (r->resource < 0 || parse_rlim(f[2], &r->lim.rlim_cur) ||
		    parse_rlim(f[3], &r->lim.rlim_max) || r->lim.rlim_cur > r->lim.rlim_max)
			return -1;
		s->n_rlimits++;
	} else if (!strcmp(k, "cap")) {
		static const char *const sets[CAPS_COUNT] = {
			"bounding", "effective", "permitted", "inheritable", "ambient",
		};

		if (n != 3 && n != 2)
			return -1;
		for (i = 0; i < CAPS_COUNT; i++)
			if (!strcmp(f[1], sets[i]))
				break;
		if (i == CAPS_COUNT || caps_parse(n == 3 ? f[2] : "", &s->caps[i]))
			return -1;
		s->has_caps = 1;
	} else if (!strcmp(k, "no_new_privs")) {
		NEED(1);
		s->no_new_privs = 1;
	} else if (!strcmp(k, "user")) {
		unsigned long uid, gid;

		if ((n != 3 && n != 4) || parse_ulong(f[1], &uid, 10) ||
		    parse_ulong(f[2], &gid, 10) || uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
			return -1;
		s->has_user = 1;
		s->uid = (uid_t)uid;
		s->gid = (gid_t)gid;
		if (n == 4 && parse_groups(f[3], s))
			return -1;
	} else if (!strcmp(k, "umask")) {
		NEED(2);
		if (parse_ulong(f[1], &u, 8) || u > 0777)
			return -1;
		s->umask = (mode_t)u;
	} else if (!strcmp(k, "cwd")) {
		NEED(2);
		if (f[1][0] != '/')
			return -1;
		s->cwd = f[1];
	} else if (!strcmp(k, "env")) {
		NEED(2);
		if (s->n_env >= MAX_ENV || !strchr(f[1], '='))
			return -1;
		s->env[s->n_env++] = f[1];
	} else if (!strcmp(k, "arg")) {
		NEED(2);
		if (s->n_args >= MAX_ARGS)
			return -1;
		s->args[s->n_args++] = f[1];
	} else if (!strcmp(k, "exec_fifo")) {
		NEED(2);
		if (f[1][0] != '/')
			return -1;
		s->exec_fifo = f[1];
	} else if (!strncmp(k, "seccomp_", 8)) {
		return seccomp_spec_line(&s->seccomp, f, n);
	} else if (!strcmp(k, "cleanup_rmdir") || !strcmp(k, "cleanup_unlink") ||
		   !strcmp(k, "orphan_rmdir") || !strcmp(k, "orphan_rmtree")) {
		NEED(2);
		/* A tree is removed with everything in it: never `/`. */
		if (s->n_cleanup >= MAX_CLEANUP || f[1][0] != '/' ||
		    (!strcmp(k, "orphan_rmtree") && !f[1][strspn(f[1], "/")]))
			return -1;
		s->cleanup_orphan[s->n_cleanup] = k[0] == 'o';
		s->cleanup_kind[s->n_cleanup] = !strcmp(k, "cleanup_unlink") ? CLEANUP_UNLINK :
						!strcmp(k, "orphan_rmtree") ? CLEANUP_RMTREE : CLEANUP_RMDIR;
		s->cleanup[s->n_cleanup++] = f[1];
	} else {
		return -1;
	}
#undef NEED
	return 0;
}

/* Cross-field rules (SPAWN.md): what needs which namespace. */
static const char *spec_check(const struct spec *s)
{
	int mnt = s->ns_new[NS_MOUNT];

	if (s->n_args == 0)
		return "no arg line: nothing to run";
	if (!mnt && (s->rootfs || s->ov_lower || s->default_mounts || s->n_mounts ||
		     s->n_devices || s->default_devices || s->n_masked || s->n_readonly ||
		     s->rootfs_readonly || s->no_pivot))
		return "rootfs, overlay, mounts, devices, masked and readonly paths need 'ns mount new'";
	if (s->ov_lower && !s->rootfs)
		return "overlay needs a rootfs line (the overlay is mounted on it)";
	if (s->n_taps && !s->ns_new[NS_NET])
		return "tap needs 'ns net new'";
	/* A joined uts namespace gets the name too, as runc sets it there. */
	if ((s->hostname || s->domainname) && !s->ns_new[NS_UTS] && !s->ns_path[NS_UTS])
		return "hostname needs 'ns uts new' or 'ns uts path'";
	if (s->chroot_dir && (mnt || s->ns_path[NS_MOUNT]))
		return "chroot is for a process without a mount namespace of its own (use rootfs)";
	if ((s->uidmap[0] || s->gidmap[0]) && !s->ns_new[NS_USER])
		return "uidmap/gidmap need 'ns user new'";
	if (s->console_socket && !s->terminal)
		return "console_socket needs terminal";
	if (s->console_rows && !s->terminal)
		return "console_size needs terminal";
	if (s->terminal && !mnt && !s->ns_path[NS_MOUNT])
		return "terminal needs a mount namespace with its own devpts";
	if (seccomp_spec_check(&s->seccomp))
		return seccomp_spec_check(&s->seccomp);
	return NULL;
}

/* spec_read() - read and check the spec lines up to "end" from @fd. On
 * failure a one-line reason is left in @errmsg.
 * Return: 0, or -errno (-EINVAL for a bad spec).
 */
int spec_read(struct spec *s, struct linebuf *lb, int fd, char *errmsg, size_t cap)
{
	const char *why;
	int lineno = 0;

	memset(s, 0, sizeof(*s));
	s->propagation = MS_REC_PRIVATE_DEFAULT;
	s->umask = 022;
	for (;;) {
		char *line, *copy, *f[10], *tok;
		int n = 0, r;

		r = ctl_readline(lb, fd, &line);
		if (r <= 0) {
			snprintf(errmsg, cap, "spec ended before its 'end' line");
			return r < 0 ? r : -EPIPE;
		}
		lineno++;
		if (!strcmp(line, "end"))
			break;
		copy = strdup(line);
		if (!copy)
			return -ENOMEM;
		/* strtok would merge empty fields: split on every tab. */
		for (tok = copy; tok && n < 10; n++) {
			f[n] = tok;
			tok = strchr(tok, '\t');
			if (tok)
				*tok++ = '\0';
		}
		if (tok) {
			snprintf(errmsg, cap, "line %d: too many fields: %.200s", lineno, line);
			return -EINVAL;
		}
		for (r = 0; r < n; r++) {
			if (unescape(f[r])) {
				snprintf(errmsg, cap, "line %d: bad escape: %.200s", lineno, line);
				return -EINVAL;
			}
		}
		if (lineno == 1 && strcmp(f[0], "version")) {
			snprintf(errmsg, cap, "line 1 must be 'version\\t1'");
			return -EINVAL;
		}
		if (spec_line(s, f, n)) {
			snprintf(errmsg, cap, "line %d: invalid: %.200s", lineno, line);
			return -EINVAL;
		}
	}
	s->env[s->n_env] = NULL;
	s->args[s->n_args] = NULL;
	why = spec_check(s);
	if (why) {
		snprintf(errmsg, cap, "%s", why);
		return -EINVAL;
	}
	return 0;
}
