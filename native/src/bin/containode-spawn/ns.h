/* ns.h - namespaces the spawner joins (setns) before clone(), and the
 * clone flags for the ones it creates.
 */
#ifndef SPAWN_NS_H
#define SPAWN_NS_H

struct spec;

int ns_clone_flags(const struct spec *s);
int ns_join_all(const struct spec *s, const char **failed);

#endif /* SPAWN_NS_H */
