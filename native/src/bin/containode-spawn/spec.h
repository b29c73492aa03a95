/* spec.h - the container spec as read from the control socket (SPAWN.md). */
#ifndef SPAWN_SPEC_H
#define SPAWN_SPEC_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "report.h"
#include "seccomp.h"

enum ns_type { NS_USER, NS_PID, NS_MOUNT, NS_UTS, NS_IPC, NS_NET, NS_CGROUP, NS_COUNT };

#include "devcgroup.h"

#define MAX_MOUNTS	256
#define MAX_DEVICES	128
#define MAX_PATHS	128
#define MAX_SYSCTL	64
#define MAX_ENV		1024
#define MAX_ARGS	1024
#define MAX_RLIMITS	32
#define MAX_CGROUPS	32
#define MAX_ADDRS	32
#define MAX_TAPS	16	/* interfaces per container (containode --net) */
#define MAX_GROUPS	64
#define MAX_CLEANUP	64
#define MAX_IDMAP	4096	/* bytes of uid_map text, the kernel's limit is a page */

enum cap_set { CAPS_BOUNDING, CAPS_EFFECTIVE, CAPS_PERMITTED, CAPS_INHERITABLE,
	       CAPS_AMBIENT, CAPS_COUNT };

struct mount_ent {
	const char *source, *dest, *type, *options;
};

struct device_ent {
	const char *path;
	char type;		/* c b u p */
	unsigned int major, minor, mode;
	uid_t uid;
	gid_t gid;
};

struct rlimit_ent {
	int resource;
	struct rlimit lim;
};

struct sysctl_ent {
	const char *key, *value;
};

struct spec {
	int detached;
	int ns_new[NS_COUNT];
	const char *ns_path[NS_COUNT];
	char uidmap[MAX_IDMAP], gidmap[MAX_IDMAP];
	int setgroups_deny;
	const char *hostname, *domainname;
	const char *rootfs;
	const char *ov_lower, *ov_upper, *ov_work;
	int rootfs_readonly;
	unsigned long propagation;
	int no_pivot;
	const char *chroot_dir;	/* no mount namespace: chroot(2) here (OCI without a mount namespace) */
	int default_mounts, default_devices;
	int sysfs_rw;		/* `sysfs rw`: default /sys writable (privileged) */
	struct mount_ent mounts[MAX_MOUNTS];
	int n_mounts;
	struct device_ent devices[MAX_DEVICES];
	int n_devices;
	const char *masked[MAX_PATHS];
	int n_masked;
	const char *readonly[MAX_PATHS];
	int n_readonly;
	struct sysctl_ent sysctl[MAX_SYSCTL];
	int n_sysctl;
	const char *cgroup_procs[MAX_CGROUPS];
	const char *devices_cgroup2;	/* cgroup v2 directory for the device program */
	struct device_rule device_rules[MAX_DEVICE_RULES];
	int n_device_rules;
	int n_cgroups;
	struct tap_ent {
		const char *name, *mac;	/* mac NULL: the kernel's random one */
		unsigned int mtu;	/* 0: the default */
	} taps[MAX_TAPS];
	int n_taps;
	const char *addr_if[MAX_ADDRS], *addr[MAX_ADDRS];
	int n_addrs;
	const char *route_if[MAX_ADDRS], *route_gw[MAX_ADDRS];
	int n_routes;
	int terminal;
	const char *console_socket;
	unsigned short console_rows, console_cols;	/* 0: the kernel's default */
	int has_oom_score_adj, oom_score_adj;
	struct rlimit_ent rlimits[MAX_RLIMITS];
	int n_rlimits;
	int has_caps;
	uint64_t caps[CAPS_COUNT];
	int no_new_privs;
	int has_user;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int n_groups;
	mode_t umask;
	const char *cwd;
	char *env[MAX_ENV + 1];
	int n_env;
	char *args[MAX_ARGS + 1];
	int n_args;
	const char *exec_fifo;
	const char *cleanup[MAX_CLEANUP];
	enum { CLEANUP_UNLINK, CLEANUP_RMDIR, CLEANUP_RMTREE } cleanup_kind[MAX_CLEANUP];
	int cleanup_orphan[MAX_CLEANUP];	/* only when the caller is gone */
	int n_cleanup;
	struct seccomp_spec seccomp;	/* seccomp_* lines, see seccomp.h */
};

extern const char *const ns_names[NS_COUNT];
extern const int ns_flag[NS_COUNT];

int spec_read(struct spec *s, struct linebuf *lb, int fd, char *errmsg, size_t cap);

#endif /* SPAWN_SPEC_H */
