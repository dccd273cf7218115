/*
 * apply.c — apply a layer blob onto a directory, hostile input contained.
 *
 * Every entry path is cleaned (absolute paths and ".." refused), its parent
 * is opened with openat2(RESOLVE_IN_ROOT) below the target (symlinks in the
 * middle of a path resolve as if the target were "/", so they can never lead
 * outside), and the last component is always created with *at calls that do
 * not follow symlinks (an existing entry is removed first). Hardlink targets
 * go through the same resolution and must already exist. See layer.h for the
 * all-or-nothing strategy.
 */
#include "layer/internal.h"
#include "layer/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define DEFAULT_MAX_SIZE (64ull << 30)

/* ---- a set of strings (paths this layer created) */

struct strset {
	char **slot;
	size_t n, cap;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void strset_add(struct strset *s, const char *k)
{
	if (s->n * 2 >= s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		char **ns = xcalloc(ncap, sizeof(*ns));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t h = str_hash(s->slot[i]) & (ncap - 1);
			while (ns[h])
				h = (h + 1) & (ncap - 1);
			ns[h] = s->slot[i];
		}
		free(s->slot);
		s->slot = ns;
		s->cap = ncap;
	}
	size_t h = str_hash(k) & (s->cap - 1);
	while (s->slot[h]) {
		if (strcmp(s->slot[h], k) == 0)
			return;
		h = (h + 1) & (s->cap - 1);
	}
	s->slot[h] = xstrdup(k);
	s->n++;
}

static bool strset_has(const struct strset *s, const char *k)
{
	if (!s->cap)
		return false;
	size_t h = str_hash(k) & (s->cap - 1);
	while (s->slot[h]) {
		if (strcmp(s->slot[h], k) == 0)
			return true;
		h = (h + 1) & (s->cap - 1);
	}
	return false;
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

/* ---- deferred directory metadata (children change mtimes; 0555 dirs block writes) */

struct dirmeta {
	char *path;
	mode_t perm;
	time_t mtime;
	long nsec;
};

struct apply_ctx {
	const struct layer_apply_opts *o;
	int root;
	struct archive *a;
	struct layer_reader *rd;
	struct strata_error *rerr; /* error from the read callback */
	struct strset created;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	bool is_root;
	mode_t root_perm; /* from a "./" entry, or 0 */
};

static la_ssize_t arch_read(struct archive *a, void *ctx, const void **buf)
{
	(void)a;
	struct apply_ctx *c = ctx;
	ssize_t n = layer_reader_read(c->rd, buf, &c->rerr);
	return n < 0 ? -1 : n;
}

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0, .resolve = resolve };
	int fd;
	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/*
 * Clean a path from the archive into "a/b/c": no leading "/" allowed, "."
 * and empty parts dropped, ".." refused. @return 0 (out may be "" for the
 * root) or -1.
 */
static int clean_path(const char *p, bool allow_abs, char **out, struct strata_error **err)
{
	if (!p || !*p)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "entry with an empty name");
	if (*p == '/' && !allow_abs)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': absolute path in layer", p);
	struct strata_buf b = STRATA_BUF_INIT;
	const char *q = p;
	while (*q) {
		while (*q == '/')
			q++;
		const char *e = strchrnul(q, '/');
		size_t l = (size_t)(e - q);
		if (l == 2 && q[0] == '.' && q[1] == '.') {
			strata_buf_release(&b);
			return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': path escapes the layer root ('..')", p);
		}
		if (l > 0 && !(l == 1 && q[0] == '.')) {
			if (b.len)
				strata_buf_addch(&b, '/');
			strata_buf_add(&b, q, l);
		}
		q = e;
	}
	*out = strata_buf_detach(&b, NULL);
	return 0;
}

/* Split "a/b/c" into parent "a/b" (or ".") and name "c" (both point into the copy in *buf). */
static void split(char *path, const char **parent, const char **name)
{
	char *s = strrchr(path, '/');
	if (s) {
		*s = '\0';
		*parent = path;
		*name = s + 1;
	} else {
		*parent = ".";
		*name = path;
	}
}

