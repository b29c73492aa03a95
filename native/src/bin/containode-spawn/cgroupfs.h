/* cgroupfs.h - the container's own view of the cgroup filesystems at
 * /sys/fs/cgroup, as runc mounts it: only the container's cgroup in each
 * hierarchy, laid out as on the host.
 *
 * States: cgroupfs_scan() reads the host's layout once (before anything
 * covers /sys or /proc); cgroupfs_mount() then mounts the view, any number
 * of times, at destinations inside the container's root.
 */
#ifndef SPAWN_CGROUPFS_H
#define SPAWN_CGROUPFS_H

int cgroupfs_scan(int rep, int own_ns);
int cgroupfs_mount(int rep, const char *root, const char *dest, unsigned long flags, int own_ns);

#endif /* SPAWN_CGROUPFS_H */
