/*
 * exec_state.c — the state file of a run and the undo of what a run leaves
 * on disk (docs/internals/executor.md, "Cleanup").
 *
 * <run_dir>/<id>.state is text:
 *
 *     strata-exec-state 1
 *     upper <upper dir>
 *     run <run dir of this run>
 *     copyup etc          a directory of the upper dir that a stub copied up
 *     file etc/hosts      an empty file created as a mount point
 *     dir proc            an empty directory created as a mount point
 *     mount <path>        a mount in the caller's namespace (none today)
 *
 * Records are appended (O_APPEND, one write each) *before* the thing they
 * name is created, so a killed run never leaves something unrecorded. The
 * owner holds an flock on the file for the whole run: a cleaner that gets the
 * lock knows the owner is gone.
 */
#include "build/exec_internal.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAGIC "strata-exec-state 1\n"
#define STATE_MAX (4u << 20)

int exec_state_record(int state_fd, const char *kind, const char *path, struct strata_error **err)
{
	if (strchr(path, '\n'))
		return strata_error_make(err, 0, "path '%s' contains a newline", path);
	cleanup_free char *line = xasprintf("%s %s\n", kind, path);
	return strata_write_full(state_fd, line, strlen(line), "executor state file", err);
}

int exec_state_create(struct exec_ctx *ctx, const char *run_dir, struct strata_error **err)
{
	if (strata_mkdir_p(run_dir, 0700, err) < 0)
		return strata_error_wrap(err, "create executor run directory");
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return strata_error_make(err, errno, "getrandom");
	char id[17];
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);

	/* Created under a name cleaners ignore, locked, then renamed: a cleaner
	 * never sees a live state file without its lock. */
	cleanup_free char *tmp = xasprintf("%s/%s.tmp", run_dir, id);
	cleanup_close int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", tmp);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		unlink(tmp);
		return strata_error_make(err, e, "lock '%s'", tmp);
	}
	char *run_path = xasprintf("%s/%s", run_dir, id);
	cleanup_free char *hdr = xasprintf(STATE_MAGIC "upper %s\nrun %s\n", ctx->spec->upper_dir, run_path);
	char *state_path = xasprintf("%s/%s.state", run_dir, id);
	int r = strata_write_full(fd, hdr, strlen(hdr), tmp, err);
	if (r == 0 && rename(tmp, state_path) < 0)
		r = strata_error_make(err, errno, "rename '%s'", tmp);
	if (r < 0) {
		unlink(tmp);
		free(run_path);
		free(state_path);
		return -1;
	}
	ctx->state_fd = STRATA_STEAL_FD(fd);
	ctx->state_path = state_path;
	ctx->run_path = run_path;
	ctx->rootfs = xasprintf("%s/rootfs", run_path);
	ctx->stage = xasprintf("%s/stage", run_path);
	ctx->empty = xasprintf("%s/empty", run_path);
	const char *dirs[] = { run_path, ctx->rootfs, ctx->stage, ctx->empty };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dirs); i++)
		if (mkdir(dirs[i], 0700) < 0)
			return strata_error_make(err, errno, "mkdir '%s'", dirs[i]);
	return 0;
}

/* The parent directory of rel under upperfd, never through a symlink or another mount. */
static int open_parent(int upperfd, const char *rel, const char **base)
{
	const char *slash = strrchr(rel, '/');
	*base = slash ? slash + 1 : rel;
	cleanup_free char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, upperfd, dir, &how, sizeof(how));
}

