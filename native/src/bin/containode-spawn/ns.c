/* ns.c - joining namespaces by path with setns(2). All files are opened
 * first (a joined mount namespace changes what later paths mean), then
 * joined with the user namespace last: before it the spawner still has the
 * host's privileges, and namespaces it creates afterwards belong to the
 * joined user namespace, as the OCI runtime spec expects.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "ns.h"
#include "spec.h"

/* ns_clone_flags() - CLONE_NEW* for the namespaces to create. The cgroup
 * namespace is left out: the init unshares it once it is in its cgroups,
 * so the namespace root is the container's own cgroup (cgroup_namespaces(7)).
 * Return: the flags.
 */
int ns_clone_flags(const struct spec *s)
{
	int i, flags = 0;

	for (i = 0; i < NS_COUNT; i++)
		if (s->ns_new[i] && i != NS_CGROUP)
			flags |= ns_flag[i];
	return flags;
}

/* ns_join_all() - setns() into every "ns TYPE path" namespace.
 * Return: 0, or -errno with the failing path in *@failed.
 */
int ns_join_all(const struct spec *s, const char **failed)
{
	static const int order[NS_COUNT] = {
		NS_PID, NS_NET, NS_IPC, NS_UTS, NS_CGROUP, NS_MOUNT, NS_USER,
	};
	int fds[NS_COUNT], i, r = 0;

	for (i = 0; i < NS_COUNT; i++)
		fds[i] = -1;
	for (i = 0; i < NS_COUNT; i++) {
		if (!s->ns_path[i])
			continue;
		fds[i] = open(s->ns_path[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			r = -errno;
			*failed = s->ns_path[i];
			goto out;
		}
	}
	for (i = 0; i < NS_COUNT; i++) {
		int t = order[i];

		if (fds[t] < 0)
			continue;
		if (setns(fds[t], ns_flag[t]) < 0) {
			r = -errno;
			*failed = s->ns_path[t];
			goto out;
		}
	}
out:
	for (i = 0; i < NS_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}