/*
 * Open the directory rel (resolved in root), creating missing components as
 * 0755 directories when create. @return an O_PATH fd, or -1.
 */
static int open_dir(struct apply_ctx *c, const char *rel, bool create, struct strata_error **err)
{
	int fd = sys_openat2(c->root, rel, O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
	if (fd >= 0 || errno != ENOENT || !create) {
		if (fd < 0)
			return strata_error_make(err, errno, "open directory '%s' in the target", rel);
		return fd;
	}
	/* create the missing components one by one, each resolved from the root again */
	cleanup_free char *copy = xstrdup(rel);
	for (char *s = copy;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		int d = sys_openat2(c->root, copy, O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
		if (d < 0 && errno == ENOENT) {
			const char *parent, *name;
			cleanup_free char *pc = xstrdup(copy);
			split(pc, &parent, &name);
			cleanup_close int pfd = sys_openat2(c->root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
			int mr = pfd < 0 ? -1 : mkdirat(pfd, name, 0755);
			if (mr < 0 && (pfd < 0 || errno != EEXIST))
				return strata_error_make(err, errno, "create directory '%s' in the target", copy);
			if (mr < 0) /* something is there yet does not resolve: a dangling symlink */
				return strata_error_makec(err, STRATA_E_INVALID, 0,
							  "'%s' is a symlink to a directory missing in the target", copy);
			strset_add(&c->created, copy);
			d = sys_openat2(c->root, copy, O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
		}
		if (d < 0)
			return strata_error_make(err, errno, "open directory '%s' in the target", copy);
		*s = saved;
		if (saved == '\0')
			return d;
		close(d);
	}
}

/* rm -rf of dirfd/name without following symlinks. */
static int remove_at(int dirfd, const char *name, struct strata_error **err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return strata_error_make(err, errno, "remove '%s'", name);
	cleanup_close int d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return strata_error_make(err, errno, "remove '%s'", name);
	char **names = NULL;
	int n = layer_dir_names(d, name, &names, err);
	if (n < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = remove_at(d, names[i], err);
	layer_names_free(names, (size_t)n);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = strata_error_make(err, errno, "remove directory '%s'", name);
	return rc;
}

/* Opaque directory: remove what lower layers put under rel (keep this layer's entries). */
static int clear_lower(struct apply_ctx *c, int dirfd, const char *rel, struct strata_error **err)
{
	char **names = NULL;
	int n = layer_dir_names(dirfd, rel, &names, err);
	if (n < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		cleanup_free char *p = *rel && strcmp(rel, ".") ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (!strset_has(&c->created, p)) {
			rc = remove_at(dirfd, names[i], err);
			continue;
		}
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			cleanup_close int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				rc = strata_error_make(err, errno, "open '%s'", p);
			else
				rc = clear_lower(c, sub, p, err);
		}
	}
	layer_names_free(names, (size_t)n);
	return rc;
}

static int set_xattrs(struct apply_ctx *c, struct archive_entry *e, int fd, const char *path,
		      struct strata_error **err)
{
	(void)c;
	const char *name;
	const void *val;
	size_t len;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if (layer_xattr_is_overlay(name))
			continue; /* never let a layer steer overlayfs */
		if (fsetxattr(fd, name, val, len, 0) < 0) {
			if (errno == ENOTSUP)
				continue;
			return strata_error_make(err, errno, "'%s': set xattr '%s'", path, name);
		}
	}
	return 0;
}

static int write_file(struct apply_ctx *c, int fd, const char *path, struct strata_error **err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(c->a, &buf, &size, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (size > 0) {
			ssize_t w = pwrite(fd, p, size, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return strata_error_make(err, errno, "write '%s'", path);
			}
			p += w;
			off += w;
			size -= (size_t)w;
		}
	}
	if (r != ARCHIVE_EOF) {
		if (c->rerr) {
			strata_error_pass(err, STRATA_STEAL(c->rerr));
			return strata_error_wrap(err, "'%s'", path);
		}
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': %s", path, archive_error_string(c->a));
	}
	return 0;
}

/* chown through the caller's sandbox (layer_fs_ops), else fchownat */
static int do_chown(struct apply_ctx *c, int dirfd, const char *name, struct archive_entry *e, int flags,
		    const char *path, struct strata_error **err)
{
	if (c->o->no_chown)
		return 0;
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	int r = c->o->fs && c->o->fs->chown ? c->o->fs->chown(dirfd, name, uid, gid, flags)
					    : fchownat(dirfd, name, uid, gid, flags);
	if (r < 0)
		return strata_error_make(err, errno, "chown '%s'", path);
	return 0;
}

static const char *opaque_xattr(struct apply_ctx *c)
{
	return c->o->fs && c->o->fs->opaque_xattr ? c->o->fs->opaque_xattr : "trusted.overlay.opaque";
}

static int own_and_time(struct apply_ctx *c, struct archive_entry *e, int fd, const char *path,
			struct strata_error **err)
{
	if (do_chown(c, fd, "", e, AT_EMPTY_PATH, path, err) < 0)
		return -1;
	if (fchmod(fd, archive_entry_perm(e)) < 0)
		return strata_error_make(err, errno, "chmod '%s'", path);
	if (set_xattrs(c, e, fd, path, err) < 0)
		return -1;
	struct timespec ts[2] = { { 0, UTIME_OMIT },
				  { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
	if (futimens(fd, ts) < 0)
		return strata_error_make(err, errno, "set times of '%s'", path);
	return 0;
}

static int do_whiteout(struct apply_ctx *c, int pfd, const char *parent, const char *name, struct strata_error **err)
{
	if (strcmp(name, WH_OPAQUE) == 0) {
		if (c->o->overlay_whiteouts) {
			cleanup_close int d = sys_openat2(c->root, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
			if (d < 0 || fsetxattr(d, opaque_xattr(c), "y", 1, 0) < 0)
				return strata_error_make(err, errno, "mark '%s' opaque", parent);
			return 0;
		}
		return clear_lower(c, pfd, parent, err);
	}
	const char *victim = name + strlen(WH_PREFIX);
	if (!*victim || !strcmp(victim, ".") || !strcmp(victim, "..") || strchr(victim, '/'))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s/%s': invalid whiteout", parent, name);
	if (remove_at(pfd, victim, err) < 0)
		return -1;
	if (c->o->overlay_whiteouts && mknodat(pfd, victim, S_IFCHR | 0, makedev(0, 0)) < 0)
		return strata_error_make(err, errno, "create overlay whiteout '%s/%s'", parent, victim);
	return 0;
}

static int apply_entry(struct apply_ctx *c, struct archive_entry *e, struct strata_error **err)
{
	cleanup_free char *path = NULL;
	if (clean_path(archive_entry_pathname(e), false, &path, err) < 0)
		return -1;
	mode_t type = archive_entry_filetype(e);
	if (!*path) {
		/* "./": the root itself; only its permissions are taken */
		if (type == AE_IFDIR)
			c->root_perm = archive_entry_perm(e) | 0100000;
		return 0;
	}
	cleanup_free char *copy = xstrdup(path);
	const char *parent, *name;
	split(copy, &parent, &name);
	cleanup_close int pfd = open_dir(c, parent, true, err);
	if (pfd < 0)
		return -1;

	if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return do_whiteout(c, pfd, parent, name, err);

	const char *hl = archive_entry_hardlink(e);
	struct stat st;
	bool exists = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (type == AE_IFDIR && !hl) {
		if (exists && !S_ISDIR(st.st_mode)) {
			if (remove_at(pfd, name, err) < 0)
				return -1;
			exists = false;
		}
		if (!exists && mkdirat(pfd, name, 0700) < 0)
			return strata_error_make(err, errno, "create directory '%s'", path);
		strset_add(&c->created, path);
		cleanup_close int d = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0)
			return strata_error_make(err, errno, "open directory '%s'", path);
		if (do_chown(c, d, "", e, AT_EMPTY_PATH, path, err) < 0)
			return -1;
		if (set_xattrs(c, e, d, path, err) < 0)
			return -1;
		if (c->ndirs == c->capdirs) {
			c->capdirs = c->capdirs ? c->capdirs * 2 : 64;
			c->dirs = xrealloc(c->dirs, c->capdirs * sizeof(*c->dirs));
		}
		c->dirs[c->ndirs++] = (struct dirmeta){ xstrdup(path), archive_entry_perm(e),
							archive_entry_mtime(e), archive_entry_mtime_nsec(e) };
		return 0;
	}
	if (exists && remove_at(pfd, name, err) < 0)
		return -1;
	strset_add(&c->created, path);

	if (hl) {
		cleanup_free char *target = NULL;
		if (clean_path(hl, false, &target, err) < 0)
			return strata_error_wrap(err, "hardlink '%s'", path);
		cleanup_free char *tcopy = xstrdup(target);
		const char *tparent, *tname;
		split(tcopy, &tparent, &tname);
		cleanup_close int tfd = open_dir(c, tparent, false, err);
		struct stat tst;
		if (tfd < 0 || fstatat(tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
			strata_error_clear(err);
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "hardlink '%s': target '%s' does not exist in the layer", path, target);
		}
		if (S_ISDIR(tst.st_mode))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "hardlink '%s': target '%s' is a directory", path, target);
		if (linkat(tfd, tname, pfd, name, 0) < 0)
			return strata_error_make(err, errno, "hardlink '%s' to '%s'", path, target);
		return 0;
	}

	switch (type) {
	case AE_IFREG: {
		cleanup_close int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return strata_error_make(err, errno, "create '%s'", path);
		if (write_file(c, fd, path, err) < 0)
			return -1;
		if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
			return strata_error_make(err, errno, "truncate '%s'", path);
		return own_and_time(c, e, fd, path, err);
	}
	case AE_IFLNK: {
		const char *t = archive_entry_symlink(e);
		if (!t)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "symlink '%s' has no target", path);
		if (symlinkat(t, pfd, name) < 0)
			return strata_error_make(err, errno, "create symlink '%s'", path);
		if (do_chown(c, pfd, name, e, AT_SYMLINK_NOFOLLOW, path, err) < 0)
			return -1;
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
		if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "set times of '%s'", path);
		return 0;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: {
		if (type != AE_IFIFO) {
			if (c->o->devices == LAYER_DEVICES_SKIP)
				return 0;
			if (c->o->devices == LAYER_DEVICES_REJECT)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': device nodes are not allowed", path);
			if (!c->is_root)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': device nodes need root", path);
		}
		dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
		int made = type != AE_IFIFO && c->o->fs && c->o->fs->mknod ? c->o->fs->mknod(pfd, name, type | 0600, dev)
									     : mknodat(pfd, name, type | 0600, type == AE_IFIFO ? 0 : dev);
		if (made < 0)
			return strata_error_make(err, errno, "create node '%s'", path);
		if (made == 1)
			return 0; /* skipped by the sandbox */
		cleanup_close int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return strata_error_make(err, errno, "open '%s'", path);
		/* fchown/fchmod/fsetxattr refuse O_PATH fds: go through /proc (no symlink: we just made it) */
		char pp[64];
		snprintf(pp, sizeof(pp), "/proc/self/fd/%d", fd);
		cleanup_close int rfd = -1;
		if (do_chown(c, fd, "", e, AT_EMPTY_PATH, path, err) < 0)
			return -1;
		if (chmod(pp, archive_entry_perm(e)) < 0)
			return strata_error_make(err, errno, "chmod '%s'", path);
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
		if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "set times of '%s'", path);
		(void)rfd;
		return 0;
	}
	default:
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s': unsupported entry type 0%o", path, type);
	}
}

static int finish_dirs(struct apply_ctx *c, struct strata_error **err)
{
	/* deepest first is not needed for futimens; mode last so 0555 does not block the rest */
	for (size_t i = c->ndirs; i-- > 0;) {
		struct dirmeta *d = &c->dirs[i];
		cleanup_close int fd = sys_openat2(c->root, d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
						   IN_ROOT | RESOLVE_NO_SYMLINKS);
		if (fd < 0) {
			if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
				continue; /* removed or replaced by a later entry */
			return strata_error_make(err, errno, "open directory '%s'", d->path);
		}
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { d->mtime, d->nsec } };
		if (fchmod(fd, d->perm) < 0 || futimens(fd, ts) < 0)
			return strata_error_make(err, errno, "set metadata of '%s'", d->path);
	}
	return 0;
}

static bool digest_eq(const char *want, const char *got)
{
	return strcmp(want, got) == 0;
}

/* Extract into the directory open at rootfd. */
static int extract(struct apply_ctx *c, layer_source_fn fn, void *ctx, struct layer_result *res,
		   struct strata_error **err)
{
	const struct layer_apply_opts *o = c->o;
	enum oci_compression comp = o->media_type ? oci_mt_layer_compression(o->media_type) : OCI_COMPRESSION_NONE;
	if (comp == OCI_COMPRESSION_UNKNOWN || (o->media_type && !oci_mt_is_layer(o->media_type)))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "'%s' is not a layer media type", o->media_type);
	if (layer_reader_new(&c->rd, fn, ctx, comp, o->max_size ? o->max_size : DEFAULT_MAX_SIZE, err) < 0)
		return -1;
	/* the diff_id is checked in the algorithm it is given in (a sha512 one too) */
	if (o->diff_id && !strncmp(o->diff_id, "sha512:", 7))
		layer_reader_diff_alg(c->rd, STRATA_HASH_SHA512);
	c->a = archive_read_new();
	archive_read_support_format_tar(c->a);
	archive_read_support_filter_none(c->a);
	if (archive_read_open(c->a, c, NULL, arch_read, NULL) != ARCHIVE_OK)
		goto archive_error;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(c->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			goto archive_error;
		if (apply_entry(c, e, err) < 0)
			return -1;
	}
	if (layer_reader_drain(c->rd, err) < 0)
		return -1;
	struct layer_result got;
	layer_reader_result(c->rd, &got);
	if (o->media_type)
		got.media_type = o->media_type;
	if (res)
		*res = got;
	if (o->digest && !digest_eq(o->digest, got.digest))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "layer digest mismatch: expected %s, got %s",
					  o->digest, got.digest);
	if (o->diff_id && !digest_eq(o->diff_id, got.diff_id))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "layer diff_id mismatch: expected %s, got %s",
					  o->diff_id, got.diff_id);
	if (finish_dirs(c, err) < 0)
		return -1;
	if (c->root_perm && fchmod(c->root, c->root_perm & 07777) < 0)
		return strata_error_make(err, errno, "chmod the target");
	return 0;
