/* devcgroup.c - see devcgroup.h.
 *
 * The program reads struct bpf_cgroup_dev_ctx (access_type = access << 16 |
 * device type, major, minor) and tests the rules last to first, so that a
 * later rule overrides an earlier one as in a devices.allow/deny list; the
 * first that matches decides (1 = allow, 0 = deny), and nothing matching
 * denies. This is the shape of runc's libcontainer/cgroups/devices
 * devicefilter, for the lists OCI configs hold (a deny of everything, then
 * allows).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devcgroup.h"

#define MAX_INSNS (6 + MAX_DEVICE_RULES * 7 + 2)

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };

	return i;
}

/* devcgroup_parse_access() - "rwm" (any subset) into BPF_DEVCG_ACC_* bits.
 * Return: 0, or -1 for another letter.
 */
int devcgroup_parse_access(const char *s, unsigned int *out)
{
	*out = 0;
	for (; *s; s++) {
		if (*s == 'r')
			*out |= BPF_DEVCG_ACC_READ;
		else if (*s == 'w')
			*out |= BPF_DEVCG_ACC_WRITE;
		else if (*s == 'm')
			*out |= BPF_DEVCG_ACC_MKNOD;
		else
			return -1;
	}
	return 0;
}

/* One rule: jumps past its own block when the device does not match.
 * *@final is set for a rule that matches every device (no jump): nothing
 * after it can run, and the verifier refuses unreachable code. */
static int rule_block(struct bpf_insn *out, const struct device_rule *r, int *final)
{
	const unsigned int all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	int n = 0, i, jumps[4], nj = 0;

	if (r->type != 'a') {
		jumps[nj++] = n;
		out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
				r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	}
	if ((r->access & all) != all) {
		/* Every access asked for must be among the rule's. */
		out[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		out[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (__s32)r->access);
		jumps[nj++] = n;
		out[n++] = insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
	}
	if (r->type != 'a' && r->major >= 0) {
		jumps[nj++] = n;
		out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (__s32)r->major);
	}
	if (r->type != 'a' && r->minor >= 0) {
		jumps[nj++] = n;
		out[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (__s32)r->minor);
	}
	out[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
	out[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (i = 0; i < nj; i++)
		out[jumps[i]].off = (__s16)(n - jumps[i] - 1);
	*final = nj == 0;
	return n;
}

/* devcgroup_attach() - load the program for @rules and attach it to the
 * cgroup v2 directory @dir (BPF_F_ALLOW_MULTI: a program of the parent
 * still applies, as in a v1 hierarchy). The attachment lives as long as
 * the cgroup; the program fd is closed here.
 * Return: 0, or -errno with *@step naming the call.
 */
int devcgroup_attach(const char *dir, const struct device_rule *rules, int n, const char **step)
{
	static struct bpf_insn prog[MAX_INSNS];
	static char log[4096];
	union bpf_attr attr;
	int len = 0, i, pfd, cfd, r = 0, final;

	/* r2 = device type, r3 = access, r4 = major, r5 = minor */
	prog[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	prog[len++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	prog[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
	prog[len++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	prog[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	prog[len++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	for (i = n - 1, final = 0; i >= 0 && !final; i--)
		len += rule_block(prog + len, &rules[i], &final);
	/* Nothing matched: denied. */
	if (!final) {
		prog[len++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		prog[len++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (__u64)(unsigned long)prog;
	attr.insn_cnt = (__u32)len;
	attr.license = (__u64)(unsigned long)"Apache";
	attr.log_buf = (__u64)(unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	*step = "bpf(BPF_PROG_LOAD)";
	pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (pfd < 0)
		return -errno;
	*step = "open(cgroup v2 directory)";
	cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		r = -errno;
		close(pfd);
		return r;
	}
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (__u32)cfd;
	attr.attach_bpf_fd = (__u32)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	*step = "bpf(BPF_PROG_ATTACH)";
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		r = -errno;
	close(cfd);
	close(pfd);
	return r;
}
