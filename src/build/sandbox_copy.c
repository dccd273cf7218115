/*
 * sandbox_copy.c — the copy snapshotter (sandbox.h), for where neither the
 * kernel's overlayfs nor fuse-overlayfs can be mounted.
 *
 * Mount: the lowers are merged, bottom first, into a fresh directory
 * <work>/root (whiteouts delete, opaque directories drop what is below
 * them; owners, modes, xattrs, times and FIFOs/devices copied; hardlinks
 * between lower files are copied as separate files, since overlayfs breaks
 * them too on the first write). Every entry of the result is listed with its
 * inode number in <work>/root.index together with T, the newest ctime of the
 * copy; the clock is then let pass T, so any later change of an entry (its
 * content, owner, mode, xattrs, links, a rename) gives it a ctime > T. The
 * directory is bind-mounted on the target.
 *
 * Commit: the copy is compared against the index and the changes are written
 * into the upper dir in overlayfs' own format, so the layer module makes the
 * same tar as from a kernel overlay's upper: a changed or new entry is copied
 * (with its parent directories, hardlinks among copied entries kept), a
 * directory that replaces an entry of the lowers is opaque, a removed entry
 * whose parent survives becomes a 0/0 character device.
 */
#include "build/sandbox.h"
#include "layer/layer.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define INDEX_MAGIC "strata-copy-index 1"

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool overlay_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

