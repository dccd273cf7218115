/*
 * blobstore_s3.c — the blob store in an S3 bucket (s3/s3.h does the HTTP):
 *
 *   P/blobs/<alg>/<hex>            every blob, once per digest
 *   P/uploads/<id>/part-NNNNN      an upload's flushed parts, 1.., each >= 5 MiB
 *   P/uploads/<id>/tail-NNNNN      the bytes after part NNNNN (< 5 MiB; NNNNN =
 *                                  the number of parts; tail-00000 is created
 *                                  empty with the upload and marks it)
 *   P/trash/<alg>-<hex>            blobs a running gc moved aside
 *
 * (P is the URL's prefix, or nothing.) Everything an instance needs to
 * continue an upload is in these objects, so the driver state is "" and any
 * instance sharing the bucket continues any upload.
 *
 * Chunks and parts. S3 multipart parts must be at least 5 MiB (but the
 * last), and an OCI client may send chunks of any size. A chunk is spooled
 * to a temp file (TMPDIR, else /var/tmp) behind the upload's current tail
 * (read back from the bucket); when it ends, the bytes are cut into parts
 * of at most 512 MiB while at least 5 MiB remain, each PUT as the next
 * part-NNNNN, and the rest (< 5 MiB, maybe nothing) is PUT as the new
 * tail-NNNNN before the old tail is deleted. Every object is written
 * whole or not at all (PUT is atomic), and the upload is read as
 * part-00001..part-N (contiguous) + tail-N, so whatever point a crash hits,
 * the upload is a prefix of what was sent: parts already written, the old
 * tail left over from a stale number ignored. Its size is the sum (one
 * ListObjectsV2); its mtime the newest of those objects. A chunk taken
 * back (!keep) never reached the bucket, nor did the chunk in flight when
 * the process dies (the client resumes from the size before it).
 *
 * Why objects and not an S3 multipart upload from the start: the registry
 * reads an upload in progress (re-hashing after a chunk cut short, sha512
 * digests), and the parts of an incomplete multipart upload cannot be
 * read. The parts become the blob at publication with the same one
 * server-side copy a multipart upload would have needed (its key is
 * chosen before the digest is known):
 *
 * Publication: when the blob already exists with the size, the upload is
 * dropped. Else one part and no tail, or no part: CopyObject to the blob's
 * key; else CreateMultipartUpload on the blob's key, UploadPartCopy of
 * every part and the tail, CompleteMultipartUpload. Both are atomic in S3:
 * the blob key is absent until it is whole (never half-visible). Then the
 * upload's objects are deleted (a failure there leaves a stray upload for
 * gc). A multipart publication cut short by a crash is listed by
 * upload_list as ".publish-<alg>-<hex>.<UploadId>" (dated by its start),
 * so gc aborts it after the upload TTL. Objects over 5 GiB (the limit of
 * one server-side copy) are copied through this process in 64 MiB parts
 * when trashed or restored (s3/objects.c).
 *
 * Reads are ranged GETs of up to 4 MiB behind a reg_blob_reader read()
 * callback (fd = -1); an upload's reader maps positions onto its objects.
 * Opening a blob is its first ranged GET (the size comes with it, from
 * Content-Range only), so a manifest or a whole blob GET costs one request;
 * --storage-redirect URLs are presigned here.
 * The gc trash is a server-side copy to P/trash/ and a delete (and back).
 * Requests go through one s3_client shared by every thread.
 */
#include "registry/server/blobstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/oci.h"
#include "s3/s3.h"

#define PART_MIN (5ull << 20)
#define PART_MAX (512ull << 20)
#define READ_WINDOW (4u << 20)
#define MAX_PARTS 10000u

struct s3_store {
	struct reg_blobstore base;
	struct s3_client *c;
	char *pfx; /* "" or "prefix/" */
};

static struct s3_store *S3(struct reg_blobstore *bs)
{
	return (struct s3_store *)bs;
}

static char *blob_key(struct s3_store *s, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%sblobs/%.*s/%s", s->pfx, (int)(colon - digest), digest, colon + 1);
}

static char *trash_key(struct s3_store *s, const char *digest)
{
	const char *colon = strchr(digest, ':');
	return xasprintf("%strash/%.*s-%s", s->pfx, (int)(colon - digest), digest, colon + 1);
}

