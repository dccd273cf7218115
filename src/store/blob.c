#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

char *store_blob_path(const struct store *s, const struct oci_digest *d)
{
	return xasprintf("%s/blobs/%s/%s", s->root, strata_hash_alg_name(d->alg), d->hex);
}

bool store_blob_exists(const struct store *s, const struct oci_digest *d)
{
	cleanup_free char *p = store_blob_path(s, d);
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int store_blob_stat(const struct store *s, const struct oci_digest *d, int64_t *size,
		    struct strata_error **err)
{
	cleanup_free char *p = store_blob_path(s, d);
	struct stat st;
	if (stat(p, &st) < 0) {
		if (errno == ENOENT)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "blob '%s' not found in the store",
						  d->str);
		return strata_error_make(err, errno, "stat '%s'", p);
	}
	*size = st.st_size;
	return 0;
}

int store_blob_open(const struct store *s, const struct oci_digest *d, int64_t *size,
		    struct strata_error **err)
{
	cleanup_free char *p = store_blob_path(s, d);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "blob '%s' not found in the store",
						  d->str);
		return strata_error_make(err, errno, "open '%s'", p);
	}
	if (size) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return strata_error_make(err, e, "stat '%s'", p);
		}
		*size = st.st_size;
	}
	return fd;
}

static int corrupt(const struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	cleanup_free char *p = store_blob_path(s, d);
	strata_error_set_code(err, STRATA_E_INVALID);
	return strata_error_wrap(err, "blob '%s' is corrupt", p);
}

int store_blob_read(const struct store *s, const struct oci_digest *d, size_t max, struct strata_buf *out,
		    struct strata_error **err)
{
	int64_t size = 0;
	cleanup_close int fd = store_blob_open(s, d, &size, err);
	if (fd < 0)
		return -1;
	if ((uint64_t)size > max)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "blob '%s' is larger than %zu bytes", d->str,
					  max);
	size_t start = out->len;
	if (strata_buf_grow(out, (size_t)size + 1) < 0)
		return strata_error_make(err, E2BIG, "read blob '%s'", d->str);
	ssize_t r = strata_read_full(fd, out->data + start, (size_t)size + 1, d->str, err);
	if (r < 0)
		return -1;
	if (r > size)
		return strata_error_make(err, 0, "blob '%s' grew while being read", d->str);
	out->len = start + (size_t)r;
	out->data[out->len] = '\0';
	struct oci_verifier v;
	oci_verifier_init(&v, d);
	oci_verifier_update(&v, out->data + start, (size_t)r);
	if (oci_verifier_final(&v, err) < 0) {
		strata_buf_truncate(out, start);
		return corrupt(s, d, err);
	}
	return 0;
}

int store_blob_verify(const struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	cleanup_close int fd = store_blob_open(s, d, NULL, err);
	if (fd < 0)
		return -1;
	struct oci_verifier v;
	oci_verifier_init(&v, d);
	char buf[1 << 16];
	for (;;) {
		ssize_t r = strata_read_full(fd, buf, sizeof(buf), d->str, err);
		if (r < 0) {
			oci_verifier_release(&v);
			return -1;
		}
		if (r == 0)
			break;
		oci_verifier_update(&v, buf, (size_t)r);
	}
	if (oci_verifier_final(&v, err) < 0)
		return corrupt(s, d, err);
	return 0;
}

int store_blob_drop_corrupt(const struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	cleanup_free char *p = store_blob_path(s, d);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : strata_error_make(err, errno, "open '%s'", p);
	struct stat st, now;
	if (fstat(fd, &st) < 0)
		return strata_error_make(err, errno, "stat '%s'", p);
	struct oci_verifier v;
	oci_verifier_init(&v, d);
	char buf[1 << 16];
	ssize_t r;
	while ((r = strata_read_full(fd, buf, sizeof(buf), p, err)) > 0)
		oci_verifier_update(&v, buf, (size_t)r);
	if (r < 0) {
		oci_verifier_release(&v);
		return -1;
	}
	if (oci_verifier_final(&v, NULL) == 0)
		return 0;
	/* only the file we read: a good copy renamed in meanwhile stays */
	if (stat(p, &now) == 0 && now.st_ino == st.st_ino && now.st_dev == st.st_dev && unlink(p) < 0 &&
	    errno != ENOENT)
		return strata_error_make(err, errno, "remove '%s'", p);
	return 1;
}

struct store_blob_writer {
	struct store *s;
	int fd;
	char *tmp;
	struct strata_hash h;
	bool hashing;
	bool finished;
	bool has_want;
	struct oci_digest want;
	int64_t want_size;
	int64_t size;
	struct oci_digest got;
};

