/*
 * ctxmask.c — the build context as .dockerignore filters it, for RUN
 * --mount=type=bind: a directory of overlayfs whiteouts laid over the
 * context (context.h, build_context_mask). Making it costs one node per
 * excluded path, never a copy of the context.
 */
#include "build/context.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Give the mask's directory mfd the metadata of the context's directory cfd. */
static int mirror(int cfd, int mfd, const char *rel, struct strata_error **err)
{
	struct stat st;
	if (fstat(cfd, &st) < 0)
		return strata_error_make(err, errno, "stat '%s' in the build context", rel);
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	if (fchown(mfd, st.st_uid, st.st_gid) < 0 || fchmod(mfd, st.st_mode & 07777) < 0 || futimens(mfd, ts) < 0)
		return strata_error_make(err, errno, "copy the metadata of '%s' in the build context", rel);
	return 0;
}

/*
 * The mask's directory for rel (the parent of an excluded path), created
 * component by component with the context's metadata. @return an fd, -2
 * when a component is already a whiteout (an excluded ancestor hides rel),
 * or -1.
 */
static int mask_dir(int croot, int mroot, const char *rel, struct strata_error **err)
{
	int c = fcntl(croot, F_DUPFD_CLOEXEC, 3), m = fcntl(mroot, F_DUPFD_CLOEXEC, 3);
	if (c < 0 || m < 0) {
		int e = errno;
		if (c >= 0)
			close(c);
		if (m >= 0)
			close(m);
		return strata_error_make(err, e, "dup");
	}
	cleanup_free char *done = xstrdup("");
	const char *p = rel;
	size_t len;
	for (const char *comp; (comp = strata_path_next(&p, &len));) {
		cleanup_free char *name = xstrndup(comp, len);
		char *nd = *done ? xasprintf("%s/%s", done, name) : xstrdup(name);
		free(done);
		done = nd;
		int nc = openat(c, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fstatat(m, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
			if (nc >= 0)
				close(nc);
			close(c);
			close(m);
			return -2;
		}
		bool made = mkdirat(m, name, 0700) == 0;
		int nm = openat(m, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int r = nc < 0 || nm < 0 ? strata_error_make(err, errno, "mask '%s'", done)
			: made	       ? mirror(nc, nm, done, err)
				       : 0;
		close(c);
		close(m);
		c = nc;
		m = nm;
		if (r < 0) {
			if (c >= 0)
				close(c);
			if (m >= 0)
				close(m);
			return -1;
		}
	}
	close(c);
	return m;
}

/* Mirror every directory of the mask again, now that its nodes are made (they changed its times). */
static int remirror(int cfd, int mfd, const char *rel, int depth, struct strata_error **err)
{
	if (depth > 4096)
		return strata_error_make(err, ELOOP, "mask '%s'", rel);
	int dup_fd = fcntl(mfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return strata_error_make(err, errno, "read mask '%s'", rel);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *sub = strcmp(rel, ".") ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		cleanup_close int nc = openat(cfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int nm = openat(mfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nc < 0 || nm < 0)
			r = strata_error_make(err, errno, "mask '%s'", sub);
		else
			r = remirror(nc, nm, sub, depth + 1, err);
	}
	closedir(d);
	return r < 0 ? r : mirror(cfd, mfd, rel, err);
}

int build_context_mask(const struct build_context *c, const char *dir, struct strata_error **err)
{
	size_t n = build_context_hidden_count(c);
	if (n == 0)
		return 0;
	cleanup_close int croot = open(build_context_root(c), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (croot < 0)
		return strata_error_make(err, errno, "open build context '%s'", build_context_root(c));
	if (mkdir(dir, 0700) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", dir);
	cleanup_close int mroot = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mroot < 0 || mirror(croot, mroot, ".", err) < 0)
		return mroot < 0 ? strata_error_make(err, errno, "open '%s'", dir) : -1;
	for (size_t i = 0; i < n; i++) {
		const char *path = build_context_hidden(c, i);
		/* an excluded directory that keeps re-included paths stays (its
		 * other children are listed on their own) */
		if (build_context_has_below(c, path))
			continue;
		const char *slash = strrchr(path, '/');
		cleanup_free char *parent = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
		int pfd = mask_dir(croot, mroot, parent, err);
		if (pfd == -2)
			continue;
		if (pfd < 0)
			return -1;
		int r = mknodat(pfd, slash ? slash + 1 : path, S_IFCHR | 0, makedev(0, 0));
		int e = errno;
		close(pfd);
		if (r < 0 && e != EEXIST)
			return strata_error_make(err, e, "mask '%s'", path);
	}
	return remirror(croot, mroot, ".", 0, err) < 0 ? -1 : 1;
}