static char *up_key(struct s3_store *s, const char *id, const char *kind, unsigned n)
{
	return xasprintf("%suploads/%s/%s-%05u", s->pfx, id, kind, n);
}

/* ---- an upload's objects ---- */

struct upload {
	bool exists;
	unsigned nparts;          /* part-00001..part-nparts, contiguous */
	uint64_t *part_size;      /* [nparts] */
	uint64_t tail_size;       /* of tail-nparts (0 when absent) */
	bool tail;                /* tail-nparts exists */
	uint64_t size;
	int64_t mtime;
	/* every object seen (for deletion) */
	char **keys;
	size_t nkeys;
	/* raw listing: parts by number and tails */
	uint64_t *seen_size;      /* [MAX_PARTS + 1], part sizes by number (UINT64_MAX: absent) */
	uint64_t *tail_sizes;     /* [MAX_PARTS + 1] */
};

static void upload_release(struct upload *u)
{
	free(u->part_size);
	for (size_t i = 0; i < u->nkeys; i++)
		free(u->keys[i]);
	free(u->keys);
	free(u->seen_size);
	free(u->tail_sizes);
	memset(u, 0, sizeof(*u));
}

struct look_ctx {
	struct upload *u;
	size_t plen;
};

static int look_one(void *ud, const struct s3_object *o, struct strata_error **err)
{
	(void)err;
	struct look_ctx *l = ud;
	struct upload *u = l->u;
	u->exists = true;
	u->keys = xrealloc(u->keys, (u->nkeys + 1) * sizeof(char *));
	u->keys[u->nkeys++] = xstrdup(o->key);
	const char *name = o->key + l->plen;
	char *end = NULL;
	if (!strncmp(name, "part-", 5) || !strncmp(name, "tail-", 5)) {
		unsigned long n = strtoul(name + 5, &end, 10);
		if (*end || n > MAX_PARTS)
			return 0;
		if (name[0] == 'p')
			u->seen_size[n] = o->size;
		else
			u->tail_sizes[n] = o->size;
		if (o->mtime > u->mtime)
			u->mtime = o->mtime;
	}
	return 0;
}

/* What the bucket holds of upload id. @return 1, 0 absent, -1 */
static int upload_look(struct s3_store *s, const char *id, struct upload *u, struct strata_error **err)
{
	memset(u, 0, sizeof(*u));
	u->seen_size = xmalloc((MAX_PARTS + 1) * sizeof(uint64_t));
	u->tail_sizes = xmalloc((MAX_PARTS + 1) * sizeof(uint64_t));
	for (unsigned i = 0; i <= MAX_PARTS; i++)
		u->seen_size[i] = u->tail_sizes[i] = UINT64_MAX;
	cleanup_free char *prefix = xasprintf("%suploads/%s/", s->pfx, id);
	struct look_ctx l = { u, strlen(prefix) };
	if (s3_list(s->c, prefix, look_one, &l, err) < 0) {
		upload_release(u);
		return -1;
	}
	if (!u->exists) {
		upload_release(u); /* the callers release only what they got with 1 */
		return 0;
	}
	unsigned n = 0;
	while (n < MAX_PARTS && u->seen_size[n + 1] != UINT64_MAX)
		n++;
	u->nparts = n;
	u->part_size = xcalloc(n + 1, sizeof(uint64_t));
	for (unsigned i = 0; i < n; i++) {
		u->part_size[i] = u->seen_size[i + 1];
		u->size += u->part_size[i];
	}
	u->tail = u->tail_sizes[n] != UINT64_MAX;
	u->tail_size = u->tail ? u->tail_sizes[n] : 0;
	u->size += u->tail_size;
	return 1;
}

/* ---- readers ---- */

struct s3_reader {
	struct s3_store *s;
	size_t n;
	struct s3_segment *seg;     /* the objects, in order; positions are cumulative */
	char *cache;
	uint64_t cache_off;
	size_t cache_len;
};

static void reader_close(void *ctx)
{
	struct s3_reader *r = ctx;
	for (size_t i = 0; i < r->n; i++)
		free(r->seg[i].key);
	free(r->seg);
	free(r->cache);
	free(r);
}

