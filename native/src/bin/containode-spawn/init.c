/* init.c - the container init, from clone() to execve(). The spawner is
 * single-threaded, so this child may call anything; it still reports every
 * failure as errno + step on the report socket and exits, since its
 * stderr is the user's program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#include "caps.h"
#include "console.h"
#include "init.h"
#include "mounts.h"
#include "procfs.h"
#include "report.h"
#include "seccomp.h"
#include "spec.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void __attribute__((noreturn)) die(const struct init_fds *fds, int err,
					  const char *step, const char *detail)
{
	report_fail(fds->rep, err, step, detail);
	_exit(1);
}

/* The executable for argv[0]: as execvp(3), searched in the container's
 * PATH when it has no slash. Returns 0, -ENOENT, or -EACCES when only a
 * non-executable match exists. */
static int find_program(const struct spec *s, char *out, size_t cap)
{
	const char *arg0 = s->args[0], *path = DEFAULT_PATH, *p;
	int seen_eacces = 0, i;
	struct stat st;

	if (strchr(arg0, '/')) {
		snprintf(out, cap, "%s", arg0);
		if (stat(out, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode) || access(out, X_OK) < 0)
			return -EACCES;
		return 0;
	}
	for (i = 0; i < s->n_env; i++)
		if (!strncmp(s->env[i], "PATH=", 5))
			path = s->env[i] + 5;
	for (p = path;; ) {
		size_t n = strcspn(p, ":");

		if (snprintf(out, cap, "%.*s%s%s", (int)n, n ? p : ".",
			     "/", arg0) < (int)cap && stat(out, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 0;
			seen_eacces = 1;
		}
		p += n;
		if (!*p)
			break;
		p++;
	}
	snprintf(out, cap, "%s", arg0);
	return seen_eacces ? -EACCES : -ENOENT;
}

static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	/* Ignored signals and the mask survive execve(2): give the program
	 * the defaults, not the spawner's settings. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void set_sysctls(const struct spec *s, const struct init_fds *fds)
{
	char path[PATH_MAX], *c;
	int i, r;

	for (i = 0; i < s->n_sysctl; i++) {
		snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctl[i].key);
		for (c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		r = procfs_write(path, s->sysctl[i].value);
		if (r)
			die(fds, -r, "write(sysctl)", path);
	}
}

/* set_user() - the process user's groups, gid and uid.
 * Return: 0, or errno with *step set to the failed call.
 */
static int set_user(const struct spec *s, const char **step)
{
	*step = "setgroups";
	if (setgroups((size_t)s->n_groups, s->groups) < 0 &&
	    !(errno == EPERM && s->n_groups == 0))
		return errno;
	*step = "setresgid";
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		return errno;
	*step = "setresuid";
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		return errno;
	return 0;
}

/* init_run() - everything between the spawner's "go" and execve; never
 * returns.
 */
void init_run(const struct spec *s, const struct init_fds *fds)
{
	char prog[PATH_MAX], c, buf[32];
	int hostdev = -1, fifo = -1, r, i;
	const char *step;

	reset_signals();
	/* Only stdio reaches the program: whatever else the caller leaked
	 * to the spawner closes at execve (close_range(2), Linux 5.11). */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	/* Attached: the container must not outlive its spawner. */
	if (!s->detached && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(fds, errno, "prctl(PR_SET_PDEATHSIG)", "");
	if (read(fds->sync, &c, 1) != 1)
		_exit(1);
	close(fds->sync);

	/* A new user namespace: the creds cloned from the spawner are not
	 * mapped in it until we take its root, which the maps now define. */
	if (s->ns_new[NS_USER]) {
		if (setresgid(0, 0, 0) < 0)
			die(fds, errno, "setresgid", "0");
		if (setresuid(0, 0, 0) < 0)
			die(fds, errno, "setresuid", "0");
	}
	if (s->ns_new[NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
		die(fds, errno, "unshare(CLONE_NEWCGROUP)", "");
	if (s->ns_new[NS_MOUNT]) {
		if (mounts_prepare(s, fds->rep, &hostdev) || mounts_pivot(s, fds->rep))
			_exit(1);
		if (hostdev >= 0)
			close(hostdev);
	} else if (s->chroot_dir) {
		/* No mount namespace (an OCI config without one): the root
		 * changes for this process only; nothing is mounted. */
		if (chroot(s->chroot_dir) < 0)
			die(fds, errno, "chroot", s->chroot_dir);
		if (chdir("/") < 0)
			die(fds, errno, "chdir", "/");
	}
	if (s->terminal && console_setup(s, fds->rep, fds->console_sock))
		_exit(1);
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		die(fds, errno, "sethostname", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		die(fds, errno, "setdomainname", s->domainname);
	/* Before read-only paths, which usually include /proc/sys. */
	set_sysctls(s, fds);
	if (s->ns_new[NS_MOUNT] && mounts_finish(s, fds->rep))
		_exit(1);
	if (s->has_oom_score_adj) {
		snprintf(buf, sizeof(buf), "%d", s->oom_score_adj);
		r = procfs_write("/proc/self/oom_score_adj", buf);
		if (r)
			die(fds, -r, "write", "/proc/self/oom_score_adj");
	}
	for (i = 0; i < s->n_rlimits; i++) {
		if (setrlimit(s->rlimits[i].resource, &s->rlimits[i].lim) < 0) {
			snprintf(buf, sizeof(buf), "%d", s->rlimits[i].resource);
			die(fds, errno, "setrlimit", buf);
		}
	}
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN
	 * (seccomp(2)): do it before capabilities and the uid change take it
	 * away, as runc does; with it, as late as possible (below). */
	if (s->seccomp.enabled && !s->no_new_privs) {
		r = seccomp_install(&s->seccomp);
		if (r)
			die(fds, -r, "seccomp", "");
	}
	/* Found now, still as the container's root, so that a missing
	 * program fails `create` (as runc's LookPath does); chdir again
	 * below as the process user, whose access is what counts. */
	if (chdir(s->cwd ? s->cwd : "/") < 0)
		die(fds, errno, "chdir", s->cwd ? s->cwd : "/");
	r = find_program(s, prog, sizeof(prog));
	if (r)
		die(fds, -r, "exec", prog);

	report_send(fds->rep, "ready", -1);
	if (fds->exec_fifo >= 0) {
		/* The fifo's path is the caller's, gone after pivot_root: reopen
		 * the O_PATH fd the spawner took, through the spawner's /proc
		 * (still the host's, whatever is mounted here now), before the
		 * process user and its capabilities replace root's: the fifo is
		 * 0600 for the container's root, and open(2) of a /proc/self/fd
		 * link checks the inode's permissions against who opens it
		 * (path_resolution(7)). The open blocks until `start` opens the
		 * read end (fifo(7)). The write end stays open, close-on-exec,
		 * until execve: `start` reads end of file when the program runs,
		 * an error line when not (detached, the spawner is gone and
		 * nobody else would hear). */
		snprintf(buf, sizeof(buf), "self/fd/%d", fds->exec_fifo);
		fifo = openat(fds->host_proc, buf, O_WRONLY | O_CLOEXEC);
		if (fifo < 0 || write(fifo, "0", 1) != 1) {
			r = errno;
			report_fail(fds->rep, r, "open(exec fifo)", s->exec_fifo);
			/* Detached, nobody reads the report socket any more. */
			if (s->detached)
				dprintf(2, "containode: open(exec fifo %s): %s\n", s->exec_fifo, strerror(r));
			_exit(1);
		}
		close(fds->exec_fifo);
		close(fds->host_proc);
	}
	r = 0;
	step = "";
	if (s->has_caps) {
		r = -caps_drop_bounding(s->caps[CAPS_BOUNDING], fds->last_cap);
		step = "prctl(PR_CAPBSET_DROP)";
	}
	if (!r && s->has_user) {
		if (s->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
			r = errno;
			step = "prctl(PR_SET_KEEPCAPS)";
		} else {
			r = set_user(s, &step);
		}
	}
	if (!r && s->has_caps)
		r = -caps_apply(s->caps, fds->last_cap, &step);
	umask(s->umask);
	if (!r && chdir(s->cwd ? s->cwd : "/") < 0) {
		r = errno;
		step = "chdir";
		snprintf(prog, sizeof(prog), "%s", s->cwd ? s->cwd : "/");
	} else if (!r && s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = errno;
		step = "prctl(PR_SET_NO_NEW_PRIVS)";
	} else if (!r && s->seccomp.enabled && s->no_new_privs &&
		   (r = -seccomp_install(&s->seccomp)) != 0) {
		/* The last step before execve: the init's own calls up to
		 * here are not subject to the container's filter. */
		step = "seccomp";
	} else if (!r) {
		execve(prog, s->args, s->env);
		r = errno;
		step = "exec";
	}
	report_fail(fds->rep, r, step, prog);
	if (fifo >= 0) {
		char msg[700];
		int n = fmt_error(msg, sizeof(msg), r, step, prog);

		if (write(fifo, msg, n) == n)
			_exit(r == ENOENT ? 127 : 126);
	}
	/* Detached with nobody to tell: the program's stderr is where a
	 * person will look. */
	if (s->detached)
		dprintf(2, "containode: %s(%s): %s\n", step, prog, strerror(r));
	_exit(r == ENOENT ? 127 : 126);
}