static bool is_opaque(const char *path)
{
	char v[4];
	static const char *const names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(names); i++) {
		ssize_t n = lgetxattr(path, names[i], v, sizeof(v));
		if (n == 1 && v[0] == 'y')
			return true;
	}
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the names in a directory, sorted (NULL-terminated; *n set) */
static char **list_dir(const char *path, size_t *n, struct strata_error **err)
{
	DIR *d = opendir(path);
	*n = 0;
	if (!d) {
		strata_error_make(err, errno, "open directory '%s'", path);
		return NULL;
	}
	size_t cap = 16;
	char **v = xcalloc(cap, sizeof(char *));
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n + 1 >= cap) {
			cap *= 2;
			v = xreallocarray(v, cap, sizeof(char *));
		}
		v[(*n)++] = xstrdup(de->d_name);
		errno = 0;
	}
	int e = errno;
	closedir(d);
	v[*n] = NULL;
	if (e) {
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		strata_error_make(err, e, "read directory '%s'", path);
		return NULL;
	}
	qsort(v, *n, sizeof(char *), cmp_name);
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* replace dst's xattrs by src's (overlay's own left out) */
static int copy_xattrs(const char *src, const char *dst, bool clear, struct strata_error **err)
{
	char names[65536], val[65536];
	if (clear) {
		ssize_t n = llistxattr(dst, names, sizeof(names));
		for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
			lremovexattr(dst, names + i);
	}
	ssize_t n = llistxattr(src, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP ? 0 : strata_error_make(err, errno, "list xattrs of '%s'", src);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		if (overlay_xattr(name))
			continue;
		ssize_t vl = lgetxattr(src, name, val, sizeof(val));
		if (vl < 0)
			return strata_error_make(err, errno, "read xattr %s of '%s'", name, src);
		if (lsetxattr(dst, name, val, (size_t)vl, 0) < 0)
			return strata_error_make(err, errno, "set xattr %s on '%s'", name, dst);
	}
	return 0;
}

/* owner, mode, xattrs and times of st (from src) onto dst */
static int copy_meta(const char *src, const struct stat *st, const char *dst, bool clear_xattrs,
		     struct strata_error **err)
{
	if (fchownat(AT_FDCWD, dst, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
		/* an id outside a single-id map: root here, the owner xattr (copied below) says who */
		if (errno != EINVAL || !sandbox_rootless() ||
		    fchownat(AT_FDCWD, dst, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
			return strata_error_make(err, errno, "chown '%s' to %lu:%lu", dst, (unsigned long)st->st_uid,
						 (unsigned long)st->st_gid);
	}
	if (!S_ISLNK(st->st_mode) && fchmodat(AT_FDCWD, dst, st->st_mode & 07777, 0) < 0)
		return strata_error_make(err, errno, "chmod '%s'", dst);
	if (copy_xattrs(src, dst, clear_xattrs, err) < 0)
		return -1;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "set times of '%s'", dst);
	return 0;
}

/* a regular file: data, then owner, mode, xattrs and times through the open fd */
static int copy_file(const char *src, const struct stat *st, const char *dst, struct strata_error **err)
{
	cleanup_close int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return strata_error_make(err, errno, "open '%s'", src);
	cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return strata_error_make(err, errno, "create '%s'", dst);
	bool cfr = true;
	for (;;) {
		ssize_t n;
		if (cfr) {
			n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				cfr = false;
				continue;
			}
			if (n < 0)
				return strata_error_make(err, errno, "copy '%s' to '%s'", src, dst);
		} else {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return strata_error_make(err, errno, "read '%s'", src);
			}
			if (n > 0 && strata_write_full(out, buf, (size_t)n, dst, err) < 0)
				return -1;
		}
		if (n == 0)
			break;
	}
	struct stat ot;
	if (fstat(out, &ot) < 0)
		return strata_error_make(err, errno, "stat '%s'", dst);
	if ((ot.st_uid != st->st_uid || ot.st_gid != st->st_gid) && fchown(out, st->st_uid, st->st_gid) < 0) {
		/* an id outside a single-id map: root here, the owner xattr (copied below) says who */
		if (errno != EINVAL || !sandbox_rootless() || fchown(out, 0, 0) < 0)
			return strata_error_make(err, errno, "chown '%s' to %lu:%lu", dst, (unsigned long)st->st_uid,
						 (unsigned long)st->st_gid);
	}
	/* after the chown (which clears set-id bits) */
	if ((ot.st_mode & 07777) != (st->st_mode & 07777) && fchmod(out, st->st_mode & 07777) < 0)
		return strata_error_make(err, errno, "chmod '%s'", dst);
	if (copy_xattrs(src, dst, false, err) < 0)
		return -1;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (futimens(out, ts) < 0)
		return strata_error_make(err, errno, "set times of '%s'", dst);
	return 0;
}

/* one non-directory entry, src to the (absent) dst */
static int copy_entry(const char *src, const struct stat *st, const char *dst, struct strata_error **err)
{
	if (S_ISREG(st->st_mode)) {
		return copy_file(src, st, dst, err);
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlink(src, target, PATH_MAX);
		if (n < 0)
			return strata_error_make(err, errno, "readlink '%s'", src);
		target[n] = '\0';
		if (symlink(target, dst) < 0)
			return strata_error_make(err, errno, "symlink '%s'", dst);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		int r = sandbox_layer_ops()->mknod(AT_FDCWD, dst, st->st_mode & (S_IFMT | 07777), st->st_rdev);
		if (r == 1)
			return 0; /* a user namespace cannot make device nodes: left out, as extraction does */
		if (r < 0)
			return strata_error_make(err, errno, "mknod '%s'", dst);
	} else if (mknod(dst, st->st_mode & (S_IFMT | 07777), 0) < 0) {
		return strata_error_make(err, errno, "mknod '%s'", dst);
	}
	return copy_meta(src, st, dst, false, err);
}

static int remove_path(const char *p, struct strata_error **err)
{
	struct stat st;
	if (lstat(p, &st) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", p);
	if (S_ISDIR(st.st_mode))
		return strata_rm_rf(p, err);
	if (unlink(p) < 0)
		return strata_error_make(err, errno, "remove '%s'", p);
	return 0;
}

/* ---- mount: merge one lower onto dst ---- */

/* fresh: dst was made empty by this pass (nothing there to replace or delete) */
static int merge_dir(const char *src, const char *dst, bool fresh, struct strata_error **err)
{
	size_t n;
	char **names = list_dir(src, &n, err);
	if (!names)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		cleanup_free char *s = xasprintf("%s/%s", src, names[i]);
		cleanup_free char *d = xasprintf("%s/%s", dst, names[i]);
		struct stat st, dt;
		if (lstat(s, &st) < 0) {
			rc = strata_error_make(err, errno, "stat '%s'", s);
			break;
		}
		if (is_whiteout(&st)) {
			if (!fresh)
				rc = remove_path(d, err);
			continue;
		}
		bool have = !fresh && lstat(d, &dt) == 0;
		if (S_ISDIR(st.st_mode)) {
			if (have && (!S_ISDIR(dt.st_mode) || is_opaque(s))) {
				if ((rc = remove_path(d, err)) < 0)
					break;
				have = false;
			}
			if (!have && mkdir(d, 0700) < 0) {
				rc = strata_error_make(err, errno, "mkdir '%s'", d);
				break;
			}
			if ((rc = merge_dir(s, d, !have, err)) == 0)
				rc = copy_meta(s, &st, d, have, err);
			continue;
		}
		if (have && (rc = remove_path(d, err)) < 0)
			break;
		rc = copy_entry(s, &st, d, err);
	}
	free_list(names, n);
	return rc;
}

/* ---- the index ---- */

struct index_ent {
	char *path; /* relative, no leading "/" */
	ino_t ino;
	bool dir;
};

struct index {
	struct index_ent *v;
	size_t n, cap;
	struct timespec t; /* the newest ctime of the copy */
};

static void index_free(struct index *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].path);
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static void index_add(struct index *x, char *path, ino_t ino, bool dir)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	x->v[x->n++] = (struct index_ent){ path, ino, dir };
}