static ssize_t reader_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct s3_reader *r = ctx;
	if (!(pos >= r->cache_off && pos < r->cache_off + r->cache_len)) {
		/* find the object holding pos */
		uint64_t start = 0;
		size_t i = 0;
		while (i < r->n && pos >= start + r->seg[i].len) {
			start += r->seg[i].len;
			i++;
		}
		if (i == r->n)
			return 0;
		uint64_t in = pos - start;
		uint64_t want = r->seg[i].len - in < READ_WINDOW ? r->seg[i].len - in : READ_WINDOW;
		if (!r->cache)
			r->cache = xmalloc(READ_WINDOW);
		struct strata_error *err = NULL;
		ssize_t got = s3_get(r->s->c, r->seg[i].key, r->seg[i].off + in, (size_t)want, r->cache, &err);
		if (got <= 0) {
			if (err) {
				char *m = strata_error_string(err);
				LOG_WARN("read %s: %s", r->seg[i].key, m);
				free(m);
				strata_error_free(err);
			}
			r->cache_len = 0;
			errno = got < 0 ? EIO : ENODATA;
			return -1;
		}
		r->cache_off = pos;
		r->cache_len = (size_t)got;
	}
	uint64_t at = pos - r->cache_off;
	size_t n = r->cache_len - (size_t)at < max ? r->cache_len - (size_t)at : max;
	memcpy(buf, r->cache + at, n);
	return (ssize_t)n;
}

static void reader_make(struct s3_store *s, struct s3_reader *r, uint64_t off, uint64_t len, uint64_t size,
			struct reg_blob_reader *out)
{
	r->s = s;
	*out = (struct reg_blob_reader){ .fd = -1, .off = off, .len = len, .size = size, .read = reader_read,
					 .close = reader_close, .ctx = r };
}

/* ---- the driver ---- */

static void s3s_free(struct reg_blobstore *bs)
{
	struct s3_store *s = S3(bs);
	s3_client_free(s->c);
	free(s->pfx);
	free(s);
}

static int s3s_stat(struct reg_blobstore *bs, const char *digest, uint64_t *size, struct strata_error **err)
{
	cleanup_free char *k = blob_key(S3(bs), digest);
	return s3_head(S3(bs)->c, k, size, NULL, err);
}

/*
 * One ranged GET of the first window both opens the blob (its size is in
 * Content-Range) and reads it: a manifest or a small blob costs one request.
 */
static int s3s_open(struct reg_blobstore *bs, const char *digest, uint64_t off, uint64_t len,
		    struct reg_blob_reader *out, struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	char *k = blob_key(s, digest);
	char *cache = xmalloc(READ_WINDOW);
	size_t want = len < READ_WINDOW ? (size_t)(len ? len : 1) : READ_WINDOW;
	struct s3_request rq = s3_request_init("GET", k);
	struct s3_response rs;
	int rc = s3_do_range(s->c, &rq, off, want, cache, READ_WINDOW, &rs, err) < 0 ? -1 : 1;
	uint64_t size = 0;
	if (rc > 0) {
		if (rs.status == 404)
			rc = 0;
		else if ((rs.status == 206 || rs.status == 416) && rs.length_is_total)
			size = rs.content_length;
		else if (rs.status == 416 && off == 0)
			size = 0; /* no Content-Range (RGW, an empty object): nothing at 0 is empty */
		else if (rs.status == 200)
			size = rs.got; /* the whole object (the range was ignored) */
		else
			rc = s3_error(&rq, &rs, err);
	}
	long status = rs.status;
	size_t got = status == 206 || status == 200 ? rs.got : 0;
	s3_response_release(&rs);
	if (rc <= 0) {
		free(cache);
		free(k);
		return rc;
	}
	if (status == 200) {
		/* the cached bytes start at 0 */
		if (off > size)
			off = size;
		memmove(cache, cache + off, (size_t)(size - off));
		got = (size_t)(size - off);
	}
	if (off > size)
		off = size;
	if (len > size - off)
		len = size - off;
	struct s3_reader *r = xcalloc(1, sizeof(*r));
	r->n = 1;
	r->seg = xcalloc(1, sizeof(*r->seg));
	r->seg[0] = (struct s3_segment){ .key = k, .off = 0, .len = size };
	r->cache = cache;
	r->cache_off = off;
	r->cache_len = got;
	reader_make(s, r, off, len, size, out);
	return 1;
}

