/*
 * create.c — a reproducible pax tar of a directory tree, streamed into a
 * layer_writer. Depth-first, children sorted bytewise, parents first;
 * numeric owners only; whole-second mtimes (clamped on request); xattrs in
 * name order; hardlinks within the tree; sparse maps for sparse files;
 * overlayfs whiteouts and opaque dirs converted to OCI ones in upper mode.
 */
#include "layer/layer.h"
#include "layer/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define DATA_CAP (256 * 1024)

struct link_slot {
	dev_t dev;
	ino_t ino;
	char *path; /* NULL: empty slot */
};

struct create_ctx {
	const struct layer_create_opts *o;
	struct layer_writer *w;
	struct archive *a;
	struct strata_error *werr; /* error from the writer callback */
	struct strata_buf path;    /* current path inside the layer */
	unsigned char *data;
	struct link_slot *links;
	size_t nlinks, caplinks;
};

static la_ssize_t arch_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	struct create_ctx *c = ctx;
	if (layer_writer_write(c->w, p, n, &c->werr) < 0)
		return -1;
	return (la_ssize_t)n;
}

static int arch_fail(struct create_ctx *c, const char *what, struct strata_error **err)
{
	if (c->werr) {
		strata_error_pass(err, STRATA_STEAL(c->werr));
		return strata_error_wrap(err, "write layer entry '%s'", what);
	}
	return strata_error_make(err, 0, "write layer entry '%s': %s", what, archive_error_string(c->a));
}

/* archive_write_header, a non-UTF-8 name's switch to hdrcharset=BINARY being success. */
static int write_header(struct create_ctx *c, struct archive_entry *e)
{
	int r = archive_write_header(c->a, e);
	if (r == ARCHIVE_WARN && layer_tar_write_warning_ok(c->a))
		return ARCHIVE_OK;
	return r;
}

/* ---- hardlink table (dev, ino) -> first path */

static size_t link_hash(dev_t d, ino_t i, size_t cap)
{
	uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ull ^ (uint64_t)d;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* The path already written for this inode, or NULL after recording path. */
static const char *link_seen(struct create_ctx *c, dev_t d, ino_t i, const char *path)
{
	if (c->nlinks * 2 >= c->caplinks) {
		size_t ncap = c->caplinks ? c->caplinks * 2 : 64;
		struct link_slot *n = xcalloc(ncap, sizeof(*n));
		for (size_t k = 0; k < c->caplinks; k++) {
			if (!c->links[k].path)
				continue;
			size_t h = link_hash(c->links[k].dev, c->links[k].ino, ncap);
			while (n[h].path)
				h = (h + 1) & (ncap - 1);
			n[h] = c->links[k];
		}
		free(c->links);
		c->links = n;
		c->caplinks = ncap;
	}
	size_t h = link_hash(d, i, c->caplinks);
	while (c->links[h].path) {
		if (c->links[h].dev == d && c->links[h].ino == i)
			return c->links[h].path;
		h = (h + 1) & (c->caplinks - 1);
	}
	c->links[h] = (struct link_slot){ d, i, xstrdup(path) };
	c->nlinks++;
	return NULL;
}

/* ---- entries */

static time_t entry_mtime(const struct create_ctx *c, time_t t)
{
	if (c->o->mtime_clamp >= 0 && t > c->o->mtime_clamp)
		return (time_t)c->o->mtime_clamp;
	return t;
}

static int add_xattrs(struct create_ctx *c, struct archive_entry *e, int dirfd, const char *name,
		      struct strata_error **err)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/", dirfd);
	cleanup_free char *pp = xasprintf("%s%s", proc, name);
	char **names = NULL;
	int n = layer_xattr_names(pp, &names, err);
	if (n < 0)
		return strata_error_wrap(err, "'%s'", c->path.data);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		ssize_t len = lgetxattr(pp, names[i], NULL, 0);
		if (len < 0) {
			rc = strata_error_make(err, errno, "read xattr '%s' of '%s'", names[i], c->path.data);
			break;
		}
		cleanup_free char *v = xmalloc((size_t)len + 1);
		len = lgetxattr(pp, names[i], v, (size_t)len);
		if (len < 0) {
			rc = strata_error_make(err, errno, "read xattr '%s' of '%s'", names[i], c->path.data);
			break;
		}
		archive_entry_xattr_add_entry(e, names[i], v, (size_t)len);
	}
	layer_names_free(names, (size_t)n);
	return rc;
}

