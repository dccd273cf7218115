/*
 * inroot.c — a path inside a tree (an image or stage view, the context)
 * resolved the way the tree itself sees it: openat2(RESOLVE_IN_ROOT), so a
 * symlink in the tree (/x -> /etc, or ../../..) stays inside it, never leads
 * to the host. The result is the host path the kernel reached, checked to
 * lie under the tree's real root.
 */
#include "build/build_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int engine_path_in_root(const char *root, const char *rel, char **out, struct strata_error **err)
{
	*out = NULL;
	cleanup_free char *real = realpath(root, NULL);
	if (!real)
		return strata_error_make(err, errno, "resolve '%s'", root);
	cleanup_close int rfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return strata_error_make(err, errno, "open '%s'", real);
	const char *p = rel && *rel ? rel : "/";
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd;
	do
		fd = (int)syscall(SYS_openat2, rfd, p, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0)
		return strata_error_makec(err, errno == ENOENT ? STRATA_E_NOTFOUND : 0, errno, "source '%s'", p);
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	int en = errno;
	close(fd);
	if (n < 0)
		return strata_error_make(err, en, "resolve '%s'", p);
	buf[n] = '\0';
	size_t rl = strlen(real);
	if (!strcmp(real, "/"))
		rl = 0;
	if (strncmp(buf, real, rl) || (buf[rl] != '/' && buf[rl] != '\0'))
		return strata_error_makec(err, STRATA_E_CONFIG, 0, "source '%s' resolves outside its root", p);
	*out = xstrdup(buf);
	return 0;
}
