/* supervise.c - containode-spawn's supervised mode (SPAWN.md "Supervised
 * mode"): what conmon is to podman, for a detached containode container.
 *
 * The supervisor is the caller's spawner process. It runs the ordinary
 * spawner (this program, attached mode) as its child with the container's
 * stdout and stderr on two pipes, relays the start handshake between the
 * caller and that child, and then stays when the caller goes:
 *   - the output goes to DIR/log, size-bounded and rotated (logfile.c);
 *   - signals it gets (TERM INT HUP QUIT USR1 USR2) reach the init as
 *     `kill` messages;
 *   - when the init ends, the restart policy may start it again from the
 *     same spec: new namespaces except the network one, which it keeps
 *     open (so eth0 and its switch port live on) and has the new init join;
 *   - DIR/supervisor says who it is, the init's pid and start time, the
 *     state, the restart count and the last exit status;
 *   - with `switch_attach` lines it holds the container's switch ports
 *     (switchlink.c): they go when it ends and come back after a switch
 *     restart;
 *   - at the end it removes the cgroups and runs the spec's cleanup lines.
 * A file DIR/stop (containode stop and rm) means: no restart.
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "logfile.h"
#include "report.h"
#include "rmtree.h"
#include "supervise.h"
#include "switchlink.h"

enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS };

#define MAX_FINAL	64
#define MAX_CG		32
#define MAX_FDS		8
#define MAX_LINKS	16	/* switch_attach lines: containode's MAX_TAPS */
#define BACKOFF_MAX_MS	10000

/* Lines from the child spawner, with the descriptors some carry (tap, console). */
struct fdlines {
	char buf[LINE_MAX_BYTES];
	size_t len;
	int fds[MAX_FDS];
	int nfds;
};

static struct {
	char dir[2048];
	char self[4096];		/* this program's path, for the child spawner */
	enum restart_policy policy;
	unsigned long max_restarts, restarts;
	struct logfile log;
	char logpath[2100];
	int caller, child, out, err, sigfd, netns;
	pid_t child_pid, init_pid;
	unsigned long long init_start;
	int started, child_reaped, start_failed, net_new;
	int status;			/* last exit status, -1: none yet */
	char *spec, *again;		/* first start's spec; a restart's (no network lines) */
	size_t spec_len, again_len;
	char *final[MAX_FINAL];
	char final_kind[MAX_FINAL];	/* 'u' unlink, 'd' rmdir, 't' rmtree */
	int n_final;
	char *cgroups[MAX_CG];
	int n_cgroups;
	struct linebuf caller_lb;
	struct fdlines child_lb;
	struct switchlink links[MAX_LINKS];
	int n_links, links_attached;
} sv;

/* Undo the wire escapes (SPAWN.md): \\ \t \n. Return: a new string or NULL. */
static char *unescape_dup(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int append(char **buf, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *b = realloc(*buf, *len + n + 1);

	if (!b)
		return -ENOMEM;
	memcpy(b + *len, text, n + 1);
	*buf = b;
	*len += n;
	return 0;
}

/* proc(5) /proc/PID/stat field 22, the start time; 0 when gone. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* field 3 (state) follows ") "; field 22 is 19 fields later */
	p += 2;
	for (i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		v = strtoull(p, NULL, 10);
	return v;
}

/* DIR/supervisor, replaced atomically (rename(2)): readers see a whole file. */
static void write_status(const char *state)
{
	char tmp[2200], final[2200], text[512];
	int fd, n;

	n = snprintf(text, sizeof(text), "supervisor\t%d\t%llu\nstate\t%s\npid\t%d\t%llu\nrestarts\t%lu\n",
		     (int)getpid(), proc_start(getpid()), state, (int)sv.init_pid, sv.init_start, sv.restarts);
	if (sv.status >= 0 && n < (int)sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "exit\t%d\n", sv.status);
	snprintf(tmp, sizeof(tmp), "%s/supervisor.tmp", sv.dir);
	snprintf(final, sizeof(final), "%s/supervisor", sv.dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) == n)
		rename(tmp, final);
	else
		unlink(tmp);
	close(fd);
}