/* the real owner of an entry extracted where it could not be set (LAYER_OWNER_XATTR) */
static void owner_override(int dirfd, const char *name, struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return;
	char pp[PATH_MAX + 64];
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d/%s", dirfd, name);
	char v[64];
	ssize_t n = lgetxattr(pp, LAYER_OWNER_XATTR, v, sizeof(v) - 1);
	if (n <= 0)
		return;
	v[n] = '\0';
	unsigned long u, g;
	if (sscanf(v, "%lu:%lu", &u, &g) == 2) {
		st->st_uid = (uid_t)u;
		st->st_gid = (gid_t)g;
	}
}

static bool is_opaque(int dirfd, const char *name)
{
	char pp[PATH_MAX];
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d/%s", dirfd, name);
	char v[4];
	ssize_t n = lgetxattr(pp, "trusted.overlay.opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		return true;
	n = lgetxattr(pp, "user.overlay.opaque", v, sizeof(v));
	if (n == 1 && v[0] == 'y')
		return true;
	/* fuse-overlayfs marks an opaque directory with a .wh..wh..opq file and a .wh..opq whiteout in it */
	struct stat st;
	cleanup_free char *marker = xasprintf("%s/" WH_OPAQUE, pp);
	cleanup_free char *wh = xasprintf("%s/" FUSE_OPAQUE, pp);
	return (lstat(marker, &st) == 0 && S_ISREG(st.st_mode)) || (lstat(wh, &st) == 0 && layer_is_overlay_whiteout(&st));
}

/* A plain entry of the given type/perm/owner at the current path (whiteouts, parents). */
static int write_simple(struct create_ctx *c, const char *path, mode_t type, mode_t perm, time_t mtime,
			struct strata_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, entry_mtime(c, mtime), 0);
	int r = write_header(c, e);
	archive_entry_free(e);
	if (r < ARCHIVE_OK)
		return arch_fail(c, path, err);
	return 0;
}

static int add_sparse_map(struct create_ctx *c, struct archive_entry *e, int fd, off_t size)
{
	off_t pos = 0;
	bool any = false;
	while (pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			break; /* ENXIO: the rest is a hole */
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -1;
		if (h > size)
			h = size;
		archive_entry_sparse_add_entry(e, d, h - d);
		any = true;
		pos = h;
	}
	(void)c;
	if (!any) /* all hole: one empty data block at the end keeps the size */
		archive_entry_sparse_add_entry(e, size, 0);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	return 0;
}

/* Copy size bytes of fd into the archive (zeros if the file shrank meanwhile). */
static int write_data(struct create_ctx *c, int fd, off_t size, struct strata_error **err)
{
	off_t done = 0;
	while (done < size) {
		size_t want = (size_t)(size - done) < DATA_CAP ? (size_t)(size - done) : DATA_CAP;
		ssize_t r = strata_read_full(fd, c->data, want, c->path.data, err);
		if (r < 0)
			return -1;
		if ((size_t)r < want)
			memset(c->data + r, 0, want - (size_t)r);
		la_ssize_t wr = archive_write_data(c->a, c->data, want);
		if (wr < 0)
			return arch_fail(c, c->path.data, err);
		done += (off_t)want;
	}
	return 0;
}

static int walk_dir(struct create_ctx *c, int dirfd, struct strata_error **err);

