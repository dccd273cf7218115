/*
 * blobstore_fs.c — the blob store on a local filesystem:
 *
 *   ROOT/blobs/<alg>/<2 hex>/<hex>   every blob, once per digest
 *   ROOT/uploads/<id>                an upload's bytes (size = offset)
 *   ROOT/trash/<alg>-<hex>           blobs a running gc moved aside
 *
 * Publication is rename(2) into blobs/ plus an fsync of the directory, so a
 * blob file is never half-written; reads are fds (sendfile). The server
 * never writes into blobs/ except by rename.
 */
#include "registry/server/blobstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/oci.h"

struct fs_store {
	struct reg_blobstore base;
	char *blobs, *uploads, *trash;
};

struct reg_blob_writer {
	int fd;
	uint64_t offset;
	char *path;
};

static struct fs_store *FS(struct reg_blobstore *bs)
{
	return (struct fs_store *)bs;
}

static char *blob_path(struct fs_store *s, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%s/%.*s/%.2s/%s", s->blobs, (int)(colon - digest), digest, colon + 1, colon + 1);
}

static char *trash_path(struct fs_store *s, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%s/%.*s-%s", s->trash, (int)(colon - digest), digest, colon + 1);
}

static char *upload_path(struct fs_store *s, const char *id)
{
	return strata_path_join(s->uploads, id);
}

static void fs_free(struct reg_blobstore *bs)
{
	struct fs_store *s = FS(bs);
	free(s->blobs);
	free(s->uploads);
	free(s->trash);
	free(s);
}

