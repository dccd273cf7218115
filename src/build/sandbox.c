/*
 * sandbox.c — the isolation mode, decided once at start (sandbox.h): root,
 * or rootless in a user namespace mapped with newuidmap/newgidmap (the
 * user's /etc/subuid and /etc/subgid ranges) or, without ranges, to the user
 * alone; and the diagnosis when user namespaces are forbidden.
 */
#include "build/sandbox.h"
#include "layer/layer.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_RANGES 16

static struct sandbox_info g = { .isolation = SANDBOX_ROOT };
static bool g_init, g_private;
static char g_user[256];

const struct sandbox_info *sandbox_get(void)
{
	return &g;
}

bool sandbox_rootless(void)
{
	return g.isolation == SANDBOX_ROOTLESS;
}

size_t sandbox_parse_subid(const char *text, const char *name, uid_t uid, unsigned long (*ranges)[2], size_t max)
{
	size_t n = 0;
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lu", (unsigned long)uid);
	for (const char *l = text; l && *l && n < max;) {
		const char *end = strchrnul(l, '\n');
		const char *c1 = memchr(l, ':', (size_t)(end - l));
		if (c1 && *l != '#') {
			size_t kl = (size_t)(c1 - l);
			bool mine = (name && strlen(name) == kl && !strncmp(l, name, kl)) ||
				    (strlen(idbuf) == kl && !strncmp(l, idbuf, kl));
			char *p;
			errno = 0;
			unsigned long start = strtoul(c1 + 1, &p, 10);
			if (mine && !errno && *p == ':' && p < end) {
				unsigned long count = strtoul(p + 1, &p, 10);
				if (!errno && count > 0 && (p == end || *p == '\n' || *p == ' ')) {
					ranges[n][0] = start;
					ranges[n][1] = count;
					n++;
				}
			}
		}
		l = *end ? end + 1 : end;
	}
	return n;
}

static char *read_small(const char *path)
{
	struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 1 << 20, NULL) < 0) {
		strata_buf_release(&b);
		return NULL;
	}
	return strata_buf_detach(&b, NULL);
}

/* the first line of proc/<rel>, trimmed, or NULL */
static char *proc_value(const char *proc, const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", proc, rel);
	char *v = read_small(p);
	if (v)
		v[strcspn(v, "\n")] = '\0';
	return v;
}

char *sandbox_userns_diagnose(const char *proc, int errnum)
{
	cleanup_free char *clone = proc_value(proc, "sys/kernel/unprivileged_userns_clone");
	cleanup_free char *max = proc_value(proc, "sys/user/max_user_namespaces");
	cleanup_free char *aa = proc_value(proc, "sys/kernel/apparmor_restrict_unprivileged_userns");
	cleanup_free char *status = proc_value(proc, "self/status");
	if (clone && !strcmp(clone, "0"))
		return xstrdup("rootless mode needs user namespaces, disabled by kernel.unprivileged_userns_clone=0: "
			       "run 'sysctl -w kernel.unprivileged_userns_clone=1' as root (or build as root)");
	/* the limit read is the one of the user namespace strata runs in: a container's is not the host's */
	cleanup_free char *umap = proc_value(proc, "self/uid_map");
	unsigned long in = 0, out = 0, cnt = 0;
	bool nested = umap && !(sscanf(umap, " %lu %lu %lu", &in, &out, &cnt) == 3 && in == 0 && out == 0 &&
				 cnt == 4294967295UL);
	if (max && !strcmp(max, "0") && nested)
		return xstrdup("rootless mode needs user namespaces, disabled by user.max_user_namespaces=0 in the "
			       "user namespace strata runs in (a container's, not the host's): its root must run "
			       "'sysctl -w user.max_user_namespaces=15000' there, or run strata where it is not 0 "
			       "(or as root)");
	if (max && !strcmp(max, "0"))
		return xstrdup("rootless mode needs user namespaces, disabled by user.max_user_namespaces=0: "
			       "run 'sysctl -w user.max_user_namespaces=15000' as root (or build as root)");
	if (errnum == ENOSPC)
		return xasprintf("rootless mode needs a user namespace, but the limit user.max_user_namespaces=%s is "
				 "reached: raise it with 'sysctl -w user.max_user_namespaces=N' as root",
				 max ? max : "?");
	if (aa && !strcmp(aa, "1"))
		return xstrdup("rootless mode needs user namespaces, restricted by AppArmor "
			       "(kernel.apparmor_restrict_unprivileged_userns=1): run 'sysctl -w "
			       "kernel.apparmor_restrict_unprivileged_userns=0' as root, or give strata an AppArmor "
			       "profile with 'userns,'");
	/* /proc/self/status has the whole file here: look for "Seccomp:\t2" */
	cleanup_free char *st_path = xasprintf("%s/self/status", proc);
	cleanup_free char *full = read_small(st_path);
	const char *sc = full ? strstr(full, "\nSeccomp:") : NULL;
	if (sc && strtol(sc + 9, NULL, 10) == 2 && errnum == EPERM)
		return xstrdup("rootless mode needs user namespaces, forbidden by a seccomp filter (a container "
			       "runtime's default profile blocks unshare(CLONE_NEWUSER)): run the container with "
			       "--security-opt seccomp=unconfined or a profile allowing it, or build as root");
	if (errnum == EPERM)
		return xstrdup("rootless mode needs user namespaces, and creating one was refused (EPERM): the "
			       "enclosing container or security module forbids them; allow user namespaces there, "
			       "or build as root");
	(void)status;
	return xasprintf("rootless mode needs user namespaces: creating one failed: %s", strerror(errnum));
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}