archive_error:
	if (c->rerr) {
		return strata_error_pass(err, STRATA_STEAL(c->rerr));
	}
	return strata_error_makec(err, STRATA_E_INVALID, 0, "invalid tar: %s", archive_error_string(c->a));
}

static void ctx_release(struct apply_ctx *c)
{
	if (c->a)
		archive_read_free(c->a);
	layer_reader_free(c->rd);
	strata_error_free(c->rerr);
	strset_free(&c->created);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
}

struct fd_src {
	int fd;
};

static ssize_t fd_source(void *ctx, void *buf, size_t cap, struct strata_error **err)
{
	struct fd_src *s = ctx;
	for (;;) {
		ssize_t n = read(s->fd, buf, cap);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return strata_error_make(err, errno, "read");
	}
}

/* the sha256 of fd's content from offset start ("sha256:<hex>") */
static int hash_fd_from(int fd, off_t start, char got[LAYER_DIGEST_MAX], struct strata_error **err)
{
	if (lseek(fd, start, SEEK_SET) < 0)
		return strata_error_make(err, errno, "rewind layer blob");
	struct strata_hash h;
	strata_hash_init(&h, STRATA_HASH_SHA256);
	cleanup_free char *buf = xmalloc(1 << 20);
	ssize_t n;
	while ((n = strata_read_full(fd, buf, 1 << 20, "layer blob", err)) > 0)
		strata_hash_update(&h, buf, (size_t)n);
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&h, hex);
	if (n < 0)
		return -1;
	snprintf(got, LAYER_DIGEST_MAX, "sha256:%.64s", hex);
	return 0;
}