struct list_ctx {
	reg_blob_list_fn fn;
	void *ud;
	size_t plen;
};

static int list_blob(void *ud, const struct s3_object *o, struct strata_error **err)
{
	struct list_ctx *l = ud;
	const char *rest = o->key + l->plen; /* "<alg>/<hex>" */
	const char *slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/'))
		return 0;
	cleanup_free char *digest = xasprintf("%.*s:%s", (int)(slash - rest), rest, slash + 1);
	if (!oci_digest_valid(digest))
		return 0;
	return l->fn(l->ud, digest, o->size, o->mtime, err);
}

static int s3s_list(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *prefix = xasprintf("%sblobs/", s->pfx);
	struct list_ctx l = { fn, ud, strlen(prefix) };
	return s3_list(s->c, prefix, list_blob, &l, err);
}

static int s3s_upload_create(struct reg_blobstore *bs, const char *id, char **state, struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *k = up_key(s, id, "tail", 0);
	if (s3_put(s->c, k, -1, "", 0, 0, NULL, err) < 0)
		return strata_error_wrap(err, "create upload '%s'", id);
	*state = xstrdup("");
	return 0;
}

static int s3s_upload_stat(struct reg_blobstore *bs, const char *id, const char *state, uint64_t *size,
			   int64_t *mtime, struct strata_error **err)
{
	(void)state;
	struct upload u;
	int rc = upload_look(S3(bs), id, &u, err);
	if (rc > 0) {
		if (size)
			*size = u.size;
		if (mtime)
			*mtime = u.mtime;
	}
	upload_release(&u);
	return rc;
}

static int s3s_upload_open(struct reg_blobstore *bs, const char *id, const char *state,
			   struct reg_blob_reader *out, struct strata_error **err)
{
	(void)state;
	struct s3_store *s = S3(bs);
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	struct upload u;
	int rc = upload_look(s, id, &u, err);
	if (rc <= 0)
		return rc;
	struct s3_reader *r = xcalloc(1, sizeof(*r));
	r->seg = xcalloc(u.nparts + 1, sizeof(*r->seg));
	for (unsigned i = 0; i < u.nparts; i++)
		r->seg[r->n++] = (struct s3_segment){ .key = up_key(s, id, "part", i + 1), .len = u.part_size[i] };
	if (u.tail_size)
		r->seg[r->n++] = (struct s3_segment){ .key = up_key(s, id, "tail", u.nparts), .len = u.tail_size };
	reader_make(s, r, 0, u.size, u.size, out);
	upload_release(&u);
	return 1;
}

struct reg_blob_writer {
	struct s3_store *s;
	char *id;
	unsigned nparts;     /* parts before this chunk */
	uint64_t tail_size;  /* bytes of the old tail at the start of the temp file */
	uint64_t len;        /* bytes in the temp file */
	bool had_tail;       /* tail-nparts exists (maybe empty) */
	int fd;
};

static int spool_file(struct strata_error **err)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	cleanup_free char *t = xasprintf("%s/strata-s3-XXXXXX", dir);
	fd = mkostemp(t, O_CLOEXEC);
	if (fd < 0)
		return strata_error_make(err, errno, "create a temp file in '%s' (TMPDIR)", dir);
	unlink(t);
	return fd;
}

static void writer_free(struct reg_blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->id);
	free(w);
}

static int s3s_chunk_begin(struct reg_blobstore *bs, const char *id, const char *state, uint64_t offset,
			   struct reg_blob_writer **out, struct strata_error **err)
{
	(void)state;
	struct s3_store *s = S3(bs);
	struct upload u;
	int rc = upload_look(s, id, &u, err);
	if (rc <= 0)
		return rc;
	if (u.size != offset) {
		rc = strata_error_make(err, EAGAIN, "upload '%s' is at %llu, not at offset %llu", id,
				       (unsigned long long)u.size, (unsigned long long)offset);
		upload_release(&u);
		return rc;
	}
	struct reg_blob_writer *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->id = xstrdup(id);
	w->nparts = u.nparts;
	w->tail_size = u.tail_size;
	w->had_tail = u.tail;
	upload_release(&u);
	w->fd = spool_file(err);
	if (w->fd < 0) {
		writer_free(w);
		return -1;
	}
	if (w->tail_size) {
		/* the old tail goes first: the next part starts with it */
		cleanup_free char *k = up_key(s, id, "tail", w->nparts);
		cleanup_free char *buf = xmalloc((size_t)w->tail_size);
		ssize_t got = s3_get(s->c, k, 0, (size_t)w->tail_size, buf, err);
		if (got != (ssize_t)w->tail_size ||
		    strata_write_full(w->fd, buf, (size_t)w->tail_size, "upload spool", err) < 0) {
			if (got >= 0 && got != (ssize_t)w->tail_size)
				strata_error_makec(err, 0, 0, "upload '%s': its tail changed while being read", id);
			writer_free(w);
			return -1;
		}
	}
	w->len = w->tail_size;
	*out = w;
	return 1;
}