/* One entry: dirfd/name, at layer path c->path. */
static int add_entry(struct create_ctx *c, int dirfd, const char *name, bool is_root, struct strata_error **err)
{
	const struct layer_create_opts *o = c->o;
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return strata_error_make(err, errno, "stat '%s'", c->path.data);
	if (o->overlay_upper && ((S_ISREG(st.st_mode) && !strcmp(name, WH_OPAQUE)) ||
				 (layer_is_overlay_whiteout(&st) && !strcmp(name, FUSE_OPAQUE))))
		return 0; /* fuse-overlayfs's opaque markers: the directory's entry says it (is_opaque) */

	if (o->overlay_upper && layer_is_overlay_whiteout(&st)) {
		/* path "dir/name" -> "dir/.wh.name" */
		const char *slash = strrchr(c->path.data, '/');
		size_t dl = slash ? (size_t)(slash - c->path.data) + 1 : 0;
		cleanup_free char *wh = xasprintf("%.*s" WH_PREFIX "%s", (int)dl, c->path.data, name);
		/* mtime 0: a deletion has no time of its own (the whiteout's is when the RUN
		 * deleted, or when a snapshotter recorded it): layers that delete are reproducible */
		return write_simple(c, wh, AE_IFREG, 0, 0, err);
	}

	int fd = -1;
	if (S_ISREG(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return strata_error_make(err, errno, "open '%s'", c->path.data);
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return strata_error_make(err, errno ? errno : EAGAIN, "'%s' changed while reading", c->path.data);
		}
	}
	cleanup_close int cfd = fd; /* closes fd on every return below */
	(void)cfd;

	if (layer_tar_name_check(c->path.data, NULL, err) < 0)
		return -1;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, c->path.data);
	archive_entry_set_mode(e, st.st_mode);
	if (o->mode >= 0 && !S_ISLNK(st.st_mode))
		archive_entry_set_perm(e, (mode_t)o->mode & 07777);
	owner_override(dirfd, name, &st);
	archive_entry_set_uid(e, o->uid >= 0 ? o->uid : st.st_uid);
	archive_entry_set_gid(e, o->gid >= 0 ? o->gid : st.st_gid);
	archive_entry_set_mtime(e, entry_mtime(c, st.st_mtime), 0);
	int rc = 0;
	bool data = false;

	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);
		if (n < 0) {
			rc = strata_error_make(err, errno, "readlink '%s'", c->path.data);
			goto out;
		}
		target[n] = '\0';
		if (layer_tar_name_check(c->path.data, target, err) < 0) {
			rc = -1;
			goto out;
		}
		archive_entry_set_symlink(e, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_rdevmajor(e, major(st.st_rdev));
		archive_entry_set_rdevminor(e, minor(st.st_rdev));
	} else if (S_ISREG(st.st_mode)) {
		const char *first = st.st_nlink > 1 ? link_seen(c, st.st_dev, st.st_ino, c->path.data) : NULL;
		if (first) {
			archive_entry_set_hardlink(e, first);
			archive_entry_set_size(e, 0);
		} else {
			archive_entry_set_size(e, st.st_size);
			if (st.st_size > 0 && (off_t)st.st_blocks * 512 < st.st_size &&
			    add_sparse_map(c, e, fd, st.st_size) < 0) {
				rc = strata_error_make(err, errno, "map holes of '%s'", c->path.data);
				goto out;
			}
			data = true;
		}
	} else if (!S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		/* sockets have no tar form; like tar(1), leave them out */
		goto out;
	}
	if (!is_root || o->prefix) {
		if (add_xattrs(c, e, dirfd, name, err) < 0) {
			rc = -1;
			goto out;
		}
		if (write_header(c, e) < ARCHIVE_OK) {
			rc = arch_fail(c, c->path.data, err);
			goto out;
		}
		if (data && write_data(c, fd, st.st_size, err) < 0) {
			rc = -1;
			goto out;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		archive_entry_free(e);
		e = NULL;
		if (o->overlay_upper && !is_root && is_opaque(dirfd, name)) {
			cleanup_free char *opq = xasprintf("%s/" WH_OPAQUE, c->path.data);
			if (write_simple(c, opq, AE_IFREG, 0, st.st_mtime, err) < 0)
				return -1;
		}
		cleanup_close int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return strata_error_make(err, errno, "open directory '%s'", c->path.data);
		return walk_dir(c, sub, err);
	}
out:
	archive_entry_free(e);
	return rc;
}

static int add_child(void *ctx, int dirfd, const char *name, struct strata_error **err)
{
	return add_entry(ctx, dirfd, name, false, err);
}