static int apply_common(layer_source_fn fn, void *ctx, int prefd, const char *target,
			const struct layer_apply_opts *opts, struct layer_result *res, struct strata_error **err)
{
	struct layer_apply_opts def = { 0 };
	if (!opts)
		opts = &def;
	struct stat st;
	bool in_place = stat(target, &st) == 0;
	if (in_place && !S_ISDIR(st.st_mode))
		return strata_error_make(err, ENOTDIR, "apply layer to '%s'", target);

	/* in place: verify the blob's digest before touching anything, when the fd can rewind */
	off_t start = prefd >= 0 && opts->digest ? lseek(prefd, 0, SEEK_CUR) : -1;
	if (in_place && start >= 0) {
		char got[LAYER_DIGEST_MAX];
		if (hash_fd_from(prefd, start, got, err) < 0)
			return strata_error_wrap(err, "apply layer to '%s'", target);
		if (!digest_eq(opts->digest, got))
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "apply layer to '%s': layer digest mismatch: expected %s, got %s",
						  target, opts->digest, got);
		if (lseek(prefd, start, SEEK_SET) < 0)
			return strata_error_make(err, errno, "rewind layer blob");
	}

	cleanup_free char *staging = NULL;
	const char *dir = target;
	if (!in_place) {
		cleanup_free char *t = xstrdup(target);
		size_t l = strlen(t);
		while (l > 1 && t[l - 1] == '/')
			t[--l] = '\0';
		char *slash = strrchr(t, '/');
		cleanup_free char *parent = slash ? xstrndup(t, slash == t ? 1 : (size_t)(slash - t)) : xstrdup(".");
		cleanup_free char *prefix = xasprintf(".%s.tmp-", slash ? slash + 1 : t);
		if (strata_mkdtemp(parent, prefix, &staging, err) < 0)
			return strata_error_wrap(err, "apply layer to '%s'", target);
		dir = staging;
	}

	struct apply_ctx c = { .o = opts, .is_root = geteuid() == 0 };
	c.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;
	if (c.root < 0) {
		strata_error_make(err, errno, "open '%s'", dir);
	} else if (extract(&c, fn, ctx, res, err) == 0) {
		rc = 0;
		if (!in_place && !c.root_perm && fchmod(c.root, 0755) < 0)
			rc = strata_error_make(err, errno, "chmod '%s'", dir);
	}
	if (c.root >= 0)
		close(c.root);
	ctx_release(&c);
	if (rc == 0 && staging && rename(staging, target) < 0)
		rc = strata_error_make(err, errno, "rename '%s' to '%s'", staging, target);
	int en = err ? strata_error_errnum(*err) : 0;
	if (rc < 0 && start >= 0 && !in_place && err && strata_error_code(*err) != STRATA_E_INTERRUPTED &&
	    en != ENOSPC && en != EDQUOT && en != EACCES && en != EPERM && en != EROFS) {
		/* a corrupt blob usually fails as a bad tar or gzip stream first:
		 * name the cause, not the symptom (not worth a re-read when the
		 * failure was the target's: a full disk, permissions, Ctrl-C) */
		char got[LAYER_DIGEST_MAX];
		if (hash_fd_from(prefd, start, got, NULL) == 0 && !digest_eq(opts->digest, got)) {
			strata_error_free(*err);
			*err = NULL;
			strata_error_makec(err, STRATA_E_INVALID, 0, "layer digest mismatch: expected %s, got %s",
					   opts->digest, got);
		}
	}
	if (rc < 0) {
		if (staging)
			strata_rm_rf(staging, NULL);
		if (in_place)
			return strata_error_wrap(err, "apply layer to '%s' (partially applied: discard it)", target);
		return strata_error_wrap(err, "apply layer to '%s'", target);
	}
	return 0;
}

int layer_apply_source(layer_source_fn fn, void *ctx, const char *target, const struct layer_apply_opts *opts,
		       struct layer_result *res, struct strata_error **err)
{
	return apply_common(fn, ctx, -1, target, opts, res, err);
}

int layer_apply_fd(int fd, const char *target, const struct layer_apply_opts *opts, struct layer_result *res,
		   struct strata_error **err)
{
	struct fd_src s = { fd };
	return apply_common(fd_source, &s, fd, target, opts, res, err);
}
