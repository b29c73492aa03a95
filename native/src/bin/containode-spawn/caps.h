/* caps.h - capability sets and no_new_privs for the container init. */
#ifndef SPAWN_CAPS_H
#define SPAWN_CAPS_H

#include <stdint.h>

int caps_parse(const char *list, uint64_t *mask);
int caps_last_cap(void);
int caps_drop_bounding(uint64_t keep, int last_cap);
int caps_apply(const uint64_t *sets, int last_cap, const char **step);

#endif /* SPAWN_CAPS_H */
