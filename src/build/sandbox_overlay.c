/*
 * sandbox_overlay.c — the one overlay mount of strata (sandbox.h): options
 * built and escaped here, the /proc/self/fd fallback for long lower lists,
 * the snapshotter chosen once (kernel overlayfs, userxattr when rootless, else
 * fuse-overlayfs, else copying — or the one STRATA_SNAPSHOTTER names), and
 * the builder's own views.
 */
#include "build/sandbox.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* mount(2) takes one page of options */
#define OPTS_MAX 4000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static enum sandbox_overlay driver = SANDBOX_OVERLAY_UNKNOWN;

static void escape_into(struct strata_buf *b, const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p == ',' || *p == ':' || *p == '\\')
			strata_buf_addch(b, '\\');
		strata_buf_addch(b, *p);
	}
}

/* the options; fds != NULL: lowers named /proc/self/fd/N */
static char *options(const char *const *lowers, size_t n, const int *fds, const char *upper, const char *work,
		     bool fuse)
{
	struct strata_buf o = STRATA_BUF_INIT;
	strata_buf_adds(&o, "lowerdir=");
	for (size_t i = 0; i < n; i++) {
		char fdp[32];
		if (fds)
			snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fds[i]);
		if (i)
			strata_buf_addch(&o, ':');
		escape_into(&o, fds ? fdp : lowers[i]);
	}
	if (upper) {
		strata_buf_adds(&o, ",upperdir=");
		escape_into(&o, upper);
		strata_buf_adds(&o, ",workdir=");
		escape_into(&o, work);
	}
	if (fuse)
		return strata_buf_detach(&o, NULL);
	/* whole-file copy-ups only: the upper dir must be a self-contained diff
	 * the layer module can tar (no metacopy-only files, no redirects) */
	if (sandbox_rootless())
		strata_buf_adds(&o, ",userxattr,index=off,metacopy=off,redirect_dir=nofollow");
	else
		strata_buf_adds(&o, ",index=off,metacopy=off,redirect_dir=off");
	return strata_buf_detach(&o, NULL);
}

