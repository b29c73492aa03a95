/* inroot.h - open paths inside the container's root without ever leaving
 * it, whatever symlinks the root filesystem holds.
 */
#ifndef SPAWN_INROOT_H
#define SPAWN_INROOT_H

#define INROOT_MKDIR 0x1	/* create missing components as directories */
#define INROOT_FILE  0x2	/* ...and the last one as an empty file */

int inroot_open(const char *root, const char *path, int flags);

#endif /* SPAWN_INROOT_H */
