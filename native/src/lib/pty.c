/* pty.c - the one terminal ioctl Node does not offer on a bare fd: the
 * window size of a container's pty master, kept equal to the size of the
 * terminal the user drives it from.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "containet.h"

int cn_pty_set_size(int fd, int rows, int cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	if (rows <= 0 || cols <= 0 || rows > 0xffff || cols > 0xffff)
		return -EINVAL;
	return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}