static int fs_stat(struct reg_blobstore *bs, const char *digest, uint64_t *size, struct strata_error **err)
{
	cleanup_free char *p = blob_path(FS(bs), digest);
	struct stat st;
	if (stat(p, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : strata_error_make(err, errno, "stat '%s'", p);
	*size = (uint64_t)st.st_size;
	return 1;
}

/* open path for reading [off, off + len). @return 1, 0 absent, -1 */
static int open_file(const char *path, uint64_t off, uint64_t len, struct reg_blob_reader *out,
		     struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : strata_error_make(err, errno, "open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return strata_error_make(err, e, "stat '%s'", path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (off > size)
		off = size;
	if (len > size - off)
		len = size - off;
	*out = (struct reg_blob_reader){ .fd = fd, .off = off, .len = len, .size = size };
	return 1;
}

static int fs_open(struct reg_blobstore *bs, const char *digest, uint64_t off, uint64_t len,
		   struct reg_blob_reader *out, struct strata_error **err)
{
	cleanup_free char *p = blob_path(FS(bs), digest);
	return open_file(p, off, len, out, err);
}

static int list_dir(const char *dir, const char *prefix, reg_blob_list_fn fn, void *ud,
		    struct strata_error **err)
{
	cleanup_closedir DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		cleanup_free char *p = strata_path_join(dir, e->d_name);
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		cleanup_free char *name = xasprintf("%s%s", prefix, e->d_name);
		int rc = fn(ud, name, (uint64_t)st.st_size, (int64_t)st.st_mtime, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int fs_list(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err)
{
	struct fs_store *s = FS(bs);
	static const char *algs[] = { "sha256", "sha512" };
	for (size_t a = 0; a < 2; a++) {
		cleanup_free char *adir = strata_path_join(s->blobs, algs[a]);
		cleanup_closedir DIR *d = opendir(adir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			cleanup_free char *sub = strata_path_join(adir, e->d_name);
			cleanup_free char *prefix = xasprintf("%s:", algs[a]);
			int rc = list_dir(sub, prefix, fn, ud, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int fs_upload_create(struct reg_blobstore *bs, const char *id, char **state, struct strata_error **err)
{
	cleanup_free char *p = upload_path(FS(bs), id);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return strata_error_make(err, errno, "create '%s'", p);
	close(fd);
	*state = xstrdup("");
	return 0;
}

static int fs_upload_stat(struct reg_blobstore *bs, const char *id, const char *state, uint64_t *size,
			  int64_t *mtime, struct strata_error **err)
{
	(void)state;
	cleanup_free char *p = upload_path(FS(bs), id);
	struct stat st;
	if (stat(p, &st) < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "stat '%s'", p);
	if (size)
		*size = (uint64_t)st.st_size;
	if (mtime)
		*mtime = (int64_t)st.st_mtime;
	return 1;
}

static int fs_upload_open(struct reg_blobstore *bs, const char *id, const char *state,
			  struct reg_blob_reader *out, struct strata_error **err)
{
	(void)state;
	cleanup_free char *p = upload_path(FS(bs), id);
	return open_file(p, 0, UINT64_MAX, out, err);
}

static int fs_chunk_begin(struct reg_blobstore *bs, const char *id, const char *state, uint64_t offset,
			  struct reg_blob_writer **w, struct strata_error **err)
{
	(void)state;
	char *p = upload_path(FS(bs), id);
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		int r = e == ENOENT ? 0 : strata_error_make(err, e, "open '%s'", p);
		free(p);
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != offset) {
		int e = errno;
		int r = strata_error_make(err, (uint64_t)st.st_size != offset ? EAGAIN : e,
					  "upload '%s' is not at offset %llu", p, (unsigned long long)offset);
		close(fd);
		free(p);
		return r;
	}
	struct reg_blob_writer *x = xcalloc(1, sizeof(*x));
	x->fd = fd;
	x->offset = offset;
	x->path = p;
	*w = x;
	return 1;
}

static int fs_chunk_write(struct reg_blob_writer *w, const void *data, size_t n, struct strata_error **err)
{
	return strata_write_full(w->fd, data, n, w->path, err);
}

static int fs_chunk_end(struct reg_blob_writer *w, bool keep, struct strata_error **err)
{
	int rc = 0;
	if (!keep && ftruncate(w->fd, (off_t)w->offset) < 0)
		rc = strata_error_make(err, errno, "truncate '%s'", w->path);
	close(w->fd);
	free(w->path);
	free(w);
	return rc;
}

static int fs_upload_seal(struct reg_blobstore *bs, const char *id, const char *state,
			  struct strata_error **err)
{
	(void)state;
	cleanup_free char *p = upload_path(FS(bs), id);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return strata_error_make(err, errno, "fsync '%s'", p);
	return 0;
}

static int fs_publish(struct reg_blobstore *bs, const char *id, const char *state, const char *digest,
		      uint64_t size, struct strata_error **err)
{
	(void)state;
	struct fs_store *s = FS(bs);
	cleanup_free char *tmp = upload_path(s, id);
	cleanup_free char *path = blob_path(s, digest);
	cleanup_free char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	if (strata_mkdir_p(dir, 0755, err) < 0)
		return -1;
	struct stat st;
	if (stat(path, &st) == 0 && (uint64_t)st.st_size == size) {
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0)
		return strata_error_make(err, errno, "rename '%s' to '%s'", tmp, path);
	return strata_fsync_dir(dir, err);
}

static int fs_upload_delete(struct reg_blobstore *bs, const char *id, const char *state,
			    struct strata_error **err)
{
	(void)state;
	cleanup_free char *p = upload_path(FS(bs), id);
	if (unlink(p) < 0 && errno != ENOENT)
		return strata_error_make(err, errno, "remove '%s'", p);
	return 0;
}

static int fs_upload_list(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err)
{
	return list_dir(FS(bs)->uploads, "", fn, ud, err);
}

static int fs_trash(struct reg_blobstore *bs, const char *digest, struct strata_error **err)
{
	struct fs_store *s = FS(bs);
	cleanup_free char *path = blob_path(s, digest);
	cleanup_free char *t = trash_path(s, digest);
	if (strata_mkdir_p(s->trash, 0755, err) < 0)
		return -1;
	if (rename(path, t) < 0 && errno != ENOENT)
		return strata_error_make(err, errno, "move '%s' to the trash", path);
	return 0;
}

static int fs_trash_recover(struct reg_blobstore *bs,
			    int (*keep)(void *ud, const char *digest, struct strata_error **err), void *ud,
			    struct strata_error **err)
{
	struct fs_store *s = FS(bs);
	cleanup_closedir DIR *d = opendir(s->trash);
	if (!d)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", s->trash);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *digest = xstrdup(e->d_name);
		char *dash = strchr(digest, '-');
		cleanup_free char *path = strata_path_join(s->trash, e->d_name);
		if (dash)
			*dash = ':';
		int k = dash && oci_digest_valid(digest) ? keep(ud, digest, err) : 0;
		if (k < 0)
			return -1;
		if (!k) {
			unlink(path);
			continue;
		}
		cleanup_free char *dst = blob_path(s, digest);
		cleanup_free char *dir = xstrndup(dst, (size_t)(strrchr(dst, '/') - dst));
		if (strata_mkdir_p(dir, 0755, err) < 0)
			return -1;
		if (rename(path, dst) < 0)
			return strata_error_make(err, errno, "restore '%s'", dst);
	}
	return 0;
}

static void fs_trash_empty(struct reg_blobstore *bs)
{
	struct fs_store *s = FS(bs);
	cleanup_closedir DIR *d = opendir(s->trash);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *p = strata_path_join(s->trash, e->d_name);
		unlink(p);
	}
}

static const struct reg_blobstore_ops fs_ops = {
	.name = "filesystem",
	.free = fs_free,
	.stat = fs_stat,
	.open = fs_open,
	.list = fs_list,
	.upload_create = fs_upload_create,
	.upload_stat = fs_upload_stat,
	.upload_open = fs_upload_open,
	.chunk_begin = fs_chunk_begin,
	.chunk_write = fs_chunk_write,
	.chunk_end = fs_chunk_end,
	.upload_seal = fs_upload_seal,
	.publish = fs_publish,
	.upload_delete = fs_upload_delete,
	.upload_list = fs_upload_list,
	.trash = fs_trash,
	.trash_recover = fs_trash_recover,
	.trash_empty = fs_trash_empty,
};

int reg_blobstore_fs_open(const char *root, bool create, struct reg_blobstore **out,
			  struct strata_error **err)
{
	struct fs_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &fs_ops;
	s->blobs = strata_path_join(root, "blobs");
	s->uploads = strata_path_join(root, "uploads");
	s->trash = strata_path_join(root, "trash");
	if (create && (strata_mkdir_p(s->blobs, 0755, err) < 0 || strata_mkdir_p(s->uploads, 0755, err) < 0)) {
		fs_free(&s->base);
		return -1;
	}
	*out = &s->base;
	return 0;
}

/* ---- readers (any driver) ---- */

ssize_t reg_blob_reader_pread(struct reg_blob_reader *rd, uint64_t pos, char *buf, size_t max)
{
	if (rd->fd >= 0) {
		ssize_t n;
		do
			n = pread(rd->fd, buf, max, (off_t)pos);
		while (n < 0 && errno == EINTR);
		return n;
	}
	return rd->read(rd->ctx, pos, buf, max);
}

void reg_blob_reader_close(struct reg_blob_reader *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	rd->fd = -1;
	if (rd->close)
		rd->close(rd->ctx);
	rd->close = NULL;
	rd->ctx = NULL;
}

int reg_blob_reader_hash(struct reg_blob_reader *rd, enum strata_hash_alg alg, uint64_t len,
			 struct strata_hash *h, struct strata_error **err)
{
	static const size_t bufsz = 1 << 20;
	cleanup_free char *buf = xmalloc(bufsz);
	strata_hash_init(h, alg);
	uint64_t off = 0;
	while (off < len) {
		size_t want = len - off < bufsz ? (size_t)(len - off) : bufsz;
		ssize_t n = reg_blob_reader_pread(rd, off, buf, want);
		if (n <= 0) {
			strata_hash_release(h);
			return strata_error_make(err, n < 0 ? errno : EIO, "read upload");
		}
		strata_hash_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}