/* Config: DIR \t POLICY \t MAX-RESTARTS \t LOG-BYTES \t LOG-FILES. Return: 0 or -EINVAL. */
static int parse_conf(const char *conf, unsigned long *log_max, int *log_keep)
{
	char copy[2300], *f[5], *save = NULL, *tok;
	int n = 0;

	if (strlen(conf) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, conf);
	for (tok = strtok_r(copy, "\t", &save); tok && n < 5; tok = strtok_r(NULL, "\t", &save))
		f[n++] = tok;
	if (n != 5 || f[0][0] != '/' || strlen(f[0]) >= sizeof(sv.dir))
		return -EINVAL;
	strcpy(sv.dir, f[0]);
	if (!strcmp(f[1], "no"))
		sv.policy = RESTART_NO;
	else if (!strcmp(f[1], "on-failure"))
		sv.policy = RESTART_ON_FAILURE;
	else if (!strcmp(f[1], "always"))
		sv.policy = RESTART_ALWAYS;
	else
		return -EINVAL;
	sv.max_restarts = strtoul(f[2], NULL, 10);
	*log_max = strtoul(f[3], NULL, 10);
	*log_keep = atoi(f[4]);
	return 0;
}

/* The caller's spec: kept for every start, its cleanup lines kept for the end. */
static int read_spec(void)
{
	for (;;) {
		char *line, *tab, key[32];
		size_t kl;
		int r = ctl_readline(&sv.caller_lb, sv.caller, &line);

		if (r <= 0)
			return -EPIPE;
		if (!strcmp(line, "end"))
			break;
		tab = strchr(line, '\t');
		kl = tab ? (size_t)(tab - line) : strlen(line);
		snprintf(key, sizeof(key), "%.*s", (int)(kl < 31 ? kl : 31), line);
		if (!strcmp(key, "cleanup_rmdir") || !strcmp(key, "cleanup_unlink") ||
		    !strcmp(key, "orphan_rmdir") || !strcmp(key, "orphan_rmtree")) {
			if (!tab || sv.n_final >= MAX_FINAL)
				return -EINVAL;
			sv.final_kind[sv.n_final] = !strcmp(key, "cleanup_unlink") ? 'u' : !strcmp(key, "orphan_rmtree") ? 't' : 'd';
			sv.final[sv.n_final] = unescape_dup(tab + 1);
			if (!sv.final[sv.n_final++])
				return -ENOMEM;
			continue;
		}
		if (!strcmp(key, "mode") && strcmp(line, "mode\tattached"))
			return -EINVAL;
		/* Ours alone: IFNAME SOCKET REQUEST-JSON; the tap comes from the child. */
		if (!strcmp(key, "switch_attach")) {
			char *f2 = tab ? strchr(tab + 1, '\t') : NULL, *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
			char *ifname, *sock, *req;

			if (!f3 || sv.n_links >= MAX_LINKS)
				return -EINVAL;
			*f2 = *f3 = '\0';
			ifname = unescape_dup(tab + 1);
			sock = unescape_dup(f2 + 1);
			req = unescape_dup(f3 + 1);
			if (!ifname || !sock || !req || !*req || req[strlen(req) - 1] != '}')
				return -EINVAL;
			switchlink_init(&sv.links[sv.n_links++], ifname, sock, req);
			continue;
		}
		if (!strcmp(key, "cgroup_procs") && tab && sv.n_cgroups < MAX_CG) {
			char *dir = unescape_dup(tab + 1), *slash = dir ? strrchr(dir, '/') : NULL;

			if (slash) {
				*slash = '\0';
				sv.cgroups[sv.n_cgroups++] = dir;
			} else {
				free(dir);
			}
		}
		if (append(&sv.spec, &sv.spec_len, line) || append(&sv.spec, &sv.spec_len, "\n"))
			return -ENOMEM;
		/* A restart joins the kept network namespace: no new one, no second tap. */
		if (!strcmp(line, "ns\tnet\tnew")) {
			sv.net_new = 1;
			continue;
		}
		if (!strcmp(key, "tap") || !strcmp(key, "addr") || !strcmp(key, "route"))
			continue;
		if (append(&sv.again, &sv.again_len, line) || append(&sv.again, &sv.again_len, "\n"))
			return -ENOMEM;
	}
	return append(&sv.spec, &sv.spec_len, "end\n");
}

/* Start the ordinary spawner as our child, connected back on DIR/spawn.sock
 * (mode 0600: only root reaches it). Return: 0 or -errno.
 */
