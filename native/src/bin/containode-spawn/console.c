/* console.c - a pty from the container's own devpts (pts(4)): the slave
 * becomes the init's controlling terminal and stdio, the master goes to
 * whoever drives the terminal (OCI --console-socket, or the caller).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "report.h"
#include "spec.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* console_socket_connect() - connect to the OCI console socket (done by the
 * spawner before any namespace change, since the path is the caller's).
 * Return: socket fd or -errno.
 */
int console_socket_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static int fail(int rep, int err, const char *step, const char *detail)
{
	report_fail(rep, err, step, detail);
	return -1;
}

/* console_setup() - in the init, after pivot_root.
 * Return: 0, or -1 after reporting.
 */
int console_setup(const struct spec *s, int rep, int console_sock)
{
	char slave_path[64];
	struct stat st;
	int master, slave, n, unlock = 0, r;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(rep, errno, "open", "/dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
		return fail(rep, errno, "ioctl(ptmx)", "/dev/ptmx");
	snprintf(slave_path, sizeof(slave_path), "/dev/pts/%d", n);
	/* TIOCGPTPEER opens the slave of this very master, whatever devpts
	 * /dev/pts is (Linux 4.13); the path is only for /dev/console. */
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		slave = open(slave_path, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return fail(rep, errno, "open", slave_path);
	if (stat("/dev/console", &st) == 0 && S_ISREG(st.st_mode) &&
	    mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return fail(rep, errno, "mount(bind console)", slave_path);
	/* Sized before the program can ask (the caller keeps it in step
	 * with its own terminal from then on). */
	if (s->console_rows) {
		struct winsize ws = { .ws_row = s->console_rows, .ws_col = s->console_cols };

		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return fail(rep, errno, "ioctl(TIOCSWINSZ)", slave_path);
	}
	if (setsid() < 0)
		return fail(rep, errno, "setsid", "");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return fail(rep, errno, "ioctl(TIOCSCTTY)", slave_path);
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		return fail(rep, errno, "dup2", slave_path);
	if (slave > 2)
		close(slave);
	if (console_sock >= 0) {
		r = report_send(console_sock, "console", master);
		close(console_sock);
		if (r)
			return fail(rep, -r, "sendmsg(console socket)", s->console_socket);
	} else {
		r = report_send(rep, "console", master);
		if (r)
			return fail(rep, -r, "sendmsg(console)", "");
	}
	close(master);
	return 0;
}
