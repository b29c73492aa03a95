/* seccomp.h - the container's system-call filter (seccomp(2)).
 *
 * The spec's `seccomp_*` lines (SPAWN.md) are parsed into a struct
 * seccomp_spec. The spawner compiles it with libseccomp before it creates
 * anything (seccomp_build: bad rules and names libseccomp does not know are
 * found while nothing exists yet) into a classic BPF program, which the
 * clone()d init inherits and installs with one seccomp(2) call
 * (seccomp_install) just before execve. The init thus never calls into
 * libseccomp after clone().
 *
 * States of a filter: absent (no `seccomp_default` line: the program runs
 * unfiltered), parsed, built (a BPF program in memory), installed.
 */
#ifndef SPAWN_SECCOMP_H
#define SPAWN_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

#define SECCOMP_MAX_RULES	8192
#define SECCOMP_MAX_ARCHES	16
#define SECCOMP_MAX_ARGS	6	/* a system call has at most six arguments */

struct seccomp_cond {
	unsigned int index;	/* argument 0-5 */
	int op;			/* libseccomp enum scmp_compare */
	uint64_t value, value_two;
};

struct seccomp_rule {
	const char *name;	/* the system call, as libseccomp names it */
	uint32_t action;	/* SCMP_ACT_* value, errno included */
	int n_conds;
	struct seccomp_cond conds[SECCOMP_MAX_ARGS];
};

/* A built filter: what seccomp(2) takes, in memory the init inherits. */
struct seccomp_prog {
	unsigned short len;		/* instructions */
	void *filter;			/* struct sock_filter[len] */
};

struct seccomp_spec {
	int enabled;			/* a seccomp_default line was given */
	uint32_t default_action;
	uint32_t arches[SECCOMP_MAX_ARCHES];	/* libseccomp arch tokens */
	int n_arches;
	unsigned int flags;		/* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	int quiet_unknown;		/* skip unknown names without a warning */
	struct seccomp_rule *rules;	/* grows by realloc, bounded */
	int n_rules, cap_rules;
	struct seccomp_prog prog;	/* set by seccomp_build() */
	const char *cache_dir;		/* seccomp_cache: compiled filters kept here */
	char *text;			/* the lines the program depends on (cache key) */
	size_t text_len, text_cap;
};

int seccomp_spec_line(struct seccomp_spec *sc, char **f, int n);
const char *seccomp_spec_check(const struct seccomp_spec *sc);
int seccomp_build(struct seccomp_spec *sc, char *unknown, size_t unknown_cap,
		  const char **step, const char **detail);
int seccomp_install(const struct seccomp_spec *sc);

#endif /* SPAWN_SECCOMP_H */
