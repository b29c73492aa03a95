/* seccomp.c - see seccomp.h. The filter is compiled by libseccomp into
 * classic BPF in the spawner and installed by the init with seccomp(2),
 * the way runc's libcontainer/seccomp orders it: rules whose action is the
 * default are dropped (libseccomp refuses them), names libseccomp does not
 * know on this architecture are skipped (a newer profile on an older
 * library), and conditions that test one argument twice become one rule
 * each (libseccomp cannot AND two tests of the same argument, so runc and
 * Docker's profiles rely on this OR).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfcache.h"
#include "seccomp.h"

static const struct { const char *name; uint32_t action; int takes_errno; } actions[] = {
	{ "kill", SCMP_ACT_KILL_THREAD, 0 },
	{ "kill_thread", SCMP_ACT_KILL_THREAD, 0 },
	{ "kill_process", SCMP_ACT_KILL_PROCESS, 0 },
	{ "trap", SCMP_ACT_TRAP, 0 },
	{ "errno", SCMP_ACT_ERRNO(0), 1 },
	{ "trace", SCMP_ACT_TRACE(0), 1 },
	{ "allow", SCMP_ACT_ALLOW, 0 },
	{ "log", SCMP_ACT_LOG, 0 },
	/* No `notify`: there is no listener to hand the notification fd to. */
};

