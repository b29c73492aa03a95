/* supervise.h - containode-spawn's supervised mode: a detached container's
 * parent for its whole life (SPAWN.md "Supervised mode").
 */
#ifndef SPAWN_SUPERVISE_H
#define SPAWN_SUPERVISE_H

/* The environment variable that selects the mode (SPAWN.md). */
#define SUPERVISE_ENV "CONTAINODE_SUPERVISE"

int supervise_main(const char *ctl_addr, const char *conf);

#endif /* SPAWN_SUPERVISE_H */