static int start_child(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p;
	sigset_t none;
	mode_t old;
	int s, r;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/spawn.sock", sv.dir) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	unlink(sa.sun_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	old = umask(077);
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(s, 1) < 0) {
		r = -errno;
		close(s);
		return r;
	}
	sv.child_pid = fork();
	if (sv.child_pid < 0) {
		r = -errno;
		close(s);
		return r;
	}
	if (sv.child_pid == 0) {
		char *argv[] = { "containode-spawn", sa.sun_path, NULL };

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* By its own path, so that ps(1) shows its name, not "exe". */
		execv(sv.self[0] ? sv.self : "/proc/self/exe", argv);
		_exit(127);
	}
	sv.child_reaped = 0;
	sv.started = 0;
	sv.start_failed = 0;
	sv.child_lb.len = 0;
	p.fd = s;
	p.events = POLLIN;
	r = poll(&p, 1, 10000);
	sv.child = r == 1 ? accept4(s, NULL, NULL, SOCK_CLOEXEC) : -1;
	r = sv.child < 0 ? -(errno ? errno : ETIMEDOUT) : 0;
	close(s);
	unlink(sa.sun_path);
	return r;
}

/* One recvmsg from the child; its descriptors are queued. Return: bytes, 0 at EOF, -errno. */
static long child_recv(void)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { sv.child_lb.buf + sv.child_lb.len, sizeof(sv.child_lb.buf) - sv.child_lb.len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sv.child, &mh, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);
			size_t k, count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (k = 0; k < count; k++) {
				if (sv.child_lb.nfds < MAX_FDS)
					sv.child_lb.fds[sv.child_lb.nfds++] = fds[k];
				else
					close(fds[k]);
			}
		}
	}
	sv.child_lb.len += (size_t)n;
	return n;
}

/* A tap from the child whose interface has a switch link: our own copy of it. */
static void keep_tap(const char *fields, int fd)
{
	size_t n = strcspn(fields, "\t");
	int i;

	for (i = 0; i < sv.n_links; i++) {
		if (strlen(sv.links[i].ifname) == n && !strncmp(sv.links[i].ifname, fields, n) && sv.links[i].tap < 0)
			sv.links[i].tap = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	}
}

/* The first start's attaches, before the caller hears `pid`: each reply
 * goes to the caller as `attach IFNAME JSON`, who fails the start on a
 * refusal (its abort then ends us, and the ports with our connections).
 */
static void attach_links(void)
{
	char reply[SWITCHLINK_REPLY_MAX];
	int i;

	sv.links_attached = 1;
	for (i = 0; i < sv.n_links; i++) {
		switchlink_attach(&sv.links[i], reply, sizeof(reply));
		if (sv.caller >= 0)
			ctl_sendf(sv.caller, -1, "attach\t%s\t%s\n", sv.links[i].ifname, reply);
	}
}

static void on_child_line(char *line)
{
	int fd = -1;
	char msg[LINE_MAX_BYTES + 2];

	if ((!strncmp(line, "tap\t", 4) || !strcmp(line, "console")) && sv.child_lb.nfds > 0) {
		fd = sv.child_lb.fds[0];
		memmove(sv.child_lb.fds, sv.child_lb.fds + 1, sizeof(int) * (size_t)--sv.child_lb.nfds);
	}
	if (!strncmp(line, "tap\t", 4) && fd >= 0)
		keep_tap(line + 4, fd);
	if (!strncmp(line, "pid\t", 4)) {
		char path[64];

		sv.init_pid = (pid_t)atoi(line + 4);
		sv.init_start = proc_start(sv.init_pid);
		if (sv.net_new && sv.netns < 0) {
			snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sv.init_pid);
			sv.netns = open(path, O_RDONLY | O_CLOEXEC);
		}
		write_status("starting");
		if (sv.caller >= 0 && !sv.links_attached)
			attach_links();
		/* A restart has no caller to say go. */
		if (sv.caller < 0)
			ctl_send(sv.child, "go\n", -1);
	} else if (!strcmp(line, "started")) {
		sv.started = 1;
		write_status("running");
	} else if (!strncmp(line, "exit\t", 5)) {
		sv.status = atoi(line + 5);
	} else if (!strncmp(line, "error\t", 6)) {
		int err = atoi(line + 6);

		sv.start_failed = 1;
		/* The caller's exit statuses: program not found 127, not executable 126. */
		sv.status = strstr(line, "\texec\t") ? (err == ENOENT ? 127 : 126) : 1;
	}
	if (sv.caller >= 0) {
		snprintf(msg, sizeof(msg), "%s\n", line);
		if (ctl_send(sv.caller, msg, fd)) {
			close(sv.caller);
			sv.caller = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	/* The caller's part ends at `started`: from now on the container is ours. */
	if (sv.started && sv.caller >= 0) {
		close(sv.caller);
		sv.caller = -1;
	}
}

/* Read the child's channel; at its end the child spawner is exiting. */
static void on_child(void)
{
	long n = child_recv();
	char *nl;

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		close(sv.child);
		sv.child = -1;
		return;
	}
	while ((nl = memchr(sv.child_lb.buf, '\n', sv.child_lb.len))) {
		size_t ll = (size_t)(nl - sv.child_lb.buf);

		*nl = '\0';
		on_child_line(sv.child_lb.buf);
		memmove(sv.child_lb.buf, nl + 1, sv.child_lb.len - ll - 1);
		sv.child_lb.len -= ll + 1;
	}
	if (sv.child_lb.len >= sizeof(sv.child_lb.buf) - 1)
		sv.child_lb.len = 0;	/* an overlong line: dropped */
}

