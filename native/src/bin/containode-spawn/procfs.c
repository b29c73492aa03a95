/* procfs.c - see procfs.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* procfs_write() - write @text to @path in one write(2): files such as
 * uid_map accept a single write only (user_namespaces(7)).
 * Return: 0, -EIO on a short write, or -errno.
 */
int procfs_write(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}
