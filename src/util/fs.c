#include "util/fs.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int strata_write_full(int fd, const void *p, size_t n, const char *what, struct strata_error **err)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_make(err, errno, "write '%s'", what);
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t strata_read_full(int fd, void *p, size_t n, const char *what, struct strata_error **err)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_make(err, errno, "read '%s'", what);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int strata_read_file(const char *path, struct strata_buf *out, size_t max, struct strata_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", path);
	char tmp[65536];
	size_t total = 0;
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return strata_error_make(err, errno, "read '%s'", path);
		}
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > max || strata_buf_add(out, tmp, (size_t)r) < 0)
			return strata_error_make(err, 0, "read '%s': file is larger than %zu bytes", path, max);
	}
	return 0;
}

int strata_fsync_dir(const char *path, struct strata_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open directory '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL)
		return strata_error_make(err, errno, "fsync directory '%s'", path);
	return 0;
}

static char *dir_of(const char *path)
{
	cleanup_free char *copy = xstrdup(path);
	return xstrdup(dirname(copy));
}

int strata_atomic_open(struct strata_atomic *a, const char *path, mode_t mode, struct strata_error **err)
{
	cleanup_free char *copy = xstrdup(path);
	cleanup_free char *dir = dir_of(path);
	const char *base = basename(copy);
	a->fd = -1;
	a->path = NULL;
	a->tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, base);
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		int e = errno;
		free(a->tmp);
		a->tmp = NULL;
		return strata_error_make(err, e, "create temporary file for '%s'", path);
	}
	if (fchmod(a->fd, mode) < 0) {
		int e = errno;
		strata_atomic_abort(a);
		return strata_error_make(err, e, "chmod temporary file for '%s'", path);
	}
	a->path = xstrdup(path);
	return 0;
}

int strata_atomic_commit(struct strata_atomic *a, struct strata_error **err)
{
	int r = 0;
	if (fsync(a->fd) < 0) {
		r = strata_error_make(err, errno, "fsync '%s'", a->tmp);
		goto fail;
	}
	if (close(a->fd) < 0) {
		a->fd = -1;
		r = strata_error_make(err, errno, "close '%s'", a->tmp);
		goto fail;
	}
	a->fd = -1;
	if (rename(a->tmp, a->path) < 0) {
		r = strata_error_make(err, errno, "rename '%s' to '%s'", a->tmp, a->path);
		goto fail;
	}
	free(a->tmp);
	a->tmp = NULL;
	{
		cleanup_free char *dir = dir_of(a->path);
		r = strata_fsync_dir(dir, err);
	}
	free(a->path);
	a->path = NULL;
	return r;
fail:
	strata_atomic_abort(a);
	return r;
}

void strata_atomic_abort(struct strata_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp) {
		unlink(a->tmp);
		free(a->tmp);
		a->tmp = NULL;
	}
	free(a->path);
	a->path = NULL;
}

int strata_atomic_write(const char *path, const void *data, size_t len, mode_t mode,
			struct strata_error **err)
{
	cleanup_atomic struct strata_atomic a = STRATA_ATOMIC_INIT;
	if (strata_atomic_open(&a, path, mode, err) < 0)
		return -1;
	if (strata_write_full(a.fd, data, len, a.tmp, err) < 0)
		return -1;
	return strata_atomic_commit(&a, err);
}

int strata_mkdir_p(const char *path, mode_t mode, struct strata_error **err)
{
	cleanup_free char *p = xstrdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return strata_error_make(err, errno, "mkdir '%s'", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0) {
		if (errno != EEXIST)
			return strata_error_make(err, errno, "mkdir '%s'", p);
		struct stat st;
		if (stat(p, &st) < 0)
			return strata_error_make(err, errno, "stat '%s'", p);
		if (!S_ISDIR(st.st_mode))
			return strata_error_make(err, ENOTDIR, "mkdir '%s'", p);
	}
	return 0;
}

int strata_dir_make_private(const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || !(st.st_mode & 077))
		return 0;
	return fchmod(fd, st.st_mode & 07700) == 0 ? 1 : 0;
}

static int rm_rf_at(int parent, const char *name, const char *display, struct strata_error **err)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return strata_error_make(err, errno, "remove '%s'", display);
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", display);
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return strata_error_make(err, e, "opendir '%s'", display);
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *sub = xasprintf("%s/%s", display, de->d_name);
		if (rm_rf_at(dirfd(d), de->d_name, sub, err) < 0) {
			r = -1;
			break;
		}
	}
	closedir(d);
	if (r < 0)
		return r;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return strata_error_make(err, errno, "remove directory '%s'", display);
	return 0;
}

int strata_rm_rf(const char *path, struct strata_error **err)
{
	return rm_rf_at(AT_FDCWD, path, path, err);
}

const char *strata_path_next(const char **p, size_t *len)
{
	const char *c = *p;
	while (*c == '/')
		c++;
	if (!*c)
		return NULL;
	const char *e = strchr(c, '/');
	*len = e ? (size_t)(e - c) : strlen(c);
	*p = c + *len;
	return c;
}

bool strata_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

char *strata_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (la == 1 && a[0] == '/')
		return xasprintf("/%s", b);
	return xasprintf("%.*s/%s", (int)la, a, b);
}

int strata_lock_file(const char *path, bool exclusive, struct strata_error **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	/* readers of a read-only store (a mounted cache) still take their shared lock */
	if (fd < 0 && !exclusive && (errno == EROFS || errno == EACCES))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open lock '%s'", path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return strata_error_make(err, e, "lock '%s'", path);
	}
	return fd;
}

int strata_mkdtemp(const char *parent, const char *prefix, char **out, struct strata_error **err)
{
	char *t = xasprintf("%s/%sXXXXXX", parent, prefix);
	if (!mkdtemp(t)) {
		int e = errno;
		free(t);
		return strata_error_make(err, e, "create temporary directory in '%s'", parent);
	}
	*out = t;
	return 0;
}
