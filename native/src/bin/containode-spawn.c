/* containode-spawn - create a container and run one program in it.
 *
 * Usage: containode-spawn CTL
 *
 * CTL is the caller's unix socket ("@name": abstract). The protocol, the
 * spec format and the order of work are in native/SPAWN.md. The spawner is
 * single-threaded on purpose: setns(2) into user and mount namespaces and
 * unshare(2) are refused to multi-threaded processes such as Node.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containode-spawn/caps.h"
#include "containode-spawn/console.h"
#include "containode-spawn/init.h"
#include "containode-spawn/netlink.h"
#include "containode-spawn/devcgroup.h"
#include "containode-spawn/ns.h"
#include "containode-spawn/report.h"
#include "containode-spawn/spec.h"
#include "containode-spawn/userns.h"
#include "containode-spawn/rmtree.h"
#include "containode-spawn/seccomp.h"
#include "containode-spawn/supervise.h"

static struct spec spec;
static struct linebuf ctl_lines;

struct spawner {
	int ctl;		/* control socket to the caller, -1 once gone */
	int rep;		/* report socket from the init, -1 at its end */
	int sync;		/* write end: "go" */
	int sigfd;		/* signalfd for SIGCHLD */
	pid_t pid;		/* the init */
	int ready, failed, aborted;
	int fifo_made;		/* we created spec.exec_fifo */
};

/* `orphaned`: the caller is gone (fd 3 hit end of file), so nobody else
 * will remove the `orphan_rmdir` paths. A cgroup stays busy (EBUSY) until
 * its last task has finished exiting, which may lag the init's reaping a
 * little (cgroup_exit() runs late in do_exit()): retry for up to a second. */
static void cleanup_paths(int orphaned)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int i, tries;

	for (i = 0; i < spec.n_cleanup; i++) {
		if (spec.cleanup_orphan[i] && !orphaned)
			continue;
		if (spec.cleanup_kind[i] == CLEANUP_UNLINK) {
			unlink(spec.cleanup[i]);
			continue;
		}
		if (spec.cleanup_kind[i] == CLEANUP_RMTREE) {
			rmtree(spec.cleanup[i]);
			continue;
		}
		for (tries = 0; rmdir(spec.cleanup[i]) < 0 && errno == EBUSY && tries < 100; tries++)
			nanosleep(&tick, NULL);
	}
}

/* The first failure, sent by finish() once its mess is cleaned up, so a
 * caller that reads `error` knows nothing of the attempt is left. */
static char error_msg[1024];

static void keep_error(struct spawner *sp, const char *msg)
{
	if (!sp->failed)
		snprintf(error_msg, sizeof(error_msg), "%s", msg);
	sp->failed = 1;
}

static void send_error(struct spawner *sp, int err, const char *step, const char *detail)
{
	char msg[800];

	fmt_error(msg, sizeof(msg), err, step, detail);
	keep_error(sp, msg);
}

/* Status as a shell reports it: the code, or 128+N for signal N. */
static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

