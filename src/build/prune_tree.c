/*
 * prune_tree.c — disk usage and removal of build state trees (snapshots,
 * cache mounts) that hold whatever a RUN left: root-owned files, read-only
 * directories, overlay whiteouts (0:0 character devices), sockets, symlinks
 * pointing anywhere. Both walks go through directory fds with O_NOFOLLOW
 * (a symlink is an entry, never followed) and stay on the tree's file
 * system: a mount point inside is refused, never descended into.
 */
#include "build/build_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TREE_DEPTH_MAX 512

/*
 * Call fn(ctx, dfd, name, sub, err) for each entry of the directory open as
 * dfd (taken over and closed) but "." and "..", where sub is display/name.
 * Stops at the first failure; a failed read is one. @return 0 or -1.
 */
static int each_entry(int dfd, const char *display,
		      int (*fn)(void *ctx, int dfd, const char *name, const char *sub, struct strata_error **err),
		      void *ctx, struct strata_error **err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return strata_error_make(err, e, "open '%s'", display);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cleanup_free char *sub = xasprintf("%s/%s", display, de->d_name);
		r = fn(ctx, dirfd(d), de->d_name, sub, err);
	}
	if (r == 0 && errno)
		r = strata_error_make(err, errno, "read directory '%s'", display);
	closedir(d);
	return r;
}

struct usage {
	dev_t dev;
	json_t *seen; /* "dev:ino" of multiply linked files, counted once */
	int64_t bytes;
	int depth;
};

static void usage_add(struct usage *u, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		char k[64];
		snprintf(k, sizeof(k), "%llu:%llu", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
		if (json_object_get(u->seen, k))
			return;
		json_object_set_new(u->seen, k, json_true());
	}
	u->bytes += (int64_t)st->st_blocks * 512;
}

static int usage_entry(void *ctx, int dfd, const char *name, const char *sub, struct strata_error **err)
{
	struct usage *u = ctx;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", sub);
	usage_add(u, &st);
	if (!S_ISDIR(st.st_mode) || st.st_dev != u->dev)
		return 0;
	if (u->depth >= TREE_DEPTH_MAX)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': nested too deep", sub);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", sub);
	u->depth++;
	int r = each_entry(fd, sub, usage_entry, u, err);
	u->depth--;
	return r;
}

int prune_tree_usage(const char *path, int64_t *bytes, struct strata_error **err)
{
	struct stat st;
	*bytes = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", path);
	struct usage u = { .dev = st.st_dev, .seen = json_object() };
	usage_add(&u, &st);
	int r = 0;
	if (S_ISDIR(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = fd < 0 ? strata_error_make(err, errno, "open '%s'", path) : each_entry(fd, path, usage_entry, &u, err);
	}
	json_decref(u.seen);
	*bytes = u.bytes;
	return r;
}

struct removal {
	dev_t dev;
	int depth;
};

static int remove_at(void *ctx, int parent, const char *name, const char *display, struct strata_error **err)
{
	struct removal *rm = ctx;
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", display);
	if (!S_ISDIR(st.st_mode)) {
		/* files, symlinks (the link itself), devices, whiteouts, sockets, fifos */
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return strata_error_make(err, errno, "remove '%s'", display);
		return 0;
	}
	if (st.st_dev != rm->dev)
		return strata_error_make(err, EBUSY, "refusing to remove '%s': another file system is mounted there",
					 display);
	if (rm->depth > TREE_DEPTH_MAX)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': nested too deep", display);
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "open '%s'", display);
	/* a read-only directory (chmod 0555 by a RUN) must be writable to be emptied
	 * when we lack CAP_DAC_OVERRIDE */
	if ((st.st_mode & 0700) != 0700 && fchmod(fd, (st.st_mode & 07777) | 0700) < 0 && errno != EPERM) {
		int e = errno;
		close(fd);
		return strata_error_make(err, e, "chmod '%s'", display);
	}
	rm->depth++;
	int r = each_entry(fd, display, remove_at, rm, err);
	rm->depth--;
	if (r < 0)
		return r;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return strata_error_make(err, errno, "remove directory '%s'", display);
	return 0;
}

int prune_tree_remove(const char *path, struct strata_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", path);
	struct removal rm = { .dev = st.st_dev };
	return remove_at(&rm, AT_FDCWD, path, path, err);
}