static bool is_opaque(int dirfd, const char *name)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return true; /* cannot tell: keep it */
	char v[4];
	/* the kernel's marker as root or rootless (userxattr), or fuse-overlayfs's marker file */
	struct stat st;
	return fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) > 0 ||
	       fgetxattr(fd, "user.overlay.opaque", v, sizeof(v)) > 0 ||
	       (fstatat(fd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
}

/* a stub directory made through fuse-overlayfs holds its opaque markers: remove them first */
static void drop_fuse_markers(int pfd, const char *name)
{
	cleanup_close int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstatat(fd, ".wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0)
		unlinkat(fd, ".wh..opq", 0);
	if (fstatat(fd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlinkat(fd, ".wh..wh..opq", 0);
}

/* Undo one record; failures to remove (not empty, replaced) mean "keep it". */
static void undo_record(int upperfd, const char *kind, const char *rel)
{
	if (!strcmp(kind, "mount")) {
		umount2(rel, MNT_DETACH);
		return;
	}
	if (upperfd < 0 || rel[0] == '/' || !*rel)
		return;
	const char *base;
	cleanup_close int pfd = open_parent(upperfd, rel, &base);
	if (pfd < 0)
		return;
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!strcmp(kind, "file")) {
		if (S_ISREG(st.st_mode) && st.st_size == 0)
			unlinkat(pfd, base, 0);
	} else if (!strcmp(kind, "dir")) {
		if (S_ISDIR(st.st_mode) && unlinkat(pfd, base, AT_REMOVEDIR) < 0 && errno == ENOTEMPTY) {
			drop_fuse_markers(pfd, base);
			unlinkat(pfd, base, AT_REMOVEDIR);
		}
	} else if (!strcmp(kind, "copyup")) {
		if (S_ISDIR(st.st_mode) && !is_opaque(pfd, base))
			unlinkat(pfd, base, AT_REMOVEDIR);
	}
}

int exec_state_undo(int state_fd, const char *state_path, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_init(&b, STATE_MAX);
	char tmp[8192];
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(state_fd, tmp, sizeof(tmp), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return strata_error_make(err, errno, "read '%s'", state_path);
		if (r == 0)
			break;
		if (strata_buf_add(&b, tmp, (size_t)r) < 0)
			return strata_error_make(err, E2BIG, "read '%s'", state_path);
		off += r;
	}
	if (strncmp(b.data, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
		return strata_error_make(err, 0, "'%s' is not an executor state file", state_path);

	/* split into lines (in place) */
	size_t n = 0, cap = 16;
	char **lines = xcalloc(cap, sizeof(*lines));
	for (char *p = b.data + strlen(STATE_MAGIC); *p;) {
		char *e = strchrnul(p, '\n');
		bool end = *e == '\0';
		*e = '\0';
		if (*p) {
			if (n == cap)
				lines = xreallocarray(lines, cap *= 2, sizeof(*lines));
			lines[n++] = p;
		}
		p = end ? e : e + 1;
	}
	const char *upper = NULL, *run = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(lines[i], "upper ", 6))
			upper = lines[i] + 6;
		else if (!strncmp(lines[i], "run ", 4))
			run = lines[i] + 4;
	}
	cleanup_close int upperfd = upper ? open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	for (size_t i = n; i-- > 0;) {
		char *sp = strchr(lines[i], ' ');
		if (!sp)
			continue;
		*sp = '\0';
		if (strcmp(lines[i], "upper") && strcmp(lines[i], "run"))
			undo_record(upperfd, lines[i], sp + 1);
		*sp = ' ';
	}
	free(lines);
	int r = 0;
	if (run) {
		/* only the (empty) mount points this module made: never rm -rf
		 * something that could still be a mount */
		static const char *const subs[] = { "rootfs", "stage", "empty" };
		/* the copy snapshotter's copies of RUN --mount sources (plain directories, never mounts here) */
		cleanup_free char *copies = xasprintf("%s/copies", run);
		if (strata_rm_rf(copies, err) < 0)
			r = -1;
		for (size_t i = 0; i < STRATA_ARRAY_SIZE(subs); i++) {
			cleanup_free char *p = xasprintf("%s/%s", run, subs[i]);
			if (rmdir(p) < 0 && errno != ENOENT && r == 0)
				r = strata_error_make(err, errno, "remove '%s'", p);
		}
		if (rmdir(run) < 0 && errno != ENOENT && r == 0)
			r = strata_error_make(err, errno, "remove '%s'", run);
	}
	if (unlink(state_path) < 0 && errno != ENOENT && r == 0)
		r = strata_error_make(err, errno, "remove '%s'", state_path);
	return r;
}

int executor_cleanup_stale(const char *run_dir, struct strata_error **err)
{
	cleanup_closedir DIR *d = opendir(run_dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return strata_error_make(err, errno, "open '%s'", run_dir);
	}
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			/* a run killed between creating and renaming its state: nothing
			 * was recorded yet; old enough not to be a run starting now */
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			    st.st_mtime < time(NULL) - 60)
				unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (len < 7 || strcmp(de->d_name + len - 6, ".state") != 0)
			continue;
		cleanup_free char *path = xasprintf("%s/%s", run_dir, de->d_name);
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* finished meanwhile */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* its run is alive */
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_nlink == 0)
			continue; /* its owner finished and removed it */
		if (exec_state_undo(fd, path, err) < 0)
			return strata_error_wrap(err, "clean up stale run '%s'", path);
		count++;
	}
	return count;
}