/* The caller's lines go to the child; its end before `started` aborts the start. */
static void on_caller(void)
{
	char *line, msg[LINE_MAX_BYTES + 2];
	int r = ctl_readline(&sv.caller_lb, sv.caller, &line);

	if (r <= 0) {
		close(sv.caller);
		sv.caller = -1;
		if (!sv.started && sv.child >= 0) {
			/* end of file on the child's channel: it kills the init */
			close(sv.child);
			sv.child = -1;
		}
		return;
	}
	snprintf(msg, sizeof(msg), "%s\n", line);
	if (sv.child >= 0)
		ctl_send(sv.child, msg, -1);
}

static void drain_logs(void)
{
	while (sv.out >= 0 && logfile_copy(&sv.log, &sv.log.out, sv.out) > 0)
		;
	while (sv.err >= 0 && logfile_copy(&sv.log, &sv.log.err, sv.err) > 0)
		;
}

static void __attribute__((noreturn)) finish(void)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	int i, tries;

	/* The ports first: a container that ended leaves its switches at once. */
	for (i = 0; i < sv.n_links; i++)
		switchlink_close(&sv.links[i]);
	drain_logs();
	logfile_flush(&sv.log);
	write_status("exited");
	if (sv.netns >= 0)
		close(sv.netns);
	/* The cgroups stay busy until the last task finished exiting (cgroup_exit() runs late in do_exit()). */
	for (i = 0; i < sv.n_cgroups; i++)
		for (tries = 0; rmdir(sv.cgroups[i]) < 0 && errno == EBUSY && tries < 100; tries++)
			nanosleep(&tick, NULL);
	for (i = 0; i < sv.n_final; i++) {
		if (sv.final_kind[i] == 'u')
			unlink(sv.final[i]);
		else if (sv.final_kind[i] == 't')
			rmtree(sv.final[i]);
		else
			for (tries = 0; rmdir(sv.final[i]) < 0 && errno == EBUSY && tries < 100; tries++)
				nanosleep(&tick, NULL);
	}
	exit(0);
}

static int stop_requested(void)
{
	char path[2100];

	snprintf(path, sizeof(path), "%s/stop", sv.dir);
	return access(path, F_OK) == 0;
}

/* The child spawner ended: restart (Return: delay in ms) or finish. */
static long child_ended(int first)
{
	drain_logs();
	logfile_flush(&sv.log);
	if (first && !sv.started)
		finish();	/* the caller heard the error */
	if (sv.status < 0)
		sv.status = 255;
	if (stop_requested() || sv.policy == RESTART_NO ||
	    (sv.policy == RESTART_ON_FAILURE && sv.status == 0) ||
	    (sv.max_restarts && sv.restarts >= sv.max_restarts && sv.policy == RESTART_ON_FAILURE))
		finish();
	sv.restarts++;
	sv.init_pid = 0;
	sv.init_start = 0;
	write_status("restarting");
	/* Docker's backoff: 100 ms, doubling, bounded. */
	return sv.restarts > 7 ? BACKOFF_MAX_MS : (100L << (sv.restarts - 1)) > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : 100L << (sv.restarts - 1);
}

static int restart(void)
{
	char join[128];
	char *text = NULL;
	size_t len = 0;
	int r = start_child();

	if (r)
		return r;
	if (append(&text, &len, sv.again))
		return -ENOMEM;
	if (sv.netns >= 0) {
		snprintf(join, sizeof(join), "ns\tnet\tpath\t/proc/%d/fd/%d\n", (int)getpid(), sv.netns);
		if (append(&text, &len, join))
			return -ENOMEM;
	}
	r = append(&text, &len, "end\n") ? -ENOMEM : ctl_send(sv.child, text, -1);
	free(text);
	return r;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* supervise_main() - the supervised mode; @conf is SUPERVISE_ENV's value.
 * Return: only on a failure before the caller's spec was read (2, as a
 * broken control channel); otherwise the supervisor exits at the end.
 */