static int kernel_mount(const char *const *lowers, size_t n, const char *upper, const char *work, const char *target,
			struct strata_error **err)
{
	cleanup_free char *opts = options(lowers, n, NULL, upper, work, false);
	cleanup_free int *fds = NULL;
	int rc = 0;
	if (strlen(opts) >= OPTS_MAX) {
		fds = xcalloc(n, sizeof(*fds));
		for (size_t i = 0; i < n; i++)
			fds[i] = -1;
		for (size_t i = 0; i < n && rc == 0; i++)
			if ((fds[i] = open(lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
				rc = strata_error_make(err, errno, "open lower dir '%s'", lowers[i]);
		if (rc == 0) {
			free(opts);
			opts = options(lowers, n, fds, upper, work, false);
			if (strlen(opts) >= OPTS_MAX)
				rc = strata_error_make(err, E2BIG, "too many layers for one overlay mount (%zu)", n);
		}
	}
	if (rc == 0 && mount("overlay", target, "overlay", upper ? 0 : MS_RDONLY, opts) < 0) {
		if (errno == ENODEV)
			rc = strata_error_make(err, errno, "overlayfs is not available");
		else
			rc = strata_error_make(err, errno, "mount overlay on '%s' (upper '%s')", target,
					       upper ? upper : "none: read-only");
	}
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

static int fuse_mount(const char *const *lowers, size_t n, const char *upper, const char *work, const char *target,
		      struct strata_error **err)
{
	cleanup_free char *opts = options(lowers, n, NULL, upper, work, true);
	pid_t p = fork();
	if (p < 0)
		return strata_error_make(err, errno, "fork fuse-overlayfs");
	if (p == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2); /* its failures are reported by exit status; it warns about mount options */
		}
		char *argv[] = { (char *)"fuse-overlayfs", (char *)"-o", opts, (char *)target, NULL };
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return strata_error_make(err, errno, "wait for fuse-overlayfs");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return strata_error_make(err, 0, "fuse-overlayfs failed to mount '%s' (exit %d)", target,
					 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

static void set_driver(enum sandbox_overlay d, char *why)
{
	struct sandbox_info *i = (struct sandbox_info *)sandbox_get();
	driver = d;
	i->overlay = d;
	free(i->overlay_why);
	i->overlay_why = why;
}

/* try a small overlay (with a whiteout-capable upper) under dir */
static int probe(const char *dir, bool fuse, struct strata_error **err)
{
	cleanup_free char *t = NULL;
	if (strata_mkdtemp(dir, ".overlay-probe-", &t, err) < 0)
		return -1;
	cleanup_free char *l1 = xasprintf("%s/l1", t), *l2 = xasprintf("%s/l2", t), *u = xasprintf("%s/u", t),
			  *w = xasprintf("%s/w", t), *m = xasprintf("%s/m", t);
	int rc = 0;
	if (mkdir(l1, 0755) < 0 || mkdir(l2, 0755) < 0 || mkdir(u, 0755) < 0 || mkdir(w, 0700) < 0 ||
	    mkdir(m, 0755) < 0)
		rc = strata_error_make(err, errno, "mkdir under '%s'", t);
	const char *lowers[] = { l1, l2 };
	if (rc == 0)
		rc = fuse ? fuse_mount(lowers, 2, u, w, m, err) : kernel_mount(lowers, 2, u, w, m, err);
	if (rc == 0 && umount2(m, 0) < 0)
		umount2(m, MNT_DETACH);
	strata_rm_rf(t, NULL);
	return rc;
}

const char *sandbox_snapshotter_name(enum sandbox_overlay o)
{
	switch (o) {
	case SANDBOX_OVERLAY_KERNEL: return "overlay";
	case SANDBOX_OVERLAY_FUSE: return "fuse-overlayfs";
	case SANDBOX_OVERLAY_COPY: return "copy";
	case SANDBOX_OVERLAY_NONE: return "none";
	default: return "not probed";
	}
}

static char *probe_error(const char *dir, bool fuse)
{
	struct strata_error *e = NULL;
	if (probe(dir, fuse, &e) == 0)
		return NULL;
	char *m = strata_error_string(e);
	strata_error_free(e);
	return m;
}

/*
 * force: STRATA_SNAPSHOTTER (overlay | fuse-overlayfs | copy), exactly that
 * one; else kernel overlayfs (as root: always), fuse-overlayfs, copying.
 * STRATA_OVERLAY=fuse (the older switch) skips the kernel's in that chain.
 */
static void decide(const char *dir, const char *force, const char *legacy)
{
	struct sandbox_info *i = (struct sandbox_info *)sandbox_get();
	if (force && *force) {
		i->overlay_forced = true;
		if (!strcmp(force, "copy")) {
			set_driver(SANDBOX_OVERLAY_COPY, xstrdup("forced by STRATA_SNAPSHOTTER=copy"));
		} else if (!strcmp(force, "overlay") || !strcmp(force, "fuse-overlayfs")) {
			bool fuse = force[0] == 'f';
			char *why = sandbox_rootless() || fuse ? probe_error(dir, fuse) : NULL;
			if (why)
				set_driver(SANDBOX_OVERLAY_NONE, xasprintf("STRATA_SNAPSHOTTER=%s: %s%s", force, why,
									   fuse ? " (install Debian's fuse-overlayfs "
										  "and give access to /dev/fuse)"
										: ""));
			else
				set_driver(fuse ? SANDBOX_OVERLAY_FUSE : SANDBOX_OVERLAY_KERNEL, NULL);
			free(why);
		} else {
			set_driver(SANDBOX_OVERLAY_NONE, xasprintf("STRATA_SNAPSHOTTER='%s' is not one of overlay, "
								   "fuse-overlayfs, copy",
								   force));
		}
		return;
	}
	bool skip_kernel = legacy && !strcmp(legacy, "fuse");
	if (!sandbox_rootless() && !skip_kernel) {
		set_driver(SANDBOX_OVERLAY_KERNEL, NULL); /* as root: the kernel's, as always */
		return;
	}
	cleanup_free char *km = skip_kernel ? xstrdup("skipped (STRATA_OVERLAY=fuse)") : probe_error(dir, false);
	if (!km) {
		set_driver(SANDBOX_OVERLAY_KERNEL, NULL);
		return;
	}
	cleanup_free char *fm = probe_error(dir, true);
	if (!fm) {
		set_driver(SANDBOX_OVERLAY_FUSE, xasprintf("kernel overlayfs: %s", km));
		return;
	}
	set_driver(SANDBOX_OVERLAY_COPY, xasprintf("kernel overlayfs: %s; fuse-overlayfs: %s (install Debian's "
						   "fuse-overlayfs and give access to /dev/fuse)",
						   km, fm));
}

/* read-only copies made beside their targets, removed by sandbox_view_unmount */
static struct { char *target, *dir; } *copies;
static size_t ncopies;

/* one line, when decided, saying that builds copy and why */
static void say_copy(void)
{
	const struct sandbox_info *i = sandbox_get();
	if (i->overlay_forced)
		LOG_WARN("snapshotter: copy (STRATA_SNAPSHOTTER=copy): every RUN and COPY copies its base");
	else
		LOG_WARN("snapshotter: copy, no overlay filesystem works here (%s): every RUN and COPY copies its "
			 "base, which is slower",
			 i->overlay_why);
}

enum sandbox_overlay sandbox_overlay_driver(const char *dir)
{
	pthread_mutex_lock(&lock);
	if (driver == SANDBOX_OVERLAY_UNKNOWN) {
		if (!dir || !*dir) {
			dir = getenv("TMPDIR");
			if (!dir || !*dir)
				dir = "/tmp";
		}
		decide(dir, getenv("STRATA_SNAPSHOTTER"), getenv("STRATA_OVERLAY"));
		if (driver == SANDBOX_OVERLAY_COPY)
			say_copy();
		else if (driver == SANDBOX_OVERLAY_FUSE && !sandbox_get()->overlay_forced)
			LOG_WARN("snapshotter: fuse-overlayfs (%s)", sandbox_get()->overlay_why);
	}
	enum sandbox_overlay d = driver;
	pthread_mutex_unlock(&lock);
	return d;
}

static int copy_mount(const char *const *lowers, size_t n, const char *upper, const char *work, const char *target,
		      struct strata_error **err)
{
	if (upper && !work)
		return strata_error_make(err, EINVAL, "copy snapshotter: an upper dir without a work dir for '%s'",
					 target);
	cleanup_free char *own = NULL;
	if (!work) {
		if (!strncmp(target, "/proc/self/fd/", 14))
			return strata_error_make(err, EINVAL, "copy snapshotter: a read-only view on '%s' needs a work "
							      "dir",
						 target);
		own = xasprintf("%s.copy", target);
		if (mkdir(own, 0700) < 0)
			return strata_error_make(err, errno, "mkdir '%s'", own);
	}
	const char *dir = work ? work : own;
	cleanup_free char *root = xasprintf("%s/root", dir);
	int rc = sandbox_copy_materialize(lowers, n, dir, upper != NULL, err);
	/* a detached bind, made read-only before it is attached (a target given as
	 * /proc/self/fd/N names the directory under the new mount, not the mount) */
	int t = rc == 0 ? open_tree(AT_FDCWD, root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -1;
	if (rc == 0 && t < 0)
		rc = strata_error_make(err, errno, "bind the copy '%s'", root);
	if (rc == 0 && !upper) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
			rc = strata_error_make(err, errno, "make the copy '%s' read-only", root);
	}
	int tfd = rc == 0 ? open(target, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (rc == 0 && tfd < 0)
		rc = strata_error_make(err, errno, "open '%s'", target);
	if (rc == 0 && move_mount(t, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		rc = strata_error_make(err, errno, "bind the copy '%s' on '%s'", root, target);
	if (tfd >= 0)
		close(tfd);
	if (t >= 0)
		close(t);
	if (rc < 0) {
		if (own)
			strata_rm_rf(own, NULL);
		return -1;
	}
	if (own) {
		pthread_mutex_lock(&lock);
		copies = xreallocarray(copies, ncopies + 1, sizeof(*copies));
		copies[ncopies].target = xstrdup(target);
		copies[ncopies++].dir = STRATA_STEAL(own);
		pthread_mutex_unlock(&lock);
	}
	return 0;
}

int sandbox_overlay_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
			  const char *target, struct strata_error **err)
{
	if (n == 0)
		return strata_error_make(err, EINVAL, "overlay on '%s' without a lower dir", target);
	switch (sandbox_overlay_driver(NULL)) {
	case SANDBOX_OVERLAY_FUSE:
		return fuse_mount(lowers, n, upper, work, target, err);
	case SANDBOX_OVERLAY_COPY:
		return copy_mount(lowers, n, upper, work, target, err);
	case SANDBOX_OVERLAY_NONE:
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "no snapshotter: %s", sandbox_get()->overlay_why);
	default:
		return kernel_mount(lowers, n, upper, work, target, err);
	}
}

int sandbox_view_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
		       const char *target, struct strata_error **err)
{
	if (sandbox_require(err) < 0)
		return -1;
	return sandbox_overlay_mount(lowers, n, upper, work, target, err);
}

void sandbox_view_unmount(const char *target)
{
	umount2(target, MNT_DETACH);
	char *dir = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ncopies; i++)
		if (copies[i].target && !strcmp(copies[i].target, target)) {
			dir = copies[i].dir;
			free(copies[i].target);
			copies[i] = copies[--ncopies];
			break;
		}
	pthread_mutex_unlock(&lock);
	if (dir)
		strata_rm_rf(dir, NULL);
	free(dir);
}
