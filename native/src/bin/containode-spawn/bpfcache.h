/* bpfcache.h - compiled seccomp filters kept on disk between starts.
 *
 * libseccomp needs tens of milliseconds to compile Docker's default
 * profile for x86_64 with its x86 and x32 sub-architectures (measured:
 * 40-70 ms with libseccomp 2.5.4), which every container start would pay.
 * The BPF program depends only on the filter's spec lines and the library,
 * so the spawner keeps it in DIR/KEY.bpf and reuses it: KEY is a hash of
 * that text, and the file holds the text itself, compared byte for byte on
 * load, so a hash collision can never hand a container another filter.
 *
 * A file is used only when it is a regular file owned by the spawner's
 * effective uid and writable by nobody else, in a directory that is the
 * same; anything else is ignored (built afresh), never an error. At most
 * BPFCACHE_MAX_FILES files are kept (different capability sets give
 * different filters); past that, filters are built every time.
 */
#ifndef SPAWN_BPFCACHE_H
#define SPAWN_BPFCACHE_H

#include <stddef.h>

#define BPFCACHE_MAX_FILES	256

struct seccomp_prog;

int bpfcache_load(const char *dir, const char *text, size_t len,
		  struct seccomp_prog *prog, char *unknown, size_t unknown_cap);
void bpfcache_store(const char *dir, const char *text, size_t len,
		    const struct seccomp_prog *prog, const char *unknown);

#endif /* SPAWN_BPFCACHE_H */
