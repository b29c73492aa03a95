/* console.h - the container's pty when the spec asks for a terminal. */
#ifndef SPAWN_CONSOLE_H
#define SPAWN_CONSOLE_H

struct spec;

int console_socket_connect(const char *path);
int console_setup(const struct spec *s, int rep, int console_sock);

#endif /* SPAWN_CONSOLE_H */
