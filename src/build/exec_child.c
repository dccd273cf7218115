/*
 * exec_child.c — the processes of a run, below the caller:
 *
 *   caller ── fork ──► helper: unshare(NEWNS|NEWPID|NEWUTS|NEWIPC[|NEWNET])
 *                        └─ fork ──► init (PID 1): mounts, pivot_root, user
 *                                     └─ fork ──► command: setuid, exec
 *
 * fork (not a raw clone) keeps glibc's malloc usable in the children of a
 * multi-threaded caller. Helper and init die with their parent
 * (PR_SET_PDEATHSIG); when init dies the kernel kills everything in the PID
 * namespace, and when the last process of the mount namespace is gone every
 * mount made here is gone too.
 *
 * Both report to the caller on ctx->status_w: "E <message>" when something
 * fails before the command runs, "S <wait status>" when the command ended.
 */
#include "build/exec_internal.h"
#include "build/sandbox.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* one status record: "<prefix><message>\n" (no allocation: we may be a fork of a threaded process) */
static void report_v(struct exec_ctx *ctx, const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];
	size_t len = strlen(prefix);
	memcpy(msg, prefix, len);
	int n = vsnprintf(msg + len, sizeof(msg) - len - 1, fmt, ap);
	size_t start = len;
	len = n < 0 ? len : strlen(msg);
	for (size_t i = start; i < len; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	msg[len++] = '\n';
	strata_write_full(ctx->status_w, msg, len, "status pipe", NULL);
}

void exec_child_report(struct exec_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(ctx, "E ", fmt, ap);
	va_end(ap);
}

/* the command itself could not be executed: "N <status> <message>" */
__attribute__((format(printf, 3, 4))) static void report_not_started(struct exec_ctx *ctx, int status,
								      const char *fmt, ...)
{
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "N %d ", status);
	va_list ap;
	va_start(ap, fmt);
	report_v(ctx, prefix, fmt, ap);
	va_end(ap);
}

static void report_error(struct exec_ctx *ctx, struct strata_error *e)
{
	char *s = strata_error_string(e);
	exec_child_report(ctx, "%s", s);
	free(s);
	strata_error_free(e);
}

/* Die with the parent; and if it is already gone, die now. */
static void tie_to_parent(int alive_r)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct pollfd p = { .fd = alive_r, .events = POLLIN };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		_exit(1);
}

int exec_overlay_mount(struct exec_ctx *ctx, struct strata_error **err)
{
	const struct exec_spec *spec = ctx->spec;
	const char *empty[] = { ctx->empty };
	if (spec->n_lowerdirs)
		return sandbox_overlay_mount(spec->lowerdirs, spec->n_lowerdirs, spec->upper_dir, spec->work_dir,
					     ctx->rootfs, err);
	return sandbox_overlay_mount(empty, 1, spec->upper_dir, spec->work_dir, ctx->rootfs, err);
}

