/*
 * walk.c — deterministic directory listing and xattr listing, shared by
 * layer creation and tree hashing.
 */
#include "layer/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/xattr.h>

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void layer_names_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int layer_walk_names(int dirfd, struct strata_buf *path,
		     int (*fn)(void *ctx, int dirfd, const char *name, struct strata_error **err), void *ctx,
		     struct strata_error **err)
{
	char **names = NULL;
	int n = layer_dir_names(dirfd, path->len ? path->data : ".", &names, err);
	if (n < 0)
		return -1;
	size_t base = path->len;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		strata_buf_truncate(path, base);
		if (base)
			strata_buf_addch(path, '/');
		strata_buf_adds(path, names[i]);
		rc = fn(ctx, dirfd, names[i], err);
	}
	strata_buf_truncate(path, base);
	layer_names_free(names, (size_t)n);
	return rc;
}

int layer_dir_names(int dirfd, const char *what, char ***out, struct strata_error **err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open directory '%s'", what);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return strata_error_make(err, errno, "open directory '%s'", what);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno != 0) {
		int e = errno;
		closedir(d);
		layer_names_free(names, n);
		return strata_error_make(err, e, "read directory '%s'", what);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return (int)n;
}

int layer_xattr_names(const char *procpath, char ***out, struct strata_error **err)
{
	*out = NULL;
	ssize_t len = llistxattr(procpath, NULL, 0);
	if (len < 0) {
		if (errno == ENOTSUP || errno == EPERM)
			return 0;
		return strata_error_make(err, errno, "list xattrs");
	}
	if (len == 0)
		return 0;
	cleanup_free char *list = xmalloc((size_t)len + 1);
	len = llistxattr(procpath, list, (size_t)len);
	if (len < 0)
		return strata_error_make(err, errno, "list xattrs");
	char **names = NULL;
	size_t n = 0;
	for (ssize_t i = 0; i < len;) {
		const char *nm = list + i;
		size_t l = strnlen(nm, (size_t)(len - i));
		i += (ssize_t)l + 1;
		if (l == 0 || layer_xattr_is_overlay(nm))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrndup(nm, l);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return (int)n;
}