int supervise_main(const char *ctl_addr, const char *conf)
{
	static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	unsigned long log_max = 0;
	int log_keep = 0, pout[2], perr[2], devnull, i, first = 1;
	long long restart_at = -1;
	sigset_t mask;

	sv.caller = sv.child = sv.out = sv.err = sv.netns = -1;
	sv.status = -1;
	if (parse_conf(conf, &log_max, &log_keep)) {
		fprintf(stderr, "containode-spawn: bad %s: %s\n", SUPERVISE_ENV, conf);
		return 2;
	}
	/* The child spawner is an ordinary one. */
	unsetenv(SUPERVISE_ENV);
	if (readlink("/proc/self/exe", sv.self, sizeof(sv.self) - 1) < 0)
		sv.self[0] = '\0';
	/* Out of the caller's session: its terminal's signals are not ours. */
	setsid();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < (int)(sizeof(forwarded) / sizeof(forwarded[0])); i++)
		sigaddset(&mask, forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sv.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	write_status("starting");

	sv.caller = ctl_connect(ctl_addr);
	if (sv.caller < 0 || sv.sigfd < 0)
		return 2;
	/* stdin from /dev/null, stdout and stderr into the log: the caller's stdio is let go. */
	snprintf(sv.logpath, sizeof(sv.logpath), "%s/log", sv.dir);
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
	    logfile_open(&sv.log, sv.logpath, log_max, log_keep))
		return 2;
	dup2(devnull, 0);
	dup2(pout[1], 1);
	dup2(perr[1], 2);
	close(devnull);
	close(pout[1]);
	close(perr[1]);
	sv.out = pout[0];
	sv.err = perr[0];
	fcntl(sv.out, F_SETFL, O_NONBLOCK);
	fcntl(sv.err, F_SETFL, O_NONBLOCK);

	if (read_spec() || start_child() || ctl_send(sv.child, sv.spec, -1)) {
		ctl_sendf(sv.caller, -1, "error\t%d\tsupervise\t%s\n", EINVAL, sv.dir);
		finish();
	}
	for (;;) {
		struct pollfd p[5 + MAX_LINKS] = {
			{ .fd = sv.sigfd, .events = POLLIN }, { .fd = sv.caller, .events = POLLIN },
			{ .fd = sv.child, .events = POLLIN }, { .fd = sv.out, .events = POLLIN },
			{ .fd = sv.err, .events = POLLIN },
		};
		long long wake = restart_at, wait, now;
		struct signalfd_siginfo si;

		for (i = 0; i < sv.n_links; i++) {
			p[5 + i].fd = sv.links[i].conn;
			p[5 + i].events = POLLIN;
			if (sv.links[i].retry_at >= 0 && (wake < 0 || sv.links[i].retry_at < wake))
				wake = sv.links[i].retry_at;
		}
		wait = wake < 0 ? -1 : wake - now_ms();
		if (poll(p, (nfds_t)(5 + sv.n_links), wake < 0 ? -1 : (int)(wait < 0 ? 0 : wait)) < 0 && errno != EINTR)
			finish();
		now = now_ms();
		for (i = 0; i < sv.n_links; i++) {
			if (p[5 + i].revents && sv.links[i].conn >= 0)
				switchlink_readable(&sv.links[i], now);
			switchlink_retry(&sv.links[i], now);
		}
		if (p[3].revents)
			logfile_copy(&sv.log, &sv.log.out, sv.out);
		if (p[4].revents)
			logfile_copy(&sv.log, &sv.log.err, sv.err);
		if (p[1].revents)
			on_caller();
		if (p[2].revents && sv.child >= 0)
			on_child();
		if (p[0].revents) {
			while (read(sv.sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD) {
					if (sv.child >= 0)
						ctl_sendf(sv.child, -1, "kill\t%u\n", si.ssi_signo);
					continue;
				}
				while (sv.child_pid > 0 && waitpid(sv.child_pid, NULL, WNOHANG) == sv.child_pid) {
					sv.child_reaped = 1;
					sv.child_pid = 0;
				}
			}
		}
		/* The child spawner is gone once its channel ended and it was reaped. */
		if (sv.child < 0 && sv.child_reaped && restart_at < 0) {
			sv.child_reaped = 0;
			restart_at = now_ms() + child_ended(first);
			first = 0;
		}
		if (restart_at >= 0 && now_ms() >= restart_at) {
			restart_at = -1;
			if (stop_requested())
				finish();
			if (restart()) {
				/* could not start the spawner again: that counts as a failed start */
				if (sv.child >= 0)
					close(sv.child);
				sv.child = -1;
				sv.status = 1;
				restart_at = now_ms() + child_ended(0);
			}
		}
	}
}
