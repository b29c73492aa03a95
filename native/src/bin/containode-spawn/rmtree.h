/* rmtree.h - remove a directory tree without following symlinks. */
#ifndef SPAWN_RMTREE_H
#define SPAWN_RMTREE_H

int rmtree(const char *path);

#endif /* SPAWN_RMTREE_H */