static int s3s_chunk_write(struct reg_blob_writer *w, const void *data, size_t n, struct strata_error **err)
{
	if (strata_write_full(w->fd, data, n, "upload spool", err) < 0)
		return -1;
	w->len += n;
	return 0;
}

static int s3s_chunk_end(struct reg_blob_writer *w, bool keep, struct strata_error **err)
{
	struct s3_store *s = w->s;
	int rc = 0;
	char *tk = NULL;
	if (!keep || w->len == w->tail_size)
		goto out;
	uint64_t off = 0;
	unsigned num = w->nparts;
	while (w->len - off >= PART_MIN) {
		if (num >= MAX_PARTS) {
			rc = strata_error_makec(err, 0, 0, "upload '%s': more than %u parts", w->id, MAX_PARTS);
			goto out;
		}
		uint64_t n = w->len - off < PART_MAX ? w->len - off : PART_MAX;
		cleanup_free char *k = up_key(s, w->id, "part", num + 1);
		if (s3_put(s->c, k, w->fd, NULL, off, n, NULL, err) < 0) {
			rc = -1;
			goto out;
		}
		num++;
		off += n;
	}
	/* the rest is the new tail (a new number: written before the old one goes) */
	tk = up_key(s, w->id, "tail", num);
	if ((off < w->len || num != w->nparts) &&
	    s3_put(s->c, tk, w->fd, NULL, off, w->len - off, NULL, err) < 0) {
		rc = -1;
		goto out;
	}
	if (num != w->nparts && w->had_tail) {
		cleanup_free char *old = up_key(s, w->id, "tail", w->nparts);
		struct strata_error *e = NULL;
		if (s3_delete(s->c, old, &e) < 0)
			strata_error_free(e); /* a stale tail is ignored (its number is not the part count) */
	}
out:
	free(tk);
	writer_free(w);
	return rc;
}

static int s3s_upload_seal(struct reg_blobstore *bs, const char *id, const char *state,
			   struct strata_error **err)
{
	/* S3 answers a PUT once the object is durable */
	(void)bs, (void)id, (void)state, (void)err;
	return 0;
}

static void delete_keys(struct s3_store *s, struct upload *u)
{
	for (size_t i = 0; i < u->nkeys; i++) {
		struct strata_error *e = NULL;
		if (s3_delete(s->c, u->keys[i], &e) < 0) {
			char *m = strata_error_string(e);
			LOG_WARN("remove %s (gc will): %s", u->keys[i], m);
			free(m);
			strata_error_free(e);
		}
	}
}

