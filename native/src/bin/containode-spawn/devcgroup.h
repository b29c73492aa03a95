/* devcgroup.h - the device allowlist of a cgroup v2 directory: a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, as runc and crun attach one (cgroup
 * v2 has no devices.allow; Documentation/admin-guide/cgroup-v2.rst "Device
 * controller").
 */
#ifndef SPAWN_DEVCGROUP_H
#define SPAWN_DEVCGROUP_H

#define MAX_DEVICE_RULES 256

struct device_rule {
	int allow;
	char type;		/* 'a', 'c' or 'b' */
	long major, minor;	/* -1: any */
	unsigned int access;	/* BPF_DEVCG_ACC_* bits */
};

int devcgroup_parse_access(const char *s, unsigned int *out);
int devcgroup_attach(const char *dir, const struct device_rule *rules, int n, const char **step);

#endif /* SPAWN_DEVCGROUP_H */