/*
 * /dev, part 1: a tmpfs with docker's default set of names. The device nodes
 * are files here, bound to the host's nodes in part 2 (setup_dev_nodes),
 * after the whole tree was made nodev: no device node of an image, nor one
 * the command makes with CAP_MKNOD, can be opened; only the binds can. The
 * same in rootless mode, where nodes cannot be made at all.
 */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static int setup_dev(struct exec_ctx *ctx, int rootfd, int upperfd, struct strata_error **err)
{
	char fdp[32];
	cleanup_close int dfd = exec_path_ensure(rootfd, upperfd, ctx->state_fd, "/dev", EXEC_TARGET_DIR, err);
	if (dfd < 0)
		return -1;
	if (mount("tmpfs", exec_fd_path(fdp, dfd), "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME,
		  "mode=755,size=65536k") < 0)
		return strata_error_make(err, errno, "mount tmpfs on /dev");
	cleanup_close int dev = openat(rootfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dev < 0)
		return strata_error_make(err, errno, "open /dev");
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dev_nodes); i++) {
		int f = openat(dev, dev_nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (f < 0)
			return strata_error_make(err, errno, "create /dev/%s", dev_nodes[i]);
		close(f);
	}
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			return strata_error_make(err, errno, "symlink /dev/%s", links[i][1]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 || mkdirat(dev, "mqueue", 0755) < 0)
		return strata_error_make(err, errno, "mkdir in /dev");
	cleanup_close int shm = openat(dev, "shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char shmopt[64];
	snprintf(shmopt, sizeof(shmopt), "mode=1777,size=%llu",
		 (unsigned long long)(ctx->spec->shm_size ? ctx->spec->shm_size : 64ull << 20));
	if (shm < 0 || mount("shm", exec_fd_path(fdp, shm), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shmopt) < 0)
		return strata_error_make(err, errno, "mount tmpfs on /dev/shm");
	cleanup_close int mq = openat(dev, "mqueue", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mq < 0 || mount("mqueue", exec_fd_path(fdp, mq), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return strata_error_make(err, errno, "mount mqueue on /dev/mqueue");
	return 0;
}

/*
 * Everything mounted so far under the rootfs, the rootfs overlay (so the
 * snapshots below it) included, becomes nodev; then /dev, part 2: the
 * host's null, zero, full, random, urandom and tty bound onto their names
 * (binds keep the flags of the host's /dev), and a new devpts instance.
 */
static int seal_devices(int rootfd, struct strata_error **err)
{
	char fdp[32];
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NODEV };
	if (mount_setattr(rootfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return strata_error_make(err, errno, "make the rootfs nodev");
	cleanup_close int dev = openat(rootfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dev < 0)
		return strata_error_make(err, errno, "open /dev");
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dev_nodes); i++) {
		char host[32];
		snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
		cleanup_close int t = openat(dev, dev_nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (t < 0)
			return strata_error_make(err, errno, "open /dev/%s", dev_nodes[i]);
		if (exec_bind(host, t, false, err) < 0)
			return -1;
	}
	cleanup_close int pts = openat(dev, "pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* gid 5 (tty) exists only where the map has it */
	bool tty_gid = !sandbox_rootless() || sandbox_get()->subgids >= 5;
	if (pts < 0 || mount("devpts", exec_fd_path(fdp, pts), "devpts", MS_NOSUID | MS_NOEXEC,
			     tty_gid ? "newinstance,ptmxmode=0666,mode=0620,gid=5" : "newinstance,ptmxmode=0666,mode=0620") < 0)
		return strata_error_make(err, errno, "mount devpts on /dev/pts");
	return 0;
}

/* Bind dirfd/name onto itself read-only. A missing name is fine. */
static int ro_self(int dirfd, const char *name, struct strata_error **err)
{
	cleanup_close int tfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '/proc/%s'", name);
	cleanup_close int t = open_tree(dirfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	if (t < 0 || mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0 ||
	    move_mount(t, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return strata_error_make(err, errno, "make '/proc/%s' read-only", name);
	return 0;
}

/* Docker's masked and read-only paths of /proc (and /sys/firmware). */
static int protect_proc(int rootfd, bool have_sys, struct strata_error **err)
{
	static const char *const masked_files[] = { "kcore", "keys", "timer_list", "sched_debug", "latency_stats" };
	static const char *const masked_dirs[] = { "acpi", "scsi" };
	static const char *const readonly[] = { "bus", "fs", "irq", "sys", "sysrq-trigger" };
	char fdp[32];
	cleanup_close int proc = openat(rootfd, "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (proc < 0)
		return strata_error_make(err, errno, "open /proc");
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(masked_files); i++) {
		cleanup_close int fd = openat(proc, masked_files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && exec_bind("/dev/null", fd, true, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(masked_dirs); i++) {
		cleanup_close int fd = openat(proc, masked_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && mount("tmpfs", exec_fd_path(fdp, fd), "tmpfs", MS_RDONLY, "size=0") < 0)
			return strata_error_make(err, errno, "mask '/proc/%s'", masked_dirs[i]);
	}
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(readonly); i++)
		if (ro_self(proc, readonly[i], err) < 0)
			return -1;
	if (have_sys) {
		cleanup_close int fd = openat(rootfd, "sys/firmware", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && mount("tmpfs", exec_fd_path(fdp, fd), "tmpfs", MS_RDONLY, "size=0") < 0)
			return strata_error_make(err, errno, "mask '/sys/firmware'");
	}
	return 0;
}

/* Generate a file in the stage tmpfs and bind it read-only at path. */
static int provide_file(struct exec_ctx *ctx, int rootfd, int upperfd, const char *path, const char *name,
			const char *content, struct strata_error **err)
{
	cleanup_free char *f = xasprintf("%s/%s", ctx->stage, name);
	cleanup_close int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", f);
	if (strata_write_full(fd, content, strlen(content), f, err) < 0)
		return -1;
	cleanup_close int tfd = exec_path_ensure(rootfd, upperfd, ctx->state_fd, path, EXEC_TARGET_FILE, err);
	if (tfd < 0)
		return -1;
	return exec_bind(f, tfd, true, err);
}

static int setup_etc(struct exec_ctx *ctx, int rootfd, int upperfd, const char *hostname, struct strata_error **err)
{
	cleanup_free char *hosts = xasprintf("127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n%s",
					     hostname, ctx->spec->extra_hosts ? ctx->spec->extra_hosts : "");
	cleanup_buf struct strata_buf resolv = STRATA_BUF_INIT;
	if (strata_read_file("/etc/resolv.conf", &resolv, 1 << 16, NULL) < 0)
		strata_buf_reset(&resolv);
	cleanup_free char *hn = xasprintf("%s\n", hostname);
	if (provide_file(ctx, rootfd, upperfd, "/etc/hosts", "hosts", hosts, err) < 0 ||
	    provide_file(ctx, rootfd, upperfd, "/etc/resolv.conf", "resolv.conf", resolv.data, err) < 0 ||
	    provide_file(ctx, rootfd, upperfd, "/etc/hostname", "hostname", hn, err) < 0)
		return -1;
	return 0;
}

static int loopback_up(struct strata_error **err)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return strata_error_make(err, errno, "socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return strata_error_make(err, errno, "get flags of 'lo'");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return strata_error_make(err, errno, "bring up 'lo'");
	return 0;
}

/* mkdir -p path inside the (already pivoted) root; created parts owned by the user, as BuildKit does. */
static int make_workdir(const char *path, const struct exec_user *u, struct strata_error **err)
{
	cleanup_free char *p = xstrdup(path);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) == 0) {
			if (chown(p, u->uid, u->gid) < 0)
				return strata_error_make(err, errno, "chown '%s'", p);
		} else if (errno != EEXIST) {
			return strata_error_make(err, errno, "create working directory '%s'", p);
		}
		p[i] = c;
	}
	return 0;
}

static int read_optional(const char *path, char **out, struct strata_error **err)
{
	strata_error_ensure(err);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	*out = NULL;
	if (strata_read_file(path, &b, 16u << 20, err) < 0) {
		if (strata_error_errnum(*err) == ENOENT) {
			strata_error_clear(err);
			return 0;
		}
		return -1;
	}
	*out = strata_buf_detach(&b, NULL);
	return 0;
}

/* Everything from the private mount namespace to the pivoted root, as root. */
static int setup(struct exec_ctx *ctx, struct exec_user *user, struct strata_error **err)
{
	const struct exec_spec *spec = ctx->spec;
	const char *hostname = spec->hostname && *spec->hostname ? spec->hostname : "strata";
	char fdp[32];

	umask(0);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return strata_error_make(err, errno, "make mounts private");
	if (mount("tmpfs", ctx->stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m") < 0)
		return strata_error_make(err, errno, "mount tmpfs on '%s'", ctx->stage);
	if (exec_overlay_mount(ctx, err) < 0)
		return -1;
	cleanup_close int rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int upperfd = open(spec->upper_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || upperfd < 0)
		return strata_error_make(err, errno, "open rootfs");

	cleanup_close int procfd = exec_path_ensure(rootfd, upperfd, ctx->state_fd, "/proc", EXEC_TARGET_DIR, err);
	if (procfd < 0)
		return -1;
	if (mount("proc", exec_fd_path(fdp, procfd), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return strata_error_make(err, errno, "mount /proc");
	if (setup_dev(ctx, rootfd, upperfd, err) < 0)
		return -1;
	/* /sys only where the image has it (it is not asked for; no stub) */
	cleanup_close int sysfd = openat(rootfd, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sysfd >= 0 && sandbox_rootless()) {
		/* sysfs is mountable only by the owner of the network namespace: the host's, read-only */
		if (exec_bind("/sys", sysfd, true, err) < 0)
			return strata_error_wrap(err, "bind /sys");
	} else if (sysfd >= 0 && mount("sysfs", exec_fd_path(fdp, sysfd), "sysfs",
				       MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		return strata_error_make(err, errno, "mount /sys");
	}
	if (setup_etc(ctx, rootfd, upperfd, hostname, err) < 0)
		return -1;
	if (exec_mounts_apply(ctx, rootfd, upperfd, err) < 0)
		return -1;
	if (seal_devices(rootfd, err) < 0)
		return -1;
	/* after the seal: masked files are binds of /dev/null, which must stay readable */
	if (!spec->insecure && protect_proc(rootfd, sysfd >= 0, err) < 0)
		return -1;
	if (spec->network == EXEC_NET_NONE && loopback_up(err) < 0)
		return -1;
	if (sethostname(hostname, strlen(hostname)) < 0)
		return strata_error_make(err, errno, "set hostname '%s'", hostname);

	if (fchdir(rootfd) < 0)
		return strata_error_make(err, errno, "chdir rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return strata_error_make(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return strata_error_make(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return strata_error_make(err, errno, "chdir /");

	cleanup_free char *passwd = NULL, *group = NULL;
	if (read_optional("/etc/passwd", &passwd, err) < 0 || read_optional("/etc/group", &group, err) < 0)
		return -1;
	if (exec_user_resolve(spec->user, passwd, group, user, err) < 0)
		return -1;
	const char *cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
	if (make_workdir(cwd, user, err) < 0)
		return -1;
	return 0;
}

static bool env_has(const char *const *env, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], key, kl) && env[i][kl] == '=')
			return true;
	return false;
}

__attribute__((noreturn)) static void run_command(struct exec_ctx *ctx, const struct exec_user *u)
{
	const struct exec_spec *spec = ctx->spec;
	setsid();
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);

	int in = ctx->in_fd >= 0 ? ctx->in_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int std[3] = { in, ctx->out_w[0] >= 0 ? ctx->out_w[0] : devnull,
		       ctx->out_w[1] >= 0 ? ctx->out_w[1] : devnull };
	/*
	 * Sources among 0..2 are moved up first: dup2 in order would clobber
	 * one still to be used (stdout and stderr swapped), and dup2(fd, fd)
	 * would keep a close-on-exec flag.
	 */
	bool ok = true;
	for (int i = 0; i < 3; i++)
		if (std[i] >= 0 && std[i] < 3 && (std[i] = fcntl(std[i], F_DUPFD_CLOEXEC, 3)) < 0)
			ok = false;
	for (int i = 0; ok && i < 3; i++)
		ok = std[i] >= 0 && dup2(std[i], i) >= 0;
	if (!ok) {
		exec_child_report(ctx, "set up stdio: %s", strerror(errno));
		_exit(127);
	}
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	for (size_t i = 0; i < spec->n_rlimits; i++) { /* --ulimit, while raising a hard limit is still allowed */
		struct rlimit rl = { (rlim_t)spec->rlimits[i].soft, (rlim_t)spec->rlimits[i].hard };
		if (setrlimit(spec->rlimits[i].resource, &rl) < 0) {
			exec_child_report(ctx, "set resource limit %d: %s", spec->rlimits[i].resource, strerror(errno));
			_exit(127);
		}
	}
	if (sandbox_policy_bounding(spec->insecure) < 0) {
		exec_child_report(ctx, "drop capabilities: %s", strerror(errno));
		_exit(127);
	}
	/* rootless without subordinate ids, setgroups is denied: only gid 0 exists */
	bool groups_ok = !sandbox_rootless() || sandbox_get()->subgids || u->n_groups;
	if ((groups_ok && setgroups(u->n_groups, u->groups) < 0) || setgid(u->gid) < 0 || setuid(u->uid) < 0) {
		exec_child_report(ctx, "switch to user '%s' (%u:%u): %s%s", spec->user ? spec->user : "",
				  (unsigned)u->uid, (unsigned)u->gid, strerror(errno), sandbox_run_hint());
		_exit(127);
	}
	const char *cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
	if (chdir(cwd) < 0) {
		exec_child_report(ctx, "chdir to working directory '%s': %s", cwd, strerror(errno));
		_exit(127);
	}

	/* argv */
	size_t n = 0;
	const char **argv;
	if (spec->cmdline) {
		static const char *const def_shell[] = { "/bin/sh", "-c", NULL };
		const char *const *sh = spec->shell && spec->shell[0] ? spec->shell : def_shell;
		size_t ns = 0;
		while (sh[ns])
			ns++;
		argv = xcalloc(ns + 2, sizeof(*argv));
		for (; n < ns; n++)
			argv[n] = sh[n];
		argv[n++] = spec->cmdline;
	} else {
		while (spec->argv && spec->argv[n])
			n++;
		argv = xcalloc(n + 1, sizeof(*argv));
		for (size_t i = 0; i < n; i++)
			argv[i] = spec->argv[i];
	}
	if (n == 0) {
		exec_child_report(ctx, "no command given");
		_exit(127);
	}
	/* env: exactly spec->env, plus HOME as runc does */
	size_t ne = 0;
	while (spec->env && spec->env[ne])
		ne++;
	char **env = xcalloc(ne + spec->n_mounts + 2, sizeof(*env));
	size_t n_env = 0;
	for (size_t i = 0; i < ne; i++) {
		/* a secret's env= replaces a variable of the same name */
		size_t kl = strcspn(spec->env[i], "=");
		bool replaced = false;
		for (size_t k = 0; k < spec->n_mounts; k++)
			replaced |= ctx->pm[k].env_value && !strncmp(ctx->pm[k].env_value, spec->env[i], kl + 1);
		if (!replaced)
			env[n_env++] = (char *)spec->env[i];
	}
	if (!env_has(spec->env, "HOME"))
		env[n_env++] = xasprintf("HOME=%s", u->home);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (ctx->pm[i].env_value)
			env[n_env++] = ctx->pm[i].env_value;

	struct sandbox_policy_ctx pol = {
		.rootless = sandbox_rootless(), .insecure = spec->insecure, .uid = u->uid, .gid = u->gid, .argv = argv
	};
	struct strata_error *perr = NULL;
	if (sandbox_apply_policy(&pol, &perr) < 0) {
		report_error(ctx, perr);
		_exit(127);
	}

	const char *file = argv[0];
	int first_err = ENOENT;
	if (strchr(file, '/')) {
		execve(file, (char **)argv, env);
		first_err = errno;
	} else {
		const char *path = DEFAULT_PATH;
		for (size_t i = 0; spec->env && spec->env[i]; i++)
			if (!strncmp(spec->env[i], "PATH=", 5))
				path = spec->env[i] + 5;
		bool eacces = false;
		for (const char *p = path;; p++) {
			const char *c = strchrnul(p, ':');
			cleanup_free char *cand = c == p ? xasprintf("./%s", file)
							: xasprintf("%.*s/%s", (int)(c - p), p, file);
			execve(cand, (char **)argv, env);
			if (errno == EACCES)
				eacces = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				first_err = errno;
			if (!*c)
				break;
			p = c;
		}
		if (eacces && first_err == ENOENT)
			first_err = EACCES;
		if (first_err == ENOENT) {
			report_not_started(ctx, 127, "exec '%s': executable file not found in $PATH", file);
			_exit(127);
		}
	}
	int code = first_err == ENOENT || first_err == ENOTDIR ? 127 : 126;
	report_not_started(ctx, code, "exec '%s': %s", file, strerror(first_err));
	_exit(code);
}

__attribute__((noreturn)) static void init_main(struct exec_ctx *ctx, int helper_alive_r)
{
	tie_to_parent(helper_alive_r);
	close(helper_alive_r);
	struct exec_user user;
	memset(&user, 0, sizeof(user));
	struct strata_error *err = NULL;
	if (setup(ctx, &user, &err) < 0) {
		report_error(ctx, err);
		_exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		exec_child_report(ctx, "fork: %s", strerror(errno));
		_exit(1);
	}
	if (pid == 0)
		run_command(ctx, &user);
	for (int i = 0; i < 2; i++)
		if (ctx->out_w[i] >= 0)
			close(ctx->out_w[i]);
	if (ctx->in_fd >= 0)
		close(ctx->in_fd);
	/* reap everything; the step ends when the command does */
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			_exit(1);
		if (r == pid) {
			char msg[32];
			int len = snprintf(msg, sizeof(msg), "S %d\n", st);
			strata_write_full(ctx->status_w, msg, (size_t)len, "status pipe", NULL);
			_exit(0);
		}
	}
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Close every fd but the run's own. The helper and init never exec, so
 * without this they would hold every fd the caller had open at fork time —
 * among them the pipes and locks of runs going on in other threads, whose
 * EOFs and lock releases would then wait for this run to end.
 */
static void close_other_fds(struct exec_ctx *ctx)
{
	int keep[] = { 0, 1, 2, ctx->status_w, ctx->alive_r, ctx->out_w[0], ctx->out_w[1], ctx->in_fd, ctx->state_fd };
	qsort(keep, STRATA_ARRAY_SIZE(keep), sizeof(int), cmp_int);
	unsigned lo = 0;
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(keep); i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

void exec_child_main(struct exec_ctx *ctx)
{
	close_other_fds(ctx);
	struct pollfd ap = { .fd = ctx->alive_r, .events = POLLIN };
	if (poll(&ap, 1, 0) > 0 && (ap.revents & (POLLHUP | POLLERR)))
		_exit(1); /* the caller is already gone */
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	if (ctx->spec->network == EXEC_NET_NONE)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0) {
		exec_child_report(ctx, "create namespaces: %s", strerror(errno));
		_exit(1);
	}
	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0) {
		exec_child_report(ctx, "pipe: %s", strerror(errno));
		_exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		exec_child_report(ctx, "fork: %s", strerror(errno));
		_exit(1);
	}
	if (pid == 0) {
		close(alive[1]);
		close(ctx->alive_r);
		init_main(ctx, alive[0]);
	}
	close(alive[0]);
	/* keep only what tells init we are alive, and the caller's alive pipe */
	close(ctx->status_w);
	for (int i = 0; i < 2; i++)
		if (ctx->out_w[i] >= 0)
			close(ctx->out_w[i]);
	if (ctx->in_fd >= 0)
		close(ctx->in_fd);

	/*
	 * Wait for init, or for the caller to go away or to cancel (its end of
	 * the alive pipe closes): then kill init. Either way, reaping init
	 * returns only once the kernel has killed and reaped every process of
	 * the PID namespace, so when the helper exits the run is entirely dead.
	 */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = ctx->alive_r, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
		int r = poll(p, pfd >= 0 ? 2 : 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			kill(pid, SIGKILL);
			break;
		}
		if (pfd >= 0 && p[1].revents)
			break;
	}
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			_exit(1);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}