static int s3s_publish(struct reg_blobstore *bs, const char *id, const char *state, const char *digest,
		       uint64_t size, struct strata_error **err)
{
	(void)state;
	struct s3_store *s = S3(bs);
	struct upload u;
	int rc = upload_look(s, id, &u, err);
	if (rc <= 0)
		return rc < 0 ? -1 : strata_error_make(err, ENOENT, "upload '%s' vanished", id);
	cleanup_free char *bk = blob_key(s, digest);
	uint64_t have = 0;
	rc = 0;
	if (u.size != size) {
		rc = strata_error_makec(err, 0, 0, "upload '%s' holds %llu bytes, not %llu", id,
					(unsigned long long)u.size, (unsigned long long)size);
		goto out;
	}
	int h = s3_head(s->c, bk, &have, NULL, err);
	if (h < 0) {
		rc = -1;
		goto out;
	}
	if (h && have == size)
		goto drop;
	if (u.nparts == 0 || (u.nparts == 1 && !u.tail_size)) {
		cleanup_free char *src = u.nparts ? up_key(s, id, "part", 1) : up_key(s, id, "tail", 0);
		if (!u.nparts && !u.tail) {
			/* an empty upload that lost its marker: the blob is empty */
			if (s3_put(s->c, bk, -1, "", 0, 0, NULL, err) < 0)
				rc = -1;
		} else if (s3_copy(s->c, src, bk, size, err) < 0) {
			rc = -1;
		}
	} else {
		struct s3_segment *seg = xcalloc(u.nparts + 1, sizeof(*seg));
		size_t n = 0;
		for (unsigned i = 0; i < u.nparts; i++)
			seg[n++] = (struct s3_segment){ .key = up_key(s, id, "part", i + 1), .len = u.part_size[i] };
		if (u.tail_size)
			seg[n++] = (struct s3_segment){ .key = up_key(s, id, "tail", u.nparts), .len = u.tail_size };
		rc = s3_concat(s->c, bk, seg, n, err);
		for (size_t i = 0; i < n; i++)
			free(seg[i].key);
		free(seg);
	}
	if (rc < 0)
		goto out;
drop:
	delete_keys(s, &u);
out:
	upload_release(&u);
	if (rc < 0)
		strata_error_wrap(err, "publish upload '%s' as %s", id, digest);
	return rc;
}

static int abort_publish(struct s3_store *s, const char *id, struct strata_error **err);

