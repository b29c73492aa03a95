/* caps.c - capabilities(7): the bounding set is reduced with
 * PR_CAPBSET_DROP while the init still has CAP_SETPCAP, the other sets are
 * written with capset() after the uid change (PR_SET_KEEPCAPS keeps the
 * permitted set across it), and ambient capabilities are raised last since
 * they must be both permitted and inheritable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "spec.h"

/* Numbers from linux/capability.h; kept as a table so that a spec written
 * for a newer kernel gets names it knows. */
static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
#define N_CAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

static int cap_number(const char *name)
{
	char *end;
	long v;
	int i;

	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (i = 0; i < N_CAP_NAMES; i++)
		if (!strcasecmp(name, cap_names[i]))
			return i;
	errno = 0;
	v = strtol(name, &end, 10);
	if (!*name || *end || errno || v < 0 || v > 63)
		return -1;
	return (int)v;
}

/* caps_parse() - comma list of names (CAP_X or X) or numbers into @mask.
 * Return: 0, or -1 on an unknown name.
 */
int caps_parse(const char *list, uint64_t *mask)
{
	char buf[64];
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		int c;

		if (n == 0 || n >= sizeof(buf))
			return -1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		c = cap_number(buf);
		if (c < 0)
			return -1;
		*mask |= 1ULL << c;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* caps_last_cap() - /proc/sys/kernel/cap_last_cap; read before pivot_root.
 * Return: the highest capability number the kernel knows (>= 0).
 */
int caps_last_cap(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return CAP_LAST_CAP;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return CAP_LAST_CAP;
	return atoi(buf);
}

/* caps_drop_bounding() - drop every capability not in @keep from the
 * bounding set (needs CAP_SETPCAP, so before the uid change).
 * Return: 0 or -errno.
 */
int caps_drop_bounding(uint64_t keep, int last_cap)
{
	int c;

	for (c = 0; c <= last_cap && c < 64; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

/* caps_apply() - effective, permitted and inheritable sets with capset(2)
 * (version 3: two 32-bit words per set), then the ambient set.
 * Return: 0 or -errno, with the failing call in *@step.
 */
int caps_apply(const uint64_t *sets, int last_cap, const char **step)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int i, c;

	for (i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(sets[CAPS_EFFECTIVE] >> (32 * i));
		data[i].permitted = (uint32_t)(sets[CAPS_PERMITTED] >> (32 * i));
		data[i].inheritable = (uint32_t)(sets[CAPS_INHERITABLE] >> (32 * i));
	}
	*step = "capset";
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	*step = "prctl(PR_CAP_AMBIENT)";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	for (c = 0; c <= last_cap && c < 64; c++) {
		if (!(sets[CAPS_AMBIENT] & (1ULL << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return -errno;
	}
	return 0;
}
