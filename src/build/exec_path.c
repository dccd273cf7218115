/*
 * exec_path.c — mount targets inside the rootfs, resolved as if the rootfs
 * were "/" (an image's symlink such as /etc -> /host/etc must never send a
 * mount to the host), created when missing, every creation recorded in the
 * state file first so it can be removed from the upper dir afterwards.
 *
 * Runs in the child before pivot_root, when no command of the image runs yet,
 * so the tree cannot change under the walk.
 */
#include "build/exec_internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SYMLINKS 40

const char *exec_fd_path(char buf[32], int fd)
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/*
 * Before creating rel (relative to the root), record every ancestor directory
 * that is not yet in the upper dir: creating rel copies it up.
 */
static int record_copyups(int upperfd, int state_fd, const char *rel, struct strata_error **err)
{
	cleanup_free char *p = xstrdup(rel);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		struct stat st;
		if (fstatat(upperfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return strata_error_make(err, errno, "stat upper '%s'", p);
			if (exec_state_record(state_fd, "copyup", p, err) < 0)
				return -1;
		}
		*s = '/';
	}
	return 0;
}

static int create_stub(int dirfd, int upperfd, int state_fd, const char *rel, const char *name, bool dir,
		       struct strata_error **err)
{
	if (record_copyups(upperfd, state_fd, rel, err) < 0 ||
	    exec_state_record(state_fd, dir ? "dir" : "file", rel, err) < 0)
		return -1;
	if (dir) {
		if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
			return strata_error_make(err, errno, "mkdir '/%s'", rel);
		return 0;
	}
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EEXIST)
		return strata_error_make(err, errno, "create '/%s'", rel);
	if (fd >= 0)
		close(fd);
	return 0;
}

int exec_path_ensure(int rootfd, int upperfd, int state_fd, const char *path, enum exec_target_kind kind,
		     struct strata_error **err)
{
	cleanup_free char *rest = xstrdup(path);
	cleanup_buf struct strata_buf res = STRATA_BUF_INIT; /* resolved so far, relative */
	cleanup_close int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return strata_error_make(err, errno, "dup");
	int links = 0;
	const char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		cleanup_free char *comp = xstrndup(p, n);
		p += n;
		while (*p == '/')
			p++;
		bool last = *p == '\0';
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *sl = strrchr(res.data, '/');
			strata_buf_truncate(&res, sl ? (size_t)(sl - res.data) : 0);
			int nfd = openat(rootfd, res.len ? res.data : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0)
				return strata_error_make(err, errno, "open '/%s'", res.data);
			close(cur);
			cur = nfd;
			continue;
		}
		cleanup_free char *rel = res.len ? xasprintf("%s/%s", res.data, comp) : xstrdup(comp);
		struct stat st;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return strata_error_make(err, errno, "stat '/%s'", rel);
			if (create_stub(cur, upperfd, state_fd, rel, comp, !last || kind == EXEC_TARGET_DIR, err) < 0)
				return -1;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
				return strata_error_make(err, errno, "stat '/%s'", rel);
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS)
				return strata_error_make(err, ELOOP, "resolve '%s'", path);
			char target[4096];
			ssize_t tl = readlinkat(cur, comp, target, sizeof(target) - 1);
			if (tl < 0)
				return strata_error_make(err, errno, "readlink '/%s'", rel);
			target[tl] = '\0';
			if (target[0] == '/') {
				strata_buf_reset(&res);
				int nfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
				if (nfd < 0)
					return strata_error_make(err, errno, "dup");
				close(cur);
				cur = nfd;
			}
			char *nrest = xasprintf("%s/%s", target, p);
			free(rest);
			rest = nrest;
			p = rest;
			continue;
		}
		if (last) {
			if (kind == EXEC_TARGET_DIR && !S_ISDIR(st.st_mode))
				return strata_error_make(err, ENOTDIR, "mount target '%s'", path);
			if (kind == EXEC_TARGET_FILE && S_ISDIR(st.st_mode))
				return strata_error_make(err, EISDIR, "mount target '%s'", path);
			int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return strata_error_make(err, errno, "open '/%s'", rel);
			return fd;
		}
		if (!S_ISDIR(st.st_mode))
			return strata_error_make(err, ENOTDIR, "resolve '%s': '/%s'", path, rel);
		int nfd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			return strata_error_make(err, errno, "open '/%s'", rel);
		close(cur);
		cur = nfd;
		if (res.len)
			strata_buf_addch(&res, '/');
		strata_buf_adds(&res, comp);
	}
	if (kind == EXEC_TARGET_FILE)
		return strata_error_make(err, EISDIR, "mount target '%s'", path);
	return STRATA_STEAL_FD(cur);
}
