/* userns.c - /proc/PID/{uid_map,setgroups,gid_map} of the init
 * (user_namespaces(7)): each map is written once, in one write(2);
 * "deny" must reach setgroups before gid_map when the writer lacks
 * CAP_SETGID in the parent namespace, and callers may ask for it anyway
 * (rootless-style maps).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "spec.h"
#include "userns.h"

/* userns_write_maps() - the maps of the spec for process @pid.
 * Return: 0, or -errno with the step and the file in @path.
 */
int userns_write_maps(const struct spec *s, pid_t pid, const char **step, char *path,
		      unsigned long cap)
{
	int r;

	*step = "write";
	if (s->uidmap[0]) {
		snprintf(path, cap, "/proc/%d/uid_map", pid);
		r = procfs_write(path, s->uidmap);
		if (r)
			return r;
	}
	if (s->setgroups_deny) {
		snprintf(path, cap, "/proc/%d/setgroups", pid);
		r = procfs_write(path, "deny");
		if (r)
			return r;
	}
	if (s->gidmap[0]) {
		snprintf(path, cap, "/proc/%d/gid_map", pid);
		r = procfs_write(path, s->gidmap);
		if (r)
			return r;
	}
	return 0;
}