static int walk_dir(struct create_ctx *c, int dirfd, struct strata_error **err)
{
	return layer_walk_names(dirfd, &c->path, add_child, c, err);
}

/* "a/b/c" (no leading or trailing slash, no "." / ".." parts) or NULL when bad. */
static char *clean_prefix(const char *p)
{
	while (*p == '/')
		p++;
	char *s = xstrdup(p);
	size_t l = strlen(s);
	while (l > 0 && s[l - 1] == '/')
		s[--l] = '\0';
	if (l == 0) {
		free(s);
		return xstrdup("");
	}
	for (char *q = s; q;) {
		char *sl = strchr(q, '/');
		size_t cl = sl ? (size_t)(sl - q) : strlen(q);
		if (cl == 0 || (cl == 1 && q[0] == '.') || (cl == 2 && q[0] == '.' && q[1] == '.')) {
			free(s);
			return NULL;
		}
		q = sl ? sl + 1 : NULL;
	}
	return s;
}

int layer_create(const char *dir, const struct layer_create_opts *opts, struct layer_writer *w,
		 struct strata_error **err)
{
	struct layer_create_opts def = LAYER_CREATE_OPTS_INIT;
	if (!opts)
		opts = &def;
	cleanup_free char *prefix = NULL;
	if (opts->prefix) {
		prefix = clean_prefix(opts->prefix);
		if (!prefix)
			return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid layer path prefix '%s'", opts->prefix);
	}
	struct layer_create_opts o = *opts;
	o.prefix = prefix && *prefix ? prefix : NULL;

	cleanup_close int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return strata_error_make(err, errno, "open directory '%s'", dir);

	struct create_ctx c = { .o = &o, .w = w, .path = STRATA_BUF_INIT };
	c.data = xmalloc(DATA_CAP);
	c.a = archive_write_new();
	int rc = -1;
	if (archive_write_set_format_pax_restricted(c.a) != ARCHIVE_OK) {
		strata_error_make(err, 0, "start tar of '%s': %s", dir, archive_error_string(c.a));
		goto out;
	}
	if (layer_tar_names_setup(c.a, err) < 0)
		goto out;
	if (/* SCHILY.xattr only: what GNU tar and Go's archive/tar read, and no doubled data */
	    archive_write_set_format_option(c.a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_add_filter_none(c.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(c.a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(c.a, &c, NULL, arch_write, NULL, NULL) != ARCHIVE_OK) {
		strata_error_make(err, 0, "start tar of '%s': %s", dir, archive_error_string(c.a));
		goto out;
	}
	if (o.prefix) {
		/* parents of the prefix, then the prefix itself carries the root's metadata */
		time_t t = o.mtime_clamp >= 0 ? (time_t)o.mtime_clamp : 0;
		for (char *s = strchr(o.prefix, '/'); s; s = strchr(s + 1, '/')) {
			cleanup_free char *parent = xstrndup(o.prefix, (size_t)(s - o.prefix));
			if (write_simple(&c, parent, AE_IFDIR, 0755, t, err) < 0)
				goto out;
		}
		strata_buf_adds(&c.path, o.prefix);
		if (add_entry(&c, root, ".", true, err) < 0)
			goto out;
	} else {
		if (walk_dir(&c, root, err) < 0)
			goto out;
	}
	if (archive_write_close(c.a) != ARCHIVE_OK) {
		arch_fail(&c, "end of archive", err);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		strata_error_wrap(err, "create layer from '%s'", dir);
	archive_write_free(c.a);
	strata_error_free(c.werr);
	strata_buf_release(&c.path);
	for (size_t k = 0; k < c.caplinks; k++)
		free(c.links[k].path);
	free(c.links);
	free(c.data);
	return rc;
}

int layer_create_blob(const char *dir, const struct layer_create_opts *copts,
		      const struct layer_write_opts *wopts, const struct strata_sink *sink,
		      struct layer_result *res, struct strata_error **err)
{
	struct layer_writer *w = NULL;
	if (layer_writer_new(&w, wopts, sink, err) < 0)
		return -1;
	int rc = layer_create(dir, copts, w, err);
	if (rc == 0)
		rc = layer_writer_finish(w, res, err);
	layer_writer_free(w);
	return rc;
}
