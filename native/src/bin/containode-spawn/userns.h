/* userns.h - uid/gid maps of a new user namespace, written by the spawner. */
#ifndef SPAWN_USERNS_H
#define SPAWN_USERNS_H

#include <sys/types.h>

struct spec;

int userns_write_maps(const struct spec *s, pid_t pid, const char **step, char *path,
		      unsigned long cap);

#endif /* SPAWN_USERNS_H */