static bool ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static int index_walk(struct index *x, const char *root, const char *rel, struct strata_error **err)
{
	cleanup_free char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	size_t n;
	char **names = list_dir(dir, &n, err);
	if (!names)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		cleanup_free char *p = xasprintf("%s/%s", root, r);
		struct stat st;
		if (lstat(p, &st) < 0) {
			free(r);
			rc = strata_error_make(err, errno, "stat '%s'", p);
			break;
		}
		if (ts_after(&st.st_ctim, &x->t))
			x->t = st.st_ctim;
		index_add(x, r, st.st_ino, S_ISDIR(st.st_mode));
		if (S_ISDIR(st.st_mode))
			rc = index_walk(x, root, r, err);
	}
	free_list(names, n);
	return rc;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct index_ent *)a)->path, ((const struct index_ent *)b)->path);
}

static const struct index_ent *index_find(const struct index *x, const char *path)
{
	struct index_ent key = { (char *)path, 0, false };
	if (!x->n)
		return NULL;
	return bsearch(&key, x->v, x->n, sizeof(*x->v), cmp_ent);
}

/* "<magic> <sec> <nsec>\n" then "<ino> <d|f> <path>\0" per entry */
static int index_write(const struct index *x, const char *path, struct strata_error **err)
{
	struct strata_buf b = STRATA_BUF_INIT;
	char head[96];
	snprintf(head, sizeof(head), "%s %lld %ld\n", INDEX_MAGIC, (long long)x->t.tv_sec, (long)x->t.tv_nsec);
	strata_buf_adds(&b, head);
	for (size_t i = 0; i < x->n; i++) {
		char pre[48];
		snprintf(pre, sizeof(pre), "%" PRIu64 " %c ", (uint64_t)x->v[i].ino, x->v[i].dir ? 'd' : 'f');
		strata_buf_adds(&b, pre);
		strata_buf_add(&b, x->v[i].path, strlen(x->v[i].path) + 1);
	}
	int rc = strata_atomic_write(path, b.data, b.len, 0600, err);
	strata_buf_release(&b);
	return rc;
}

static int index_read(struct index *x, const char *path, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, (size_t)1 << 31, err) < 0)
		return -1;
	long long sec;
	long nsec;
	int off = 0;
	if (sscanf(b.data, INDEX_MAGIC " %lld %ld\n%n", &sec, &nsec, &off) != 2 || off <= 0)
		return strata_error_make(err, EINVAL, "%s: line 1: not a copy snapshotter index", path);
	x->t.tv_sec = (time_t)sec;
	x->t.tv_nsec = nsec;
	size_t rec = 0;
	for (size_t p = (size_t)off; p < b.len; rec++) {
		const char *s = b.data + p;
		const char *z = memchr(s, '\0', b.len - p);
		char *end;
		errno = 0;
		unsigned long long ino = strtoull(s, &end, 10);
		if (!z || errno || end == s || end[0] != ' ' || (end[1] != 'd' && end[1] != 'f') || end[2] != ' ' ||
		    end + 3 >= z)
			return strata_error_make(err, EINVAL, "%s: entry %zu (byte %zu): malformed", path, rec + 1, p);
		index_add(x, xstrdup(end + 3), (ino_t)ino, end[1] == 'd');
		p = (size_t)(z - b.data) + 1;
	}
	return 0;
}

/* ---- mount ---- */

static char *copy_root(const char *work)
{
	return xasprintf("%s/root", work);
}

static char *copy_index(const char *work)
{
	return xasprintf("%s/root.index", work);
}