static int __attribute__((noreturn)) finish(struct spawner *sp, int code)
{
	int st;

	if (sp->pid > 0) {
		kill(sp->pid, SIGKILL);
		while (waitpid(sp->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	/* A start that failed leaves no fifo for a `start` to hang on. */
	if (spec.exec_fifo && sp->fifo_made && !sp->ready)
		unlink(spec.exec_fifo);
	cleanup_paths(sp->ctl < 0);
	if (sp->failed && sp->ctl >= 0)
		ctl_send(sp->ctl, error_msg, -1);
	exit(code);
}

static void __attribute__((noreturn)) fail(struct spawner *sp, int err, const char *step,
					   const char *detail)
{
	send_error(sp, err, step, detail);
	finish(sp, 1);
}

/* The system-call filter is compiled here, before anything exists, so a
 * rule libseccomp refuses leaves nothing behind; the init inherits the
 * program and installs it just before execve. Names libseccomp does not
 * know on this architecture are skipped and reported once, as a warning
 * for the caller to show (runc skips them the same way). */
static void build_seccomp(struct spawner *sp)
{
	char unknown[700];
	const char *step, *what;
	int r;

	if (!spec.seccomp.enabled)
		return;
	r = seccomp_build(&spec.seccomp, unknown, sizeof(unknown), &step, &what);
	if (r)
		fail(sp, r, step, what);
	if (unknown[0] && !spec.seccomp.quiet_unknown &&
	    ctl_sendf(sp->ctl, -1, "warning\tseccomp: system calls unknown to libseccomp "
		      "on this architecture were skipped: %s\n", unknown))
		finish(sp, 2);
}

/* One message from the init: ready, console + fd, or error. */
static void on_report(struct spawner *sp, const char *msg, int fd)
{
	if (!strcmp(msg, "ready")) {
		sp->ready = 1;
		if (sp->ctl >= 0)
			ctl_send(sp->ctl, "ready\n", -1);
		if (spec.detached)
			exit(0);	/* the init waits on its exec fifo alone */
	} else if (!strcmp(msg, "console")) {
		if (sp->ctl >= 0 && fd >= 0)
			ctl_send(sp->ctl, "console\n", fd);
	} else if (!strncmp(msg, "error\t", 6)) {
		keep_error(sp, msg);
	}
	if (fd >= 0)
		close(fd);
}

/* Drain the report socket; at its end the init has exec'd or died. */
static void read_reports(struct spawner *sp, int nonblock)
{
	char msg[1024];
	int fd;

	while (sp->rep >= 0) {
		long n;

		if (nonblock) {
			struct pollfd p = { .fd = sp->rep, .events = POLLIN };

			if (poll(&p, 1, 0) <= 0)
				return;
		}
		n = report_recv(sp->rep, msg, sizeof(msg), &fd);
		if (n <= 0) {
			close(sp->rep);
			sp->rep = -1;
			if (!sp->failed && sp->ready && sp->ctl >= 0)
				ctl_send(sp->ctl, "started\n", -1);
			return;
		}
		on_report(sp, msg, fd);
		if (!nonblock)
			return;
	}
}

/* One line from the caller. Return: 1 for "go", 0 otherwise. */
static int on_ctl(struct spawner *sp)
{
	char *line;
	int r = ctl_readline(&ctl_lines, sp->ctl, &line);

	if (r <= 0) {
		/* The caller is gone (even SIGKILLed): take the container down. */
		close(sp->ctl);
		sp->ctl = -1;
		sp->aborted = 1;
		kill(sp->pid, SIGKILL);
		return 0;
	}
	if (!strcmp(line, "go"))
		return 1;
	if (!strcmp(line, "abort")) {
		sp->aborted = 1;
		kill(sp->pid, SIGKILL);
	} else if (!strncmp(line, "kill\t", 5)) {
		int sig = atoi(line + 5);

		if (sig > 0 && sig < NSIG)
			kill(sp->pid, sig);
	}
	return 0;
}

/* SIGCHLD: reap the init. Return: 1 when it is gone (status in *st). */
static int on_child(struct spawner *sp, int *st)
{
	struct signalfd_siginfo si;

	while (read(sp->sigfd, &si, sizeof(si)) > 0)
		;
	return waitpid(sp->pid, st, WNOHANG) == sp->pid;
}

static void __attribute__((noreturn)) init_gone(struct spawner *sp, int st)
{
	sp->pid = 0;
	read_reports(sp, 1);
	if (sp->failed)
		finish(sp, 1);
	cleanup_paths(sp->ctl < 0);
	if (sp->ctl >= 0)
		ctl_sendf(sp->ctl, -1, "exit\t%d\n", sp->aborted ? 137 : exit_status(st));
	exit(sp->aborted ? 1 : 0);
}

/* Wait for "go" from the caller. */
static void wait_go(struct spawner *sp)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sp->ctl, .events = POLLIN },
				       { .fd = sp->sigfd, .events = POLLIN } };
		int st;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(sp, errno, "poll", "");
		}
		if (p[0].revents && on_ctl(sp))
			return;
		if (sp->aborted) {
			while (!on_child(sp, &st))
				poll(&p[1], 1, -1);
			init_gone(sp, st);
		}
		if (p[1].revents && on_child(sp, &st)) {
			read_reports(sp, 1);
			if (!sp->failed)
				send_error(sp, ECHILD, "init", "exited before start");
			sp->pid = 0;
			finish(sp, 1);
		}
	}
}

/* After "go": reports, caller messages and the init's exit. */
static void __attribute__((noreturn)) supervise(struct spawner *sp)
{
	for (;;) {
		struct pollfd p[3] = { { .fd = sp->sigfd, .events = POLLIN },
				       { .fd = sp->ctl, .events = POLLIN },
				       { .fd = sp->rep, .events = POLLIN } };
		int st;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail(sp, errno, "poll", "");
		}
		if (p[2].revents)
			read_reports(sp, 0);
		if (p[1].revents)
			on_ctl(sp);
		if (p[0].revents && on_child(sp, &st))
			init_gone(sp, st);
	}
}