int store_blob_writer_open(struct store *s, const struct oci_digest *want, int64_t want_size,
			   struct store_blob_writer **out, struct strata_error **err)
{
	struct store_blob_writer *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->tmp = xasprintf("%s/blob-XXXXXX", s->tmp);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;
		free(w->tmp);
		free(w);
		return strata_error_make(err, e, "create temporary blob in '%s'", s->tmp);
	}
	if (fchmod(w->fd, 0644) < 0) {
		int e = errno;
		store_blob_writer_abort(w);
		return strata_error_make(err, e, "chmod temporary blob");
	}
	if (want) {
		w->has_want = true;
		oci_digest_copy(&w->want, want);
	}
	w->want_size = want_size;
	strata_hash_init(&w->h, want ? want->alg : STRATA_HASH_SHA256);
	w->hashing = true;
	*out = w;
	return 0;
}

int store_blob_writer_write(struct store_blob_writer *w, const void *p, size_t n, struct strata_error **err)
{
	if (w->finished)
		return strata_error_make(err, EINVAL, "blob writer: write after finish");
	if (w->want_size >= 0 && w->size + (int64_t)n > w->want_size)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "blob %s: more data than the expected %lld bytes",
					  w->has_want ? w->want.str : "", (long long)w->want_size);
	if (strata_write_full(w->fd, p, n, w->tmp, err) < 0)
		return -1;
	strata_hash_update(&w->h, p, n);
	w->size += (int64_t)n;
	return 0;
}

static int sink_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	return store_blob_writer_write(ctx, p, n, err);
}

struct strata_sink store_blob_writer_sink(struct store_blob_writer *w)
{
	return (struct strata_sink){ sink_write, w };
}

int64_t store_blob_writer_size(const struct store_blob_writer *w) { return w->size; }

int store_blob_writer_finish(struct store_blob_writer *w, struct oci_digest *digest, int64_t *size,
			     struct strata_error **err)
{
	if (!w->finished) {
		char hex[STRATA_HASH_HEX_MAX];
		strata_hash_final(&w->h, hex);
		w->hashing = false;
		oci_digest_from_hex(&w->got, w->h.alg, hex);
		w->finished = true;
	}
	if (w->want_size >= 0 && w->size != w->want_size)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "size mismatch: expected %lld bytes, got %lld",
					  (long long)w->want_size, (long long)w->size);
	if (w->has_want && strcmp(w->want.str, w->got.str))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "digest mismatch: expected %s, got %s",
					  w->want.str, w->got.str);
	if (digest)
		oci_digest_copy(digest, &w->got);
	if (size)
		*size = w->size;
	return 0;
}

int store_blob_writer_commit(struct store_blob_writer *w, struct oci_digest *digest, int64_t *size,
			     struct strata_error **err)
{
	struct oci_digest d;
	cleanup_free char *dir = NULL;
	cleanup_free char *path = NULL;
	if (store_blob_writer_finish(w, &d, size, err) < 0)
		goto fail;
	if (fsync(w->fd) < 0) {
		strata_error_make(err, errno, "fsync '%s'", w->tmp);
		goto fail;
	}
	dir = xasprintf("%s/blobs/%s", w->s->root, strata_hash_alg_name(d.alg));
	if (strata_mkdir_p(dir, 0700, err) < 0)
		goto fail;
	path = store_blob_path(w->s, &d);
	if (rename(w->tmp, path) < 0) {
		strata_error_make(err, errno, "rename '%s' to '%s'", w->tmp, path);
		goto fail;
	}
	free(w->tmp);
	w->tmp = NULL;
	if (strata_fsync_dir(dir, err) < 0)
		goto fail;
	if (digest)
		oci_digest_copy(digest, &d);
	store_blob_writer_abort(w);
	return 0;
fail:
	store_blob_writer_abort(w);
	return -1;
}

void store_blob_writer_abort(struct store_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
	}
	if (w->hashing)
		strata_hash_release(&w->h);
	free(w);
}

int store_blob_put(struct store *s, const void *p, size_t n, const struct oci_digest *want,
		   struct oci_digest *out, struct strata_error **err)
{
	struct store_blob_writer *w = NULL;
	if (store_blob_writer_open(s, want, -1, &w, err) < 0)
		return -1;
	if (store_blob_writer_write(w, p, n, err) < 0) {
		store_blob_writer_abort(w);
		return -1;
	}
	return store_blob_writer_commit(w, out, NULL, err);
}