int sandbox_copy_materialize(const char *const *lowers, size_t n, const char *work, bool writable,
			     struct strata_error **err)
{
	cleanup_free char *root = copy_root(work), *ipath = copy_index(work);
	if (remove_path(root, err) < 0)
		return -1;
	if (mkdir(root, 0755) < 0)
		return strata_error_make(err, errno, "mkdir '%s'", root);
	for (size_t i = n; i-- > 0;) {
		struct stat st;
		if (lstat(lowers[i], &st) < 0)
			return strata_error_make(err, errno, "lower dir '%s'", lowers[i]);
		if (merge_dir(lowers[i], root, i == n - 1, err) < 0 || copy_meta(lowers[i], &st, root, true, err) < 0)
			return strata_error_wrap(err, "copy snapshotter: copying lower dir '%s'", lowers[i]);
	}
	if (!writable)
		return 0;
	struct index x = { 0 };
	struct stat rst;
	if (lstat(root, &rst) < 0) {
		index_free(&x);
		return strata_error_make(err, errno, "stat '%s'", root);
	}
	x.t = rst.st_ctim;
	int rc = index_walk(&x, root, "", err);
	if (rc == 0) {
		if (x.n) /* an empty tree has no array */
			qsort(x.v, x.n, sizeof(*x.v), cmp_ent);
		rc = index_write(&x, ipath, err);
	}
	/* let the clock pass the copy's newest ctime: every later change is newer */
	for (int k = 0; rc == 0 && k < 2000; k++) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (ts_after(&now, &x.t))
			break;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	index_free(&x);
	return rc;
}

/* ---- commit ---- */

struct commit {
	const char *root, *upper;
	struct index x;
	/* hardlinks among copied entries: inode -> upper path */
	struct { ino_t ino; char *path; } *links;
	size_t nlinks;
};

/*
 * Made after the copy (birth time past T): a directory removed and made again
 * can get the inode number of the old one back. Where the filesystem keeps no
 * birth time such a directory counts as changed, not replaced: its removed
 * children get whiteouts instead of one opaque marker (the same image).
 */
static bool born_after(const char *path, const struct timespec *t)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) < 0 || !(sx.stx_mask & STATX_BTIME))
		return false;
	struct timespec b = { (time_t)sx.stx_btime.tv_sec, (long)sx.stx_btime.tv_nsec };
	return ts_after(&b, t);
}

static bool unchanged(const struct commit *c, const struct index_ent *e, const struct stat *st)
{
	return e && e->ino == st->st_ino && e->dir == S_ISDIR(st->st_mode) && !ts_after(&st->st_ctim, &c->x.t);
}

/* the parents of rel in the upper, made with the copy's metadata when missing */
static int ensure_parents(struct commit *c, const char *rel, struct strata_error **err)
{
	cleanup_free char *p = xstrdup(rel);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		cleanup_free char *u = xasprintf("%s/%s", c->upper, p);
		cleanup_free char *r = xasprintf("%s/%s", c->root, p);
		struct stat st;
		if (lstat(u, &st) < 0) {
			if (lstat(r, &st) < 0)
				return strata_error_make(err, errno, "stat '%s'", r);
			if (mkdir(u, 0700) < 0)
				return strata_error_make(err, errno, "mkdir '%s'", u);
			if (copy_meta(r, &st, u, false, err) < 0)
				return -1;
		}
		*s = '/';
	}
	return 0;
}

static int emit(struct commit *c, const char *rel, const struct stat *st, bool opaque, struct strata_error **err)
{
	cleanup_free char *r = xasprintf("%s/%s", c->root, rel);
	cleanup_free char *u = xasprintf("%s/%s", c->upper, rel);
	if (ensure_parents(c, rel, err) < 0)
		return -1;
	struct stat ut;
	bool have = lstat(u, &ut) == 0;
	if (S_ISDIR(st->st_mode)) {
		if (have && !S_ISDIR(ut.st_mode) && remove_path(u, err) < 0)
			return -1;
		if ((!have || !S_ISDIR(ut.st_mode)) && mkdir(u, 0700) < 0)
			return strata_error_make(err, errno, "mkdir '%s'", u);
		if (copy_meta(r, st, u, have, err) < 0)
			return -1;
		if (opaque && lsetxattr(u, sandbox_opaque_xattr(), "y", 1, 0) < 0)
			return strata_error_make(err, errno, "set %s on '%s'", sandbox_opaque_xattr(), u);
		return 0;
	}
	if (have && remove_path(u, err) < 0)
		return -1;
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		for (size_t i = 0; i < c->nlinks; i++)
			if (c->links[i].ino == st->st_ino) {
				if (link(c->links[i].path, u) < 0)
					return strata_error_make(err, errno, "link '%s' to '%s'", u, c->links[i].path);
				return 0;
			}
		c->links = xreallocarray(c->links, c->nlinks + 1, sizeof(*c->links));
		c->links[c->nlinks].ino = st->st_ino;
		c->links[c->nlinks++].path = xstrdup(u);
	}
	return copy_entry(r, st, u, err);
}