/* argv for new[ug]idmap PID 0 <id> 1 1 <start> <count> ... */
static char **map_argv(const char *tool, pid_t pid, unsigned long id, unsigned long (*r)[2], size_t n,
		       unsigned long *total)
{
	char **v = xcalloc(4 + 3 * (n + 1), sizeof(char *));
	size_t k = 0;
	v[k++] = xstrdup(tool);
	v[k++] = xasprintf("%ld", (long)pid);
	v[k++] = xstrdup("0");
	v[k++] = xasprintf("%lu", id);
	v[k++] = xstrdup("1");
	unsigned long next = 1;
	for (size_t i = 0; i < n; i++) {
		v[k++] = xasprintf("%lu", next);
		v[k++] = xasprintf("%lu", r[i][0]);
		v[k++] = xasprintf("%lu", r[i][1]);
		next += r[i][1];
	}
	*total = next - 1;
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void set_denied(char *msg)
{
	g.isolation = SANDBOX_UNAVAILABLE;
	free(g.denied);
	g.denied = msg;
}

/* map just the user to root (no subordinate ids) */
static int map_self(void)
{
	char line[64];
	if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	snprintf(line, sizeof(line), "0 %lu 1\n", (unsigned long)g.host_uid);
	if (write_file("/proc/self/uid_map", line) < 0)
		return -1;
	snprintf(line, sizeof(line), "0 %lu 1\n", (unsigned long)g.host_gid);
	return write_file("/proc/self/gid_map", line);
}

static void enter_userns(void)
{
	struct passwd pw, *pwr = NULL;
	char pwbuf[4096];
	if (getpwuid_r(g.host_uid, &pw, pwbuf, sizeof(pwbuf), &pwr) == 0 && pwr)
		snprintf(g_user, sizeof(g_user), "%s", pw.pw_name);
	else
		snprintf(g_user, sizeof(g_user), "%lu", (unsigned long)g.host_uid);

	unsigned long ur[MAX_RANGES][2], gr[MAX_RANGES][2];
	cleanup_free char *su = read_small("/etc/subuid");
	cleanup_free char *sg = read_small("/etc/subgid");
	size_t nu = su ? sandbox_parse_subid(su, g_user, g.host_uid, ur, MAX_RANGES) : 0;
	size_t ng = sg ? sandbox_parse_subid(sg, g_user, g.host_uid, gr, MAX_RANGES) : 0;
	bool tools = nu && ng && strata_exe_on_path("newuidmap") && strata_exe_on_path("newgidmap");
	if (nu && ng && !tools)
		LOG_WARN("rootless: /etc/subuid has ids for %s but newuidmap/newgidmap are missing (install "
				"Debian's uidmap): mapping only your own id",
				g_user);

	/* two helpers forked before the unshare (they stay in the parent namespace),
	 * each exec'ing its tool on us once told to: in parallel, no fork more */
	int pfd[2] = { -1, -1 };
	pid_t helper[2] = { -1, -1 };
	unsigned long tu = 0, tg = 0;
	char **uargv = NULL, **gargv = NULL;
	if (tools) {
		pid_t self = getpid();
		uargv = map_argv("newuidmap", self, g.host_uid, ur, nu, &tu);
		gargv = map_argv("newgidmap", self, g.host_gid, gr, ng, &tg);
		if (pipe2(pfd, O_CLOEXEC) < 0)
			tools = false;
	}
	for (int k = 0; tools && k < 2; k++) {
		helper[k] = fork();
		if (helper[k] == 0) {
			close(pfd[1]);
			char c;
			if (read(pfd[0], &c, 1) != 1 || c != 'g')
				_exit(1);
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, 1);
			char **argv = k == 0 ? uargv : gargv;
			execvp(argv[0], argv);
			_exit(127);
		}
		if (helper[k] < 0)
			tools = false;
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (!tools && pfd[1] >= 0) {
		close(pfd[1]); /* the helpers started read EOF and exit */
		pfd[1] = -1;
	}
	int ue = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
	bool sent = ue == 0 && pfd[1] >= 0 && write(pfd[1], "gg", 2) == 2;
	if (pfd[1] >= 0)
		close(pfd[1]);
	bool mapped = sent;
	for (int k = 0; k < 2; k++) {
		int st = 0;
		if (helper[k] <= 0)
			continue;
		while (waitpid(helper[k], &st, 0) < 0 && errno == EINTR)
			;
		mapped = mapped && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	if (ue) {
		strv_free(uargv);
		strv_free(gargv);
		set_denied(sandbox_userns_diagnose("/proc", ue));
		return;
	}
	if (tools && !mapped)
		LOG_WARN("rootless: newuidmap/newgidmap failed for %s's ranges in /etc/subuid and /etc/subgid: "
			 "mapping only your own id",
			 g_user);
	strv_free(uargv);
	strv_free(gargv);
	if (mapped) {
		g.subuids = tu;
		g.subgids = tg;
		if (setgroups(0, NULL) < 0)
			LOG_DEBUG("rootless: setgroups: %s", strerror(errno));
	} else if (map_self() < 0) {
		int e = errno;
		set_denied(sandbox_userns_diagnose("/proc", e));
		return;
	}
	g.isolation = SANDBOX_ROOTLESS;
}

/*
 * Already root of a user namespace (a `strata build` that `strata compose`
 * started inside ours, or root in a rootless container): the map tells the
 * user outside (what 0 maps to) and how many other ids exist.
 * @return true when /proc/self/uid_map is not the initial namespace's.
 */
static bool inherited_userns(void)
{
	cleanup_free char *um = read_small("/proc/self/uid_map");
	cleanup_free char *gm = read_small("/proc/self/gid_map");
	unsigned long in, out, cnt;
	if (!um || (sscanf(um, " %lu %lu %lu", &in, &out, &cnt) == 3 && in == 0 && out == 0 && cnt == 4294967295UL))
		return false;
	for (int k = 0; k < 2; k++) {
		unsigned long total = 0, zero = k ? g.host_gid : g.host_uid;
		for (const char *l = k ? gm : um; l && *l;) {
			if (sscanf(l, " %lu %lu %lu", &in, &out, &cnt) == 3) {
				total += cnt;
				if (in == 0)
					zero = out;
			}
			l = strchr(l, '\n');
			l = l ? l + 1 : NULL;
		}
		if (k) {
			g.host_gid = (gid_t)zero;
			g.subgids = total ? total - 1 : 0;
		} else {
			g.host_uid = (uid_t)zero;
			g.subuids = total ? total - 1 : 0;
		}
	}
	snprintf(g_user, sizeof(g_user), "%lu", (unsigned long)g.host_uid);
	return true;
}

void sandbox_init(void)
{
	if (g_init)
		return;
	g_init = true;
	g.host_uid = getuid();
	g.host_gid = getgid();
	if (geteuid() == 0) {
		g.isolation = inherited_userns() ? SANDBOX_ROOTLESS : SANDBOX_ROOT;
		return;
	}
	const char *rl = getenv("STRATA_ROOTLESS");
	if (rl && !strcmp(rl, "0")) {
		set_denied(xasprintf("not root (uid %lu) and STRATA_ROOTLESS=0: builds need root or a user namespace",
				     (unsigned long)g.host_uid));
		return;
	}
	enter_userns();
}

int sandbox_usable(struct strata_error **err)
{
	if (!g_init && geteuid() != 0)
		return strata_error_makec(err, STRATA_E_CONFIG, 0,
					  "not root (uid %lu) and not in strata's user namespace (sandbox_init was not "
					  "called)",
					  (unsigned long)geteuid());
	if (g.isolation == SANDBOX_UNAVAILABLE)
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "%s", g.denied);
	return 0;
}

int sandbox_mount_namespace(struct strata_error **err)
{
	if (sandbox_usable(err) < 0)
		return -1;
	if (g_private)
		return 0;
	if (unshare(CLONE_NEWNS) < 0)
		return strata_error_make(err, errno, "unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return strata_error_make(err, errno, "make mounts private");
	g_private = true;
	return 0;
}

int sandbox_require(struct strata_error **err)
{
	static bool warned;
	if (sandbox_mount_namespace(err) < 0)
		return -1;
	if (!warned && g.isolation == SANDBOX_ROOTLESS && !g.subuids)
		LOG_WARN("rootless without subordinate ids (only your own id is mapped; %s has no range in /etc/subuid "
			 "and /etc/subgid, or newuidmap failed): only uid 0 exists in builds, RUN steps that chown to "
			 "other ids fail",
			 g_user);
	warned = true;
	return 0;
}

const char *sandbox_run_hint(void)
{
	static char hint[1024];
	if (g.isolation != SANDBOX_ROOTLESS || g.subuids)
		return "";
	snprintf(hint, sizeof(hint),
		 " (rootless without subordinate ids: only uid 0 exists in builds; add a range for %s to /etc/subuid "
		 "and /etc/subgid, e.g. '%s:100000:65536', to use other ids)",
		 g_user, g_user);
	return hint;
}

const char *sandbox_opaque_xattr(void)
{
	return g.isolation == SANDBOX_ROOTLESS ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

/* ---- extraction ---- */

static int sb_chown(int dirfd, const char *name, uid_t uid, gid_t gid, int flags)
{
	if (fchownat(dirfd, name, uid, gid, flags) == 0)
		return 0;
	if (errno != EINVAL || g.isolation != SANDBOX_ROOTLESS)
		return -1;
	/* an id outside the map: owned by root here, the real owner kept for layer_create */
	if (fchownat(dirfd, name, 0, 0, flags) < 0)
		return -1;
	if (*name)
		return 0; /* a symlink: user xattrs cannot be set on it */
	char pp[64], v[64];
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", dirfd);
	snprintf(v, sizeof(v), "%lu:%lu", (unsigned long)uid, (unsigned long)gid);
	struct stat st;
	if (stat(pp, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
	    setxattr(pp, LAYER_OWNER_XATTR, v, strlen(v), 0) < 0)
		return -1;
	return 0;
}

static int sb_mknod(int dirfd, const char *name, mode_t mode, dev_t dev)
{
	if (g.isolation == SANDBOX_ROOTLESS)
		return 1; /* a user namespace cannot make device nodes: left out, as docker and podman do */
	return mknodat(dirfd, name, mode, dev);
}

const struct layer_fs_ops *sandbox_layer_ops(void)
{
	static struct layer_fs_ops ops = { .chown = sb_chown, .mknod = sb_mknod };
	ops.opaque_xattr = sandbox_opaque_xattr();
	return &ops;
}