static int s3s_upload_delete(struct reg_blobstore *bs, const char *id, const char *state,
			     struct strata_error **err)
{
	(void)state;
	struct s3_store *s = S3(bs);
	int ab = abort_publish(s, id, err);
	if (ab)
		return ab < 0 ? -1 : 0;
	struct upload u;
	int rc = upload_look(s, id, &u, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	for (size_t i = 0; i < u.nkeys && !rc; i++)
		rc = s3_delete(s->c, u.keys[i], err);
	upload_release(&u);
	return rc;
}

struct ulist_ctx {
	reg_blob_list_fn fn;
	void *ud;
	size_t plen;
	char *id;          /* the upload being summed */
	uint64_t size;
	int64_t mtime;
};

static int ulist_flush(struct ulist_ctx *l, struct strata_error **err)
{
	if (!l->id)
		return 0;
	int rc = l->fn(l->ud, l->id, l->size, l->mtime, err);
	free(l->id);
	l->id = NULL;
	return rc;
}

static int ulist_one(void *ud, const struct s3_object *o, struct strata_error **err)
{
	struct ulist_ctx *l = ud;
	const char *rest = o->key + l->plen;
	const char *slash = strchr(rest, '/');
	if (!slash || slash == rest)
		return 0;
	size_t n = (size_t)(slash - rest);
	if (!l->id || strlen(l->id) != n || memcmp(l->id, rest, n)) {
		int rc = ulist_flush(l, err);
		if (rc)
			return rc;
		l->id = xstrndup(rest, n);
		l->size = 0;
		l->mtime = 0;
	}
	l->size += o->size;
	if (o->mtime > l->mtime)
		l->mtime = o->mtime;
	return 0;
}

/*
 * Multipart uploads left on blob keys (a publication interrupted by a
 * crash) are listed as uploads named ".publish-<alg>-<hex>.<UploadId>",
 * dated by their initiation, so gc aborts them after the upload TTL.
 */
static int list_publishes(struct s3_store *s, reg_blob_list_fn fn, void *ud, struct strata_error **err)
{
	cleanup_free char *prefix = xasprintf("%sblobs/", s->pfx);
	char *key_marker = NULL, *id_marker = NULL;
	int rc = 0;
	do {
		struct s3_param p[4] = { { "uploads", "" }, { "prefix", prefix }, { "key-marker", key_marker },
					 { "upload-id-marker", id_marker } };
		struct s3_request rq = s3_request_init("GET", NULL);
		rq.params = p;
		rq.n_params = key_marker ? 4 : 2;
		rq.collect = true;
		struct s3_response rs;
		if (s3_do(s->c, &rq, &rs, err) < 0) {
			rc = -1;
			break;
		}
		cleanup_free char *prev_key = key_marker, *prev_id = id_marker;
		key_marker = id_marker = NULL;
		if (rs.status != 200) {
			rc = s3_error(&rq, &rs, err);
			s3_response_release(&rs);
			break;
		}
		const char *end = rs.body + rs.body_len, *pos = rs.body, *in, *ie, *uin, *uie;
		if (!s3_xml_next(&pos, end, "ListMultipartUploadsResult", &in, &ie)) {
			rc = strata_error_makec(err, 0, 0, "S3 list multipart uploads: not a ListMultipartUploadsResult");
			s3_response_release(&rs);
			break;
		}
		const char *lp = in;
		while (!rc && s3_xml_next(&lp, ie, "Upload", &uin, &uie)) {
			cleanup_free char *key = s3_xml_text(uin, uie, "Key");
			cleanup_free char *uid = s3_xml_text(uin, uie, "UploadId");
			cleanup_free char *init = s3_xml_text(uin, uie, "Initiated");
			if (!key || !uid || strncmp(key, prefix, strlen(prefix)))
				continue;
			char *rest = key + strlen(prefix), *slash = strchr(rest, '/');
			if (!slash)
				continue;
			*slash = '-';
			cleanup_free char *id = xasprintf(".publish-%s.%s", rest, uid);
			rc = fn(ud, id, 0, s3_parse_time(init), err);
		}
		cleanup_free char *trunc = s3_xml_text(in, ie, "IsTruncated");
		if (!rc && trunc && !strcmp(trunc, "true")) {
			key_marker = s3_xml_text(in, ie, "NextKeyMarker");
			id_marker = s3_xml_text(in, ie, "NextUploadIdMarker");
			if (!key_marker || !*key_marker || !id_marker ||
			    (prev_key && !strcmp(key_marker, prev_key) && !strcmp(id_marker, prev_id))) {
				rc = strata_error_makec(err, 0, 0, "S3 list multipart uploads: truncated without new markers");
				free(key_marker), free(id_marker);
				key_marker = id_marker = NULL;
			}
		}
		s3_response_release(&rs);
	} while (key_marker && !rc);
	free(key_marker);
	free(id_marker);
	return rc;
}

/* ".publish-<alg>-<hex>.<UploadId>": abort that multipart upload. @return 1 (it was one), 0 not one, -1 */
static int abort_publish(struct s3_store *s, const char *id, struct strata_error **err)
{
	if (strncmp(id, ".publish-", 9))
		return 0;
	const char *dash = strchr(id + 9, '-');
	const char *dot = dash ? strchr(dash, '.') : NULL;
	if (!dash || !dot || !dot[1])
		return 0;
	cleanup_free char *key = xasprintf("%sblobs/%.*s/%.*s", s->pfx, (int)(dash - id - 9), id + 9,
					   (int)(dot - dash - 1), dash + 1);
	return s3_mpu_abort(s->c, key, dot + 1, err) < 0 ? -1 : 1;
}

static int s3s_upload_list(struct reg_blobstore *bs, reg_blob_list_fn fn, void *ud, struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *prefix = xasprintf("%suploads/", s->pfx);
	struct ulist_ctx l = { fn, ud, strlen(prefix), NULL, 0, 0 };
	int rc = s3_list(s->c, prefix, ulist_one, &l, err);
	if (!rc)
		rc = ulist_flush(&l, err);
	free(l.id);
	if (!rc)
		rc = list_publishes(s, fn, ud, err);
	return rc;
}

static int s3s_trash(struct reg_blobstore *bs, const char *digest, struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *bk = blob_key(s, digest);
	cleanup_free char *tk = trash_key(s, digest);
	uint64_t size = 0;
	int h = s3_head(s->c, bk, &size, NULL, err);
	if (h <= 0)
		return h;
	if (s3_copy(s->c, bk, tk, size, err) < 0 || s3_delete(s->c, bk, err) < 0)
		return strata_error_wrap(err, "move %s to the trash", digest);
	return 0;
}

struct recover_ctx {
	struct s3_store *s;
	size_t plen;
	int (*keep)(void *ud, const char *digest, struct strata_error **err);
	void *ud;
};

static int recover_one(void *ud, const struct s3_object *o, struct strata_error **err)
{
	struct recover_ctx *r = ud;
	cleanup_free char *digest = xstrdup(o->key + r->plen);
	char *dash = strchr(digest, '-');
	if (dash)
		*dash = ':';
	int k = dash && oci_digest_valid(digest) ? r->keep(r->ud, digest, err) : 0;
	if (k < 0)
		return -1;
	if (k) {
		cleanup_free char *bk = blob_key(r->s, digest);
		if (s3_copy(r->s->c, o->key, bk, o->size, err) < 0)
			return strata_error_wrap(err, "restore %s", digest);
	}
	return s3_delete(r->s->c, o->key, err);
}

static int s3s_trash_recover(struct reg_blobstore *bs,
			     int (*keep)(void *ud, const char *digest, struct strata_error **err), void *ud,
			     struct strata_error **err)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *prefix = xasprintf("%strash/", s->pfx);
	struct recover_ctx r = { s, strlen(prefix), keep, ud };
	return s3_list(s->c, prefix, recover_one, &r, err);
}