/* walk the copy's directory rel; force: every entry is new (its directory is) */
static int commit_dir(struct commit *c, const char *rel, bool force, struct strata_error **err)
{
	cleanup_free char *dir = *rel ? xasprintf("%s/%s", c->root, rel) : xstrdup(c->root);
	size_t n;
	char **names = list_dir(dir, &n, err);
	if (!names)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		cleanup_free char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		cleanup_free char *p = xasprintf("%s/%s", c->root, r);
		struct stat st;
		if (lstat(p, &st) < 0) {
			rc = strata_error_make(err, errno, "stat '%s'", p);
			break;
		}
		const struct index_ent *e = force ? NULL : index_find(&c->x, r);
		if (!S_ISDIR(st.st_mode)) {
			if (!unchanged(c, e, &st))
				rc = emit(c, r, &st, false, err);
			continue;
		}
		bool same = e && e->dir && e->ino == st.st_ino && !born_after(p, &c->x.t);
		/* a directory where the lowers had something else (or a removed one): opaque, as overlayfs makes it */
		bool replaced = !force && !same && index_find(&c->x, r);
		if (!unchanged(c, e, &st) && (rc = emit(c, r, &st, replaced, err)) < 0)
			break;
		if ((rc = commit_dir(c, r, !same, err)) < 0)
			break;
		/* the times last: the children written into it changed them */
		cleanup_free char *u = xasprintf("%s/%s", c->upper, r);
		struct stat ut;
		if (lstat(u, &ut) == 0 && S_ISDIR(ut.st_mode)) {
			struct timespec ts[2] = { st.st_atim, st.st_mtim };
			if (utimensat(AT_FDCWD, u, ts, AT_SYMLINK_NOFOLLOW) < 0)
				rc = strata_error_make(err, errno, "set times of '%s'", u);
		}
	}
	free_list(names, n);
	return rc;
}

/* a whiteout for every entry of the lowers that is gone while its directory stayed */
static int commit_removals(struct commit *c, struct strata_error **err)
{
	for (size_t i = 0; i < c->x.n; i++) {
		const char *rel = c->x.v[i].path;
		cleanup_free char *p = xasprintf("%s/%s", c->root, rel);
		struct stat st;
		if (lstat(p, &st) == 0)
			continue;
		if (errno != ENOENT && errno != ENOTDIR) /* ENOTDIR: a directory on the way became a file */
			return strata_error_make(err, errno, "stat '%s'", p);
		const char *sl = strrchr(rel, '/');
		if (sl) {
			cleanup_free char *parent = xstrndup(rel, (size_t)(sl - rel));
			cleanup_free char *pp = xasprintf("%s/%s", c->root, parent);
			const struct index_ent *pe = index_find(&c->x, parent);
			struct stat pst;
			if (lstat(pp, &pst) < 0 || !S_ISDIR(pst.st_mode) || !pe || pe->ino != pst.st_ino ||
			    born_after(pp, &c->x.t))
				continue; /* the directory itself went or was replaced: covered there */
		}
		cleanup_free char *u = xasprintf("%s/%s", c->upper, rel);
		if (ensure_parents(c, rel, err) < 0)
			return -1;
		if (mknod(u, S_IFCHR | 0, makedev(0, 0)) < 0)
			return strata_error_make(err, errno, "make the whiteout '%s'", u);
	}
	return 0;
}

int sandbox_overlay_commit(const char *upper, const char *work, struct strata_error **err)
{
	if (!upper || !work || sandbox_overlay_driver(NULL) != SANDBOX_OVERLAY_COPY)
		return 0;
	return sandbox_copy_commit(upper, work, err);
}

int sandbox_copy_commit(const char *upper, const char *work, struct strata_error **err)
{
	cleanup_free char *root = copy_root(work), *ipath = copy_index(work);
	if (!strata_path_exists(ipath))
		return 0;
	struct commit c = { .root = root, .upper = upper };
	int rc = index_read(&c.x, ipath, err);
	if (rc == 0)
		rc = commit_removals(&c, err);
	if (rc == 0)
		rc = commit_dir(&c, "", false, err);
	for (size_t i = 0; i < c.nlinks; i++)
		free(c.links[i].path);
	free(c.links);
	index_free(&c.x);
	if (rc < 0)
		return strata_error_wrap(err, "copy snapshotter: the changes of '%s'", root);
	if (strata_rm_rf(root, err) < 0)
		return -1;
	if (unlink(ipath) < 0)
		return strata_error_make(err, errno, "remove '%s'", ipath);
	return 0;
}
