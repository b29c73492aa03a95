/* init.h - what the container's init does between clone() and execve(). */
#ifndef SPAWN_INIT_H
#define SPAWN_INIT_H

struct spec;

struct init_fds {
	int rep;		/* report socket to the spawner (SOCK_SEQPACKET) */
	int sync;		/* read end: one byte from the spawner = go */
	int console_sock;	/* OCI console socket, or -1 */
	int exec_fifo;		/* O_PATH fd of the exec fifo, or -1 */
	int host_proc;		/* O_PATH fd of the spawner's /proc (to reopen exec_fifo), or -1 */
	int last_cap;
};

void init_run(const struct spec *s, const struct init_fds *fds) __attribute__((noreturn));

#endif /* SPAWN_INIT_H */
