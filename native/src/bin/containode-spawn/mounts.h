/* mounts.h - the container's mount namespace: propagation, rootfs (with an
 * optional overlay), default and explicit mounts, pivot_root, masked and
 * read-only paths.
 */
#ifndef SPAWN_MOUNTS_H
#define SPAWN_MOUNTS_H

#include <sys/mount.h>

struct spec;

#define MS_REC_PRIVATE_DEFAULT (MS_REC | MS_PRIVATE)

int mount_propagation(const char *name, unsigned long *out);
int mount_options_check(const char *opts);
int mkdirs(const char *path, mode_t mode);
int path_join(char *out, size_t cap, const char *root, const char *path);
int mounts_prepare(const struct spec *s, int rep, int *hostdev);
int mounts_pivot(const struct spec *s, int rep);
int mounts_finish(const struct spec *s, int rep);

#endif /* SPAWN_MOUNTS_H */
