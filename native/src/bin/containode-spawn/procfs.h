/* procfs.h - writing the one-line control files of /proc (uid_map,
 * setgroups, sysctls, oom_score_adj).
 */
#ifndef SPAWN_PROCFS_H
#define SPAWN_PROCFS_H

int procfs_write(const char *path, const char *text);

#endif /* SPAWN_PROCFS_H */