static const struct { const char *name; int op; } ops[] = {
	{ "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT }, { "le", SCMP_CMP_LE },
	{ "eq", SCMP_CMP_EQ }, { "ge", SCMP_CMP_GE }, { "gt", SCMP_CMP_GT },
	{ "masked_eq", SCMP_CMP_MASKED_EQ },
};

/* seccomp(2) flags by their OCI names (config-linux.md, "flags"). */
static const struct { const char *name; unsigned int flag; } flags[] = {
	{ "tsync", SECCOMP_FILTER_FLAG_TSYNC },
	{ "log", SECCOMP_FILTER_FLAG_LOG },
	{ "spec_allow", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* ACTION and its ERRNO field ("-" or absent: EPERM, as OCI's errnoRet
 * default). Return: 0, or -1 for an unknown action or a bad number. */
static int parse_action(const char *name, const char *errno_field, uint32_t *out)
{
	uint64_t v = EPERM;
	size_t i;

	for (i = 0; i < N(actions); i++)
		if (!strcmp(name, actions[i].name))
			break;
	if (i == N(actions))
		return -1;
	if (errno_field && strcmp(errno_field, "-")) {
		/* The kernel keeps 16 bits of data (SECCOMP_RET_DATA); an
		 * errno above MAX_ERRNO (4095) would not read as an error. */
		if (parse_u64(errno_field, &v) || v > (actions[i].action == SCMP_ACT_ERRNO(0) ? 4095 : 0xffff))
			return -1;
	}
	*out = actions[i].takes_errno ? (actions[i].action | (uint32_t)v) : actions[i].action;
	return 0;
}

/* "INDEX:OP:VALUE[:VALUE2]". Return: 0 or -1. */
static int parse_cond(char *text, struct seccomp_cond *c)
{
	char *parts[4], *p = text;
	uint64_t idx;
	int n = 0;
	size_t i;

	while (n < 4) {
		parts[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p || n < 3 || parse_u64(parts[0], &idx) || idx >= SECCOMP_MAX_ARGS)
		return -1;
	for (i = 0; i < N(ops); i++)
		if (!strcmp(parts[1], ops[i].name))
			break;
	if (i == N(ops) || parse_u64(parts[2], &c->value))
		return -1;
	c->value_two = 0;
	if (n == 4 && parse_u64(parts[3], &c->value_two))
		return -1;
	c->index = (unsigned int)idx;
	c->op = ops[i].op;
	return 0;
}

static int add_rule(struct seccomp_spec *sc, char **f, int n)
{
	struct seccomp_rule *r;
	int i;

	if (n < 4 || !*f[3] || n - 4 > SECCOMP_MAX_ARGS || sc->n_rules >= SECCOMP_MAX_RULES)
		return -1;
	if (sc->n_rules == sc->cap_rules) {
		int cap = sc->cap_rules ? sc->cap_rules * 2 : 512;
		void *more = realloc(sc->rules, sizeof(*sc->rules) * (size_t)cap);

		if (!more)
			return -1;
		sc->rules = more;
		sc->cap_rules = cap;
	}
	r = &sc->rules[sc->n_rules];
	if (parse_action(f[1], f[2], &r->action))
		return -1;
	r->name = f[3];
	r->n_conds = n - 4;
	for (i = 0; i < r->n_conds; i++)
		if (parse_cond(f[4 + i], &r->conds[i]))
			return -1;
	sc->n_rules++;
	return 0;
}

/* Append a line to the text the compiled program depends on, before its
 * fields are taken apart. Return: 0 or -1 (out of memory). */
static int keep_text(struct seccomp_spec *sc, char **f, int n)
{
	size_t need = 0;
	int i;

	for (i = 0; i < n; i++)
		need += strlen(f[i]) + 1;
	if (sc->text_len + need + 1 > sc->text_cap) {
		size_t cap = (sc->text_cap ? sc->text_cap * 2 : 16384) + need;
		char *more = realloc(sc->text, cap);

		if (!more)
			return -1;
		sc->text = more;
		sc->text_cap = cap;
	}
	for (i = 0; i < n; i++) {
		size_t l = strlen(f[i]);

		memcpy(sc->text + sc->text_len, f[i], l);
		sc->text_len += l;
		sc->text[sc->text_len++] = i + 1 < n ? '\t' : '\n';
	}
	sc->text[sc->text_len] = '\0';
	return 0;
}

/* seccomp_spec_line() - one `seccomp_*` spec line, fields split.
 * Return: 0, or -1 when the line is malformed or names something unknown.
 */
int seccomp_spec_line(struct seccomp_spec *sc, char **f, int n)
{
	const char *k = f[0] + strlen("seccomp_");
	size_t i;

	if (!strcmp(k, "cache")) {
		if (n != 2 || f[1][0] != '/' || sc->cache_dir)
			return -1;
		sc->cache_dir = f[1];
		return 0;
	}
	/* Whether unknown names are reported does not change the program. */
	if (strcmp(k, "unknown") && keep_text(sc, f, n))
		return -1;

	if (!strcmp(k, "default")) {
		if ((n != 2 && n != 3) || sc->enabled)
			return -1;
		if (parse_action(f[1], n == 3 ? f[2] : NULL, &sc->default_action))
			return -1;
		sc->enabled = 1;
		return 0;
	}
	if (!strcmp(k, "arch")) {
		uint32_t token;

		if (n != 2 || sc->n_arches >= SECCOMP_MAX_ARCHES)
			return -1;
		token = seccomp_arch_resolve_name(f[1]);
		if (!token)
			return -1;
		sc->arches[sc->n_arches++] = token;
		return 0;
	}
	if (!strcmp(k, "flag")) {
		if (n != 2)
			return -1;
		for (i = 0; i < N(flags); i++) {
			if (!strcmp(f[1], flags[i].name)) {
				sc->flags |= flags[i].flag;
				return 0;
			}
		}
		return -1;
	}
	if (!strcmp(k, "unknown")) {
		if (n != 2)
			return -1;
		if (!strcmp(f[1], "quiet"))
			sc->quiet_unknown = 1;
		else if (strcmp(f[1], "warn"))
			return -1;
		return 0;
	}
	if (!strcmp(k, "rule"))
		return add_rule(sc, f, n);
	return -1;
}

/* seccomp_spec_check() - cross-line rules.
 * Return: NULL, or why the seccomp lines do not make a filter.
 */
const char *seccomp_spec_check(const struct seccomp_spec *sc)
{
	if (!sc->enabled && (sc->n_rules || sc->n_arches || sc->flags || sc->quiet_unknown || sc->cache_dir))
		return "seccomp_rule, seccomp_arch, seccomp_flag, seccomp_unknown and seccomp_cache need a seccomp_default line";
	return NULL;
}

/* Add @name to the comma-separated @list once (profiles repeat names). */
static void note_unknown(char *list, size_t cap, const char *name)
{
	size_t len = strlen(list), n = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)); p += n)
		if ((p == list || (p - list >= 2 && p[-2] == ',' && p[-1] == ' ')) &&
		    (p[n] == ',' || !p[n]))
			return;
	if (len + n + 6 >= cap) {
		if (len + 4 < cap && (len < 3 || strcmp(list + len - 3, "...")))
			strcpy(list + len, len ? ", ..." : "...");
		return;
	}
	snprintf(list + len, cap - len, "%s%s", len ? ", " : "", name);
}

/* One rule; tests of the same argument twice are OR'ed as runc does. */
static int rule_add(scmp_filter_ctx ctx, const struct seccomp_rule *r, int nr)
{
	struct scmp_arg_cmp cmp[SECCOMP_MAX_ARGS];
	unsigned int seen = 0;
	int i, twice = 0, rc;

	for (i = 0; i < r->n_conds; i++) {
		cmp[i].arg = r->conds[i].index;
		cmp[i].op = (enum scmp_compare)r->conds[i].op;
		cmp[i].datum_a = r->conds[i].value;
		cmp[i].datum_b = r->conds[i].value_two;
		if (seen & (1U << r->conds[i].index))
			twice = 1;
		seen |= 1U << r->conds[i].index;
	}
	if (!twice)
		return seccomp_rule_add_array(ctx, r->action, nr, (unsigned int)r->n_conds, cmp);
	for (i = 0; i < r->n_conds; i++) {
		rc = seccomp_rule_add_array(ctx, r->action, nr, 1, &cmp[i]);
		if (rc)
			return rc;
	}
	return 0;
}

#define X32_SYSCALL_BIT	0x40000000U	/* asm/unistd.h __X32_SYSCALL_BIT */

/* Symbolic jump targets while a stub is laid out. */
enum { TO_NEXT = -1, TO_ENOSYS = -2, TO_FILTER = -3 };

struct stub {
	struct sock_filter ins[64];
	int jt[64], jf[64];	/* absolute index, or TO_* */
	int n;
};

static void emit(struct stub *st, unsigned short code, uint32_t k, int jt, int jf)
{
	st->ins[st->n] = (struct sock_filter){ .code = code, .k = k };
	st->jt[st->n] = jt;
	st->jf[st->n] = jf;
	st->n++;
}

/* The highest number among the rules' names on @arch (libseccomp token),
 * 0 when none resolves there. */
static uint32_t last_syscall(const struct seccomp_spec *sc, uint32_t arch)
{
	uint32_t max = 0;
	int i;

	for (i = 0; i < sc->n_rules; i++) {
		int nr = seccomp_syscall_resolve_name_arch(arch, sc->rules[i].name);

		if (nr >= 0 && (uint32_t)nr > max)
			max = (uint32_t)nr;
	}
	return max;
}

/* Prepend what runc's patchbpf adds (libcontainer/seccomp/patchbpf): a
 * call numbered above every call the profile names is one newer than the
 * profile, and gets ENOSYS instead of the default action, so a program's
 * fallback for a kernel without it runs (glibc tries clone3, then clone).
 * Only when the default refuses: an allowing default lets them through.
 * Return: 0, or -ENOMEM (the program is then unchanged).
 */
static int enosys_stub(const struct seccomp_spec *sc, struct seccomp_prog *prog)
{
	uint32_t def = sc->default_action & SECCOMP_RET_ACTION_FULL;
	uint32_t arches[SECCOMP_MAX_ARCHES + 1], m64 = 0, m32 = 0;
	struct stub st = { .n = 0 };
	struct sock_filter *out;
	int n_arches = 0, i, j, section;

	if (def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG || def == (SCMP_ACT_TRACE(0) & SECCOMP_RET_ACTION_FULL))
		return 0;
	arches[n_arches++] = seccomp_arch_native();
	for (i = 0; i < sc->n_arches; i++) {
		for (j = 0; j < n_arches && arches[j] != sc->arches[i]; j++)
			;
		if (j == n_arches)
			arches[n_arches++] = sc->arches[i];
	}
	/* x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry a bit. */
	for (i = 0; i < n_arches; i++) {
		if (arches[i] == SCMP_ARCH_X86_64)
			m64 = last_syscall(sc, arches[i]);
		else if (arches[i] == SCMP_ARCH_X32)
			m32 = last_syscall(sc, arches[i]);
	}
	emit(&st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	if (m64 || m32) {
		section = st.n;
		emit(&st, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, section + 1, TO_NEXT);
		emit(&st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
		/* Bit set: an x32 call, checked against x32's last, else left
		 * to the filter; clear: the same for x86_64. */
		emit(&st, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, m32 ? section + 4 : TO_FILTER,
		     m64 ? section + 3 : TO_FILTER);
		emit(&st, BPF_JMP | BPF_JGT | BPF_K, m64, TO_ENOSYS, TO_FILTER);
		emit(&st, BPF_JMP | BPF_JGT | BPF_K, m32, TO_ENOSYS, TO_FILTER);
		/* Every path of a match ends in ENOSYS or the filter; a
		 * mismatch goes on with the arch still loaded. */
		for (i = section; i < st.n; i++)
			if (st.jf[i] == TO_NEXT)
				st.jf[i] = st.n;
	}
	for (i = 0; i < n_arches; i++) {
		uint32_t max;

		if (arches[i] == SCMP_ARCH_X86_64 || arches[i] == SCMP_ARCH_X32)
			continue;
		max = last_syscall(sc, arches[i]);
		if (!max || st.n > 56)
			continue;
		section = st.n;
		emit(&st, BPF_JMP | BPF_JEQ | BPF_K, arches[i], section + 1, section + 3 +
		     (arches[i] == SCMP_ARCH_S390 || arches[i] == SCMP_ARCH_S390X));
		emit(&st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
		/* s390: call 0 multiplexes calls the kernel does not know. */
		if (arches[i] == SCMP_ARCH_S390 || arches[i] == SCMP_ARCH_S390X)
			emit(&st, BPF_JMP | BPF_JEQ | BPF_K, 0, TO_ENOSYS, st.n + 1);
		emit(&st, BPF_JMP | BPF_JGT | BPF_K, max, TO_ENOSYS, TO_FILTER);
	}
	emit(&st, BPF_JMP | BPF_JA, 0, 0, 0);	/* no match: the filter */
	st.jt[st.n - 1] = TO_FILTER;
	emit(&st, BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS), 0, 0);
	if (st.n == 3)
		return 0;	/* no architecture had a named call */
	for (i = 0; i < st.n; i++) {
		int t[2] = { st.jt[i], st.jf[i] }, k;

		if (BPF_CLASS(st.ins[i].code) != BPF_JMP)
			continue;
		for (k = 0; k < 2; k++)
			t[k] = t[k] == TO_ENOSYS ? st.n - 1 : t[k] == TO_FILTER ? st.n : t[k];
		if (BPF_OP(st.ins[i].code) == BPF_JA) {
			st.ins[i].k = (uint32_t)(t[0] - i - 1);
			continue;
		}
		st.ins[i].jt = (unsigned char)(t[0] - i - 1);
		st.ins[i].jf = (unsigned char)(t[1] - i - 1);
	}
	if (prog->len + st.n > BPF_MAXINSNS)
		return 0;
	out = malloc(sizeof(*out) * ((size_t)prog->len + (size_t)st.n));
	if (!out)
		return -ENOMEM;
	memcpy(out, st.ins, sizeof(*out) * (size_t)st.n);
	memcpy(out + st.n, prog->filter, sizeof(*out) * prog->len);
	free(prog->filter);
	prog->filter = out;
	prog->len = (unsigned short)(prog->len + st.n);
	return 0;
}

/* Classic BPF as libseccomp generates it, read back from a memfd. */
static int export_bpf(scmp_filter_ctx ctx, struct seccomp_prog *prog)
{
	int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC), rc;
	off_t size;
	void *buf;

	if (fd < 0)
		return -errno;
	rc = seccomp_export_bpf(ctx, fd);
	if (rc)
		goto out;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rc = size < 0 ? -errno : -E2BIG;
		goto out;
	}
	buf = malloc((size_t)size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (pread(fd, buf, (size_t)size, 0) != size) {
		free(buf);
		rc = -EIO;
		goto out;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
out:
	close(fd);
	return rc;
}

/* What else the program depends on: the library that compiled it (a newer
 * one knows more names) and the native architecture. Return: 0 or -1. */
static int cache_key(struct seccomp_spec *sc)
{
	const struct scmp_version *v = seccomp_version();
	char line[96], *f[1] = { line };

	/* "enosys 1": the program also carries enosys_stub() as it is now. */
	snprintf(line, sizeof(line), "libseccomp %u.%u.%u arch %u enosys 1",
		 v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, seccomp_arch_native());
	return keep_text(sc, f, 1);
}

/* seccomp_build() - compile @sc into @sc->prog, or take the program
 * compiled earlier from the same lines out of the cache (bpfcache.h). System calls libseccomp does
 * not know are skipped and listed in @unknown (", "-separated, empty when
 * none). On failure *@step names the call and *@detail its subject.
 * Return: 0 or -errno.
 */
int seccomp_build(struct seccomp_spec *sc, char *unknown, size_t unknown_cap,
		  const char **step, const char **detail)
{
	scmp_filter_ctx ctx;
	int i, rc = 0;

	unknown[0] = '\0';
	*detail = "";
	if (sc->cache_dir && cache_key(sc) == 0 &&
	    bpfcache_load(sc->cache_dir, sc->text, sc->text_len, &sc->prog, unknown, unknown_cap))
		return 0;
	*step = "seccomp_init";
	ctx = seccomp_init(sc->default_action);
	if (!ctx)
		return -EINVAL;
	/* The init sets no_new_privs itself when the spec asks for it. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree by syscall number instead of a linear list: fewer
	 * comparisons per call on long allow-lists. runc enables it above 32
	 * rules only: libseccomp <= 2.5.4 misbehaves with it and no rules. */
	if (!rc && sc->n_rules > 32)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; !rc && i < sc->n_arches; i++) {
		*step = "seccomp_arch_add";
		rc = seccomp_arch_add(ctx, sc->arches[i]);
		if (rc == -EEXIST)
			rc = 0;
	}
	for (i = 0; !rc && i < sc->n_rules; i++) {
		const struct seccomp_rule *r = &sc->rules[i];
		int nr;

		if (r->action == sc->default_action)
			continue;
		nr = seccomp_syscall_resolve_name(r->name);
		if (nr == __NR_SCMP_ERROR) {
			note_unknown(unknown, unknown_cap, r->name);
			continue;
		}
		*step = "seccomp_rule_add";
		*detail = r->name;
		rc = rule_add(ctx, r, nr);
	}
	if (!rc) {
		*step = "seccomp_export_bpf";
		*detail = "";
		rc = export_bpf(ctx, &sc->prog);
		if (!rc)
			rc = enosys_stub(sc, &sc->prog);
	}
	seccomp_release(ctx);
	if (!rc && sc->cache_dir && sc->text)
		bpfcache_store(sc->cache_dir, sc->text, sc->text_len, &sc->prog, unknown);
	return rc;
}

/* seccomp_install() - load @sc->prog for this process (the init, just before
 * execve). Without no_new_privs the kernel wants CAP_SYS_ADMIN in the
 * caller's user namespace (seccomp(2)), so the caller orders this before
 * capabilities are dropped in that case.
 * Return: 0 or -errno.
 */
int seccomp_install(const struct seccomp_spec *sc)
{
	struct sock_fprog fp = { .len = sc->prog.len, .filter = sc->prog.filter };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sc->flags, &fp) < 0)
		return -errno;
	return 0;
}