int main(int argc, char **argv)
{
	static const int ignored[] = { SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	struct spawner sp = { .ctl = -1, .rep = -1, .sync = -1, .sigfd = -1 };
	struct init_fds fds = { .console_sock = -1, .exec_fifo = -1, .host_proc = -1 };
	int cgfd[MAX_CGROUPS], rep[2], syncp[2], r, i, taps[MAX_TAPS];
	char errmsg[512], detail[512], macs[MAX_TAPS][18];
	const char *step = "", *path = "";
	sigset_t chld;

	if (argc != 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: containode-spawn CTL-SOCKET   (see native/SPAWN.md)\n");
		return 2;
	}
	/* Supervised mode (SPAWN.md): a detached container's parent for its life. */
	if (getenv(SUPERVISE_ENV))
		return supervise_main(argv[1], getenv(SUPERVISE_ENV));
	for (i = 0; i < (int)(sizeof(ignored) / sizeof(ignored[0])); i++)
		signal(ignored[i], SIG_IGN);
	sp.ctl = ctl_connect(argv[1]);
	if (sp.ctl < 0) {
		fprintf(stderr, "containode-spawn: connect(%s): %s\n", argv[1], strerror(-sp.ctl));
		return 2;
	}
	r = spec_read(&spec, &ctl_lines, sp.ctl, errmsg, sizeof(errmsg));
	if (r)
		fail(&sp, r, "spec", errmsg);
	build_seccomp(&sp);

	/* cgroup v2's device allowlist, before the init can join the cgroup. */
	if (spec.devices_cgroup2) {
		r = devcgroup_attach(spec.devices_cgroup2, spec.device_rules, spec.n_device_rules, &step);
		if (r)
			fail(&sp, -r, step, spec.devices_cgroup2);
	}
	/* Everything named by a host path, before any setns. */
	for (i = 0; i < spec.n_cgroups; i++) {
		cgfd[i] = open(spec.cgroup_procs[i], O_WRONLY | O_CLOEXEC);
		if (cgfd[i] < 0)
			fail(&sp, errno, "open", spec.cgroup_procs[i]);
	}
	if (spec.exec_fifo) {
		if (mkfifo(spec.exec_fifo, 0600) < 0)
			fail(&sp, errno, "mkfifo", spec.exec_fifo);
		sp.fifo_made = 1;
		fds.exec_fifo = open(spec.exec_fifo, O_PATH | O_CLOEXEC);
		if (fds.exec_fifo < 0)
			fail(&sp, errno, "open", spec.exec_fifo);
		/* The init reopens the fifo through this /proc: a joined mount
		 * namespace's own /proc belongs to another PID namespace, in
		 * which the init has no /proc/self. */
		fds.host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds.host_proc < 0)
			fail(&sp, errno, "open", "/proc");
	}
	if (spec.console_socket) {
		fds.console_sock = console_socket_connect(spec.console_socket);
		if (fds.console_sock < 0)
			fail(&sp, -fds.console_sock, "connect(console socket)", spec.console_socket);
	}
	fds.last_cap = caps_last_cap();
	r = ns_join_all(&spec, &path);
	if (r)
		fail(&sp, r, "setns", path);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) < 0)
		fail(&sp, errno, "socketpair", "");
	if (pipe2(syncp, O_CLOEXEC) < 0)
		fail(&sp, errno, "pipe2", "");
	/* Blocked before clone so that an early exit of the init still wakes
	 * the signalfd; the init unblocks it for itself. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sp.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sp.sigfd < 0)
		fail(&sp, errno, "signalfd", "");

	/* clone(2) without a stack behaves as fork(): the child runs on a
	 * copy of this stack. */
	sp.pid = (pid_t)syscall(SYS_clone, (unsigned long)(ns_clone_flags(&spec) | SIGCHLD),
				NULL, NULL, NULL, NULL);
	if (sp.pid < 0) {
		sp.pid = 0;
		fail(&sp, errno, "clone", "");
	}
	if (sp.pid == 0) {
		close(sp.ctl);
		close(rep[0]);
		close(syncp[1]);
		close(sp.sigfd);
		for (i = 0; i < spec.n_cgroups; i++)
			close(cgfd[i]);
		fds.rep = rep[1];
		fds.sync = syncp[0];
		init_run(&spec, &fds);
	}
	close(rep[1]);
	close(syncp[0]);
	if (fds.console_sock >= 0)
		close(fds.console_sock);
	if (fds.exec_fifo >= 0)
		close(fds.exec_fifo);
	if (fds.host_proc >= 0)
		close(fds.host_proc);
	sp.rep = rep[0];
	sp.sync = syncp[1];

	if (spec.ns_new[NS_USER]) {
		r = userns_write_maps(&spec, sp.pid, &step, detail, sizeof(detail));
		if (r)
			fail(&sp, r, step, detail);
	}
	for (i = 0; i < spec.n_cgroups; i++) {
		char pid[16];
		int n = snprintf(pid, sizeof(pid), "%d", sp.pid);

		if (write(cgfd[i], pid, (size_t)n) != n)
			fail(&sp, errno, "write", spec.cgroup_procs[i]);
		close(cgfd[i]);
	}
	if (spec.ns_new[NS_NET]) {
		r = net_setup(&spec, sp.pid, taps, macs, &step, detail, sizeof(detail));
		if (r)
			fail(&sp, r, step, detail);
		/* One message per tap, in the order of the spec's tap lines. */
		for (i = 0, r = 0; i < spec.n_taps; i++) {
			if (!r)
				r = ctl_sendf(sp.ctl, taps[i], "tap\t%s\t%s\n", spec.taps[i].name, macs[i]);
			close(taps[i]);
		}
		if (r)
			finish(&sp, 2);
	}
	if (ctl_sendf(sp.ctl, -1, "pid\t%d\n", sp.pid))
		finish(&sp, 2);

	wait_go(&sp);
	if (write(sp.sync, "g", 1) != 1)
		fail(&sp, errno, "write", "sync pipe");
	close(sp.sync);
	supervise(&sp);
}
