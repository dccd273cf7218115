/*
 * sandbox_policy.c — the security policy of a command (sandbox.h:
 * sandbox_apply_policy, sandbox_policy_bounding, sandbox_policy_prepare),
 * docker's defaults (docs/internals/executor.md, "Security"):
 *
 *  - capabilities: docker's default set (sandbox_policy_caps) is the
 *    bounding set; the inheritable and ambient sets are emptied, so after
 *    execve root holds exactly that set and any other user none;
 *  - no_new_privs: setuid binaries and file capabilities grant nothing;
 *  - seccomp: docker's default profile (seccomp_profile.c), compiled once
 *    per process with libseccomp into a BPF program that the command's
 *    process loads with one system call (no allocation in the fork).
 *
 * `--security insecure` (RUN --security=insecure when allowed) skips all of
 * it: every capability, no filter. The same code runs as root and rootless
 * (capabilities are those of the user namespace there).
 */
#include "build/sandbox.h"
#include "build/seccomp_profile.h"
#include "util/util.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* docker's default capabilities (moby oci/caps/defaults.go) */
static const int default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
	CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

uint64_t sandbox_policy_caps(void)
{
	uint64_t m = 0;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(default_caps); i++)
		m |= 1ull << default_caps[i];
	return m;
}

int sandbox_policy_bounding(bool insecure)
{
	if (insecure)
		return 0;
	uint64_t keep = sandbox_policy_caps();
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the last capability of this kernel */
			return -1;
		}
	}
	return 0;
}

/* the compiled filter: written once (under once_lock), then only read */
static pthread_mutex_t once_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sock_filter *bpf;
static size_t bpf_len; /* instructions */

static int add(scmp_filter_ctx f, uint32_t action, const char *name, unsigned n, const struct scmp_arg_cmp *arg)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a system call of this architecture */
	int r = n ? seccomp_rule_add_array(f, action, nr, n, arg) : seccomp_rule_add(f, action, nr, 0);
	/* a name libseccomp cannot express on one of the architectures is left out there */
	return r == -EFAULT || r == -EDOM || r == -EOPNOTSUPP || r == -EINVAL ? 0 : r;
}

static int compile(struct strata_error **err)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!f)
		return strata_error_make(err, ENOMEM, "seccomp_init");
	int r = 0;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		/* as docker: 32-bit and x32 programs get the same rules */
		seccomp_arch_add(f, SCMP_ARCH_X86);
		seccomp_arch_add(f, SCMP_ARCH_X32);
	}
	for (size_t i = 0; r == 0 && i < seccomp_profile_nallow; i++)
		r = add(f, SCMP_ACT_ALLOW, seccomp_profile_allow[i], 0, NULL);
	for (size_t i = 0; r == 0 && i < seccomp_profile_nallow_x86; i++)
		r = add(f, SCMP_ACT_ALLOW, seccomp_profile_allow_x86[i], 0, NULL);
	for (size_t i = 0; r == 0 && i < seccomp_profile_npersonality; i++) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, seccomp_profile_personality[i]);
		r = add(f, SCMP_ACT_ALLOW, "personality", 1, &a);
	}
	if (r == 0) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, seccomp_profile_clone_ns_mask, 0);
		r = add(f, SCMP_ACT_ALLOW, "clone", 1, &a);
	}
	if (r == 0)
		r = add(f, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	if (r == 0) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_NE, seccomp_profile_socket_denied_family);
		r = add(f, SCMP_ACT_ALLOW, "socket", 1, &a);
	}
	int fd = r == 0 ? memfd_create("strata-seccomp", MFD_CLOEXEC) : -1;
	if (r == 0 && fd < 0)
		r = -errno;
	if (r == 0)
		r = seccomp_export_bpf(f, fd);
	seccomp_release(f);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return strata_error_make(err, -r, "compile the seccomp profile");
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter)) {
		close(fd);
		return strata_error_make(err, EINVAL, "compile the seccomp profile: %lld bytes", (long long)size);
	}
	struct sock_filter *p = xmalloc((size_t)size);
	ssize_t got = pread(fd, p, (size_t)size, 0);
	close(fd);
	if (got != size) {
		free(p);
		return strata_error_make(err, EIO, "read the seccomp program");
	}
	bpf = p;
	bpf_len = (size_t)size / sizeof(struct sock_filter);
	return 0;
}

int sandbox_policy_prepare(struct strata_error **err)
{
	pthread_mutex_lock(&once_lock);
	int r = bpf ? 0 : compile(err);
	pthread_mutex_unlock(&once_lock);
	return r;
}

int sandbox_apply_policy(const struct sandbox_policy_ctx *ctx, struct strata_error **err)
{
	if (ctx->insecure)
		return 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return strata_error_make(err, errno, "clear the ambient capabilities");
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return strata_error_make(err, errno, "capget");
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return strata_error_make(err, errno, "clear the inheritable capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return strata_error_make(err, errno, "set no_new_privs");
	if (!bpf)
		return strata_error_make(err, EINVAL, "no seccomp program (sandbox_policy_prepare was not called)");
	struct sock_fprog prog = { .len = (unsigned short)bpf_len, .filter = bpf };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return strata_error_make(err, errno, "load the seccomp filter");
	return 0;
}