static int empty_one(void *ud, const struct s3_object *o, struct strata_error **err)
{
	struct s3_store *s = ud;
	struct strata_error *e = NULL;
	(void)err;
	if (s3_delete(s->c, o->key, &e) < 0) {
		char *m = strata_error_string(e);
		LOG_WARN("empty the trash: %s", m);
		free(m);
		strata_error_free(e);
	}
	return 0;
}

static void s3s_trash_empty(struct reg_blobstore *bs)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *prefix = xasprintf("%strash/", s->pfx);
	struct strata_error *e = NULL;
	if (s3_list(s->c, prefix, empty_one, s, &e) < 0) {
		char *m = strata_error_string(e);
		LOG_WARN("empty the trash: %s", m);
		free(m);
		strata_error_free(e);
	}
}

static char *s3s_presign(struct reg_blobstore *bs, const char *digest, unsigned expires)
{
	struct s3_store *s = S3(bs);
	cleanup_free char *bk = blob_key(s, digest);
	return s3_presign_get(s->c, bk, expires);
}

static const struct reg_blobstore_ops s3_ops = {
	.name = "s3",
	.free = s3s_free,
	.stat = s3s_stat,
	.open = s3s_open,
	.list = s3s_list,
	.upload_create = s3s_upload_create,
	.upload_stat = s3s_upload_stat,
	.upload_open = s3s_upload_open,
	.chunk_begin = s3s_chunk_begin,
	.chunk_write = s3s_chunk_write,
	.chunk_end = s3s_chunk_end,
	.upload_seal = s3s_upload_seal,
	.publish = s3s_publish,
	.upload_delete = s3s_upload_delete,
	.upload_list = s3s_upload_list,
	.trash = s3s_trash,
	.trash_recover = s3s_trash_recover,
	.trash_empty = s3s_trash_empty,
	.presign = s3s_presign,
};

int reg_blobstore_s3_open(const char *url, struct reg_blobstore **out, struct strata_error **err)
{
	struct s3_config cfg;
	if (s3_url_parse(url, &cfg, err) < 0)
		return -1;
	if (s3_credentials_load(&cfg, err) < 0) {
		s3_config_release(&cfg);
		return strata_error_wrap(err, "--storage '%s'", url);
	}
	struct s3_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &s3_ops;
	s->pfx = *cfg.prefix ? xasprintf("%s/", cfg.prefix) : xstrdup("");
	int rc = s3_client_new(&cfg, &s->c, err);
	s3_config_release(&cfg);
	if (rc < 0) {
		s3s_free(&s->base);
		return -1;
	}
	/* the bucket must be there and ours: one HEAD, with S3's reason when not */
	struct s3_request rq = s3_request_init("HEAD", NULL);
	struct s3_response rs;
	if (s3_do(s->c, &rq, &rs, err) < 0) {
		s3s_free(&s->base);
		return strata_error_wrap(err, "--storage '%s'", url);
	}
	if (rs.status != 200) {
		if (rs.status == 404)
			strata_error_makec(err, STRATA_E_NOTFOUND, 0, "bucket '%s' does not exist",
					   s3_client_config(s->c)->bucket);
		else if (rs.status == 403)
			strata_error_makec(err, STRATA_E_AUTH, 0,
					   "access to bucket '%s' denied (check the credentials and the region)",
					   s3_client_config(s->c)->bucket);
		else
			s3_error(&rq, &rs, err);
		s3_response_release(&rs);
		s3s_free(&s->base);
		return strata_error_wrap(err, "--storage '%s'", url);
	}
	s3_response_release(&rs);
	*out = &s->base;
	return 0;
}
