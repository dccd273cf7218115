/*
 * uploads.c — /v2/<name>/blobs/uploads/: session creation (POST), cross-repo
 * mount (?mount=&from=), monolithic upload (POST ?digest=), chunks (PATCH,
 * Content-Range rules with 416), completion (PUT ?digest=), status (GET) and
 * cancel (DELETE).
 *
 * Session state lives in the storage, not in the process, so any instance
 * sharing the storage continues an upload: the bytes are an upload in the
 * blob store (its size is the offset, the source of truth) and the row in
 * the metadata holds the blob store's state of the upload and the sha256
 * state over the first hash_offset bytes, saved after every chunk, so a
 * chunked upload is hashed once. When the saved state is not at the
 * upload's size (a chunk cut short) the bytes are re-hashed from the blob
 * store before the next chunk. One request at a time per session (the
 * metadata's session lock): a concurrent chunk gets 416.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* ---- helpers ---- */

static bool uuid_valid(const char *u)
{
	size_t n = strlen(u);
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f')))
			return false;
	return true;
}

static void new_uuid(char out[33])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			strata_oom();
	}
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[32] = '\0';
}

static void add_upload_headers(struct reg_req *q, struct MHD_Response *resp, const char *uuid,
			       uint64_t offset)
{
	reg_add_header(resp, "Location", "/v2/%s/blobs/uploads/%s", q->name, uuid);
	reg_add_header(resp, "Range", "0-%llu", (unsigned long long)(offset ? offset - 1 : 0));
	MHD_add_response_header(resp, "Docker-Upload-UUID", uuid);
}

static enum MHD_Result reply_upload(struct reg_req *q, unsigned status, const char *uuid, uint64_t offset)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	add_upload_headers(q, resp, uuid, offset);
	q->bytes_out = 0;
	return reg_reply(q, status, resp);
}

static enum MHD_Result reply_created(struct reg_req *q, const char *digest)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	reg_add_header(resp, "Location", "/v2/%s/blobs/%s", q->name, digest);
	MHD_add_response_header(resp, "Docker-Content-Digest", digest);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_CREATED, resp);
}

static enum MHD_Result too_many(struct reg_req *q)
{
	return reg_reply_error(q, MHD_HTTP_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS",
			       "too many uploads in progress, retry later");
}

/* "start-end" (optionally "bytes " / "bytes=" first). @return 0 or -1 */
static int parse_content_range(const char *h, int64_t *a, int64_t *b)
{
	if (!strncmp(h, "bytes ", 6) || !strncmp(h, "bytes=", 6))
		h += 6;
	const char *dash = strchr(h, '-');
	if (!dash)
		return -1;
	cleanup_free char *first = xstrndup(h, (size_t)(dash - h));
	uint64_t x, y;
	if (reg_parse_u64(first, &x) < 0 || reg_parse_u64(dash + 1, &y) < 0 || y < x ||
	    y > INT64_MAX)
		return -1;
	*a = (int64_t)x;
	*b = (int64_t)y;
	return 0;
}

/* ---- POST ---- */

static enum MHD_Result create_session(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	struct reg_meta *m = q->r->meta;
	char uuid[33];
	new_uuid(uuid);
	cleanup_free char *state = NULL;
	if (bs->ops->upload_create(bs, uuid, &state, &err) < 0)
		return reg_reply_internal(q, err);
	if (m->ops->upload_create(m, uuid, q->name, state, &err) < 0) {
		bs->ops->upload_delete(bs, uuid, state, NULL);
		return reg_reply_internal(q, err);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	add_upload_headers(q, resp, uuid, 0);
	reg_add_header(resp, "OCI-Chunk-Min-Length", "%u", REG_CHUNK_MIN_HINT);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_ACCEPTED, resp);
}

/* @return 1 mounted, 0 not available here, -1 error */
static int try_mount(struct reg_req *q, const char *digest, const char *from, struct strata_error **err)
{
	struct reg_meta *m = q->r->meta;
	if (m->ops->begin(m, true, err) < 0)
		return -1;
	int linked = m->ops->blob_linked(m, from, digest, NULL, err);
	if (linked <= 0) {
		m->ops->rollback(m);
		return linked;
	}
	if (m->ops->blob_link(m, q->name, digest, err) < 0 || m->ops->commit(m, err) < 0) {
		m->ops->rollback(m);
		return -1;
	}
	return 1;
}

static enum MHD_Result post_begin(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	const char *mount = reg_arg(q, "mount");
	const char *from = reg_arg(q, "from");
	const char *digest = reg_arg(q, "digest");
	if (mount) {
		if (!oci_digest_valid(mount))
			return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
					       "invalid digest '%s'", mount);
		bool may = from && strlen(from) <= OCI_NAME_MAX && oci_repo_path_valid(from) &&
			   (!q->r->auth || reg_auth_allowed(q->r->auth, q->user, from, REG_PULL));
		if (may) {
			int mr = try_mount(q, mount, from, &err);
			if (mr < 0)
				return reg_reply_internal(q, err);
			if (mr)
				return reply_created(q, mount);
		}
		return create_session(q);
	}
	if (!digest)
		return create_session(q);
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, NULL) < 0)
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest '%s'",
				       digest);
	if (!reg_upload_count(q))
		return too_many(q);
	char uuid[33];
	new_uuid(uuid);
	char *id = xasprintf(".mono-%s", uuid);
	if (bs->ops->upload_create(bs, id, &q->bs_state, &err) < 0) {
		free(id);
		return reg_reply_internal(q, err);
	}
	q->temp_id = id;
	int o = bs->ops->chunk_begin(bs, id, q->bs_state, 0, &q->w, &err);
	if (o <= 0) {
		if (!o)
			strata_error_make(&err, ENOENT, "upload '%s' vanished", id);
		return reg_reply_internal(q, err);
	}
	q->body = BODY_FILE;
	strata_hash_init(&q->hash, d.alg);
	q->hashing = true;
	return MHD_YES;
}

/* ---- PATCH / PUT body setup ---- */

/* The session's sha256 over [0, offset): the saved state when it is at offset, else re-hashed. */
static int session_hash(struct reg_req *q, const struct reg_meta_upload *u, uint64_t offset,
			struct strata_error **err)
{
	if (u->hash_state && u->hash_offset == offset &&
	    reg_sha256_import(&q->shash, u->hash_state, u->hash_state_len) == 0)
		return 0;
	if (offset == 0) {
		reg_sha256_init(&q->shash);
		return 0;
	}
	struct reg_blobstore *bs = q->r->bs;
	struct reg_blob_reader rd;
	int o = bs->ops->upload_open(bs, q->ref, u->bs_state, &rd, err);
	if (o <= 0)
		return o < 0 ? -1 : strata_error_make(err, ENOENT, "upload '%s' vanished", q->ref);
	static const size_t bufsz = 1 << 20;
	cleanup_free char *buf = xmalloc(bufsz);
	reg_sha256_init(&q->shash);
	uint64_t off = 0;
	int rc = 0;
	while (off < offset) {
		size_t want = offset - off < bufsz ? (size_t)(offset - off) : bufsz;
		ssize_t n = reg_blob_reader_pread(&rd, off, buf, want);
		if (n <= 0) {
			rc = strata_error_make(err, n < 0 ? errno : EIO, "read upload '%s'", q->ref);
			break;
		}
		reg_sha256_update(&q->shash, buf, (size_t)n);
		off += (uint64_t)n;
	}
	reg_blob_reader_close(&rd);
	return rc;
}

/*
 * Take the session lock for this request (released by reg_upload_done).
 * @return true, or false with the answer (busy_status when another
 * request holds it) queued in *ret.
 */
static bool lock_session(struct reg_req *q, unsigned busy_status, const char *busy_msg, enum MHD_Result *ret)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	int lk = m->ops->upload_lock(m, q->ref, &err);
	if (lk <= 0) {
		*ret = lk < 0 ? reg_reply_internal(q, err)
			      : reg_reply_error(q, busy_status, "BLOB_UPLOAD_INVALID", "%s", busy_msg);
		return false;
	}
	q->locked = true;
	return true;
}

static enum MHD_Result chunk_begin(struct reg_req *q, const struct reg_meta_upload *u)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	enum MHD_Result ret;
	if (!lock_session(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, "another request is writing to this upload", &ret))
		return ret;
	uint64_t offset = 0;
	int there = bs->ops->upload_stat(bs, q->ref, u->bs_state, &offset, NULL, &err);
	if (there < 0)
		return reg_reply_internal(q, err);
	if (!there)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	const char *cr = reg_header(q, "Content-Range");
	if (cr) {
		if (parse_content_range(cr, &q->range_start, &q->range_end) < 0 ||
		    (uint64_t)q->range_start != offset)
			goto bad_range;
		const char *cl = reg_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl && reg_parse_u64(cl, &n) == 0 && n != (uint64_t)(q->range_end - q->range_start + 1))
			goto bad_range;
	}
	if (!reg_upload_count(q))
		return too_many(q);
	if (session_hash(q, u, offset, &err) < 0)
		return reg_reply_internal(q, err);
	q->shashing = true;
	int o = bs->ops->chunk_begin(bs, q->ref, u->bs_state, offset, &q->w, &err);
	if (o < 0)
		return reg_reply_internal(q, err);
	if (!o)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	q->bs_state = xstrdup(u->bs_state);
	q->offset = offset;
	q->body = BODY_FILE;
	return MHD_YES;
bad_range: {
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	add_upload_headers(q, resp, q->ref, offset);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}
}

static enum MHD_Result upload_cancel(struct reg_req *q, const struct reg_meta_upload *u)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	struct reg_meta *m = q->r->meta;
	enum MHD_Result ret;
	if (!lock_session(q, MHD_HTTP_CONFLICT, "upload is in use", &ret))
		return ret;
	if (m->ops->upload_delete(m, q->ref, &err) < 0 ||
	    bs->ops->upload_delete(bs, q->ref, u->bs_state, &err) < 0)
		return reg_reply_internal(q, err);
	return reg_reply_empty(q, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result reg_upload_begin(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_blobstore *bs = q->r->bs;
	struct reg_meta *m = q->r->meta;
	if (!*q->ref)
		return post_begin(q);
	if (!uuid_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	struct reg_meta_upload u;
	int ex = m->ops->upload_get(m, q->ref, q->name, &u, &err);
	if (ex < 0)
		return reg_reply_internal(q, err);
	if (!ex)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	enum MHD_Result ret;
	if (!strcmp(q->method, "GET")) {
		uint64_t size = 0;
		int there = bs->ops->upload_stat(bs, q->ref, u.bs_state, &size, NULL, &err);
		if (there < 0)
			ret = reg_reply_internal(q, err);
		else if (!there)
			ret = reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
					      "blob upload unknown to registry");
		else
			ret = reply_upload(q, MHD_HTTP_NO_CONTENT, q->ref, size);
	} else if (!strcmp(q->method, "DELETE")) {
		ret = upload_cancel(q, &u);
	} else {
		const char *digest = reg_arg(q, "digest");
		if (!strcmp(q->method, "PUT") && (!digest || !oci_digest_valid(digest)))
			ret = reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
					      "a valid digest parameter is required");
		else
			ret = chunk_begin(q, &u);
	}
	reg_meta_upload_release(&u);
	return ret;
}

/* ---- final calls ---- */

static int drop_upload_row(struct reg_meta *m, const char *repo, void *ud, struct strata_error **err)
{
	(void)repo;
	return m->ops->upload_delete(m, ud, err) < 0 ? -1 : 0;
}

/* End the chunk being written (keep: its bytes become part of the upload). */
static int end_chunk(struct reg_req *q, bool keep, struct strata_error **err)
{
	struct reg_blob_writer *w = q->w;
	q->w = NULL;
	return w ? q->r->bs->ops->chunk_end(w, keep, err) : 0;
}

static enum MHD_Result finish_monolithic(struct reg_req *q)
{
	struct strata_error *err = NULL;
	if (q->body_failed) {
		end_chunk(q, false, NULL);
		strata_error_make(&err, q->body_errno, "write upload");
		return reg_reply_internal(q, err);
	}
	if (end_chunk(q, true, &err) < 0)
		return reg_reply_internal(q, err);
	const char *want = reg_arg(q, "digest");
	struct oci_digest d;
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&q->hash, hex);
	q->hashing = false;
	oci_digest_from_hex(&d, q->hash.alg, hex);
	if (strcmp(d.str, want))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "provided digest did not match uploaded content");
	if (reg_publish(q->r, q->temp_id, q->bs_state, want, (int64_t)q->written, q->name, NULL, NULL, &err) < 0)
		return reg_reply_internal(q, err);
	free(q->temp_id);
	q->temp_id = NULL;
	return reply_created(q, want);
}

static enum MHD_Result finish_chunk(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	uint64_t offset = q->offset;
	if (q->body_failed) {
		/* take the chunk back: a full disk must not stay full of a failed chunk */
		if (end_chunk(q, false, &err) < 0) {
			char *s = strata_error_string(err);
			LOG_WARN("take back upload %s: %s", q->ref, s);
			free(s);
			strata_error_free(err);
			err = NULL;
		}
		strata_error_make(&err, q->body_errno, "write upload");
		return reg_reply_internal(q, err);
	}
	if (q->range_start >= 0 && q->written != (uint64_t)(q->range_end - q->range_start + 1)) {
		/* the chunk does not match its Content-Range: take it back */
		if (end_chunk(q, false, &err) < 0) {
			char *s = strata_error_string(err);
			LOG_WARN("take back upload %s: %s", q->ref, s);
			free(s);
			strata_error_free(err);
		}
		q->body_failed = true;
		return reply_upload(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, q->ref, offset);
	}
	if (end_chunk(q, true, &err) < 0)
		return reg_reply_internal(q, err);
	uint64_t total = offset + q->written;
	if (!strcmp(q->method, "PATCH")) {
		unsigned char state[REG_SHA256_STATE_MAX];
		size_t n = reg_sha256_export(&q->shash, state);
		if (m->ops->upload_update(m, q->ref, state, n, total, &err) < 0)
			return reg_reply_internal(q, err);
		return reply_upload(q, MHD_HTTP_ACCEPTED, q->ref, total);
	}
	/* PUT: verify and publish */
	const char *want = reg_arg(q, "digest");
	struct oci_digest wd;
	oci_digest_parse(want, &wd, NULL);
	char hex[STRATA_HASH_HEX_MAX];
	struct oci_digest got;
	if (wd.alg == STRATA_HASH_SHA256) {
		reg_sha256_final(&q->shash, hex);
		q->shashing = false;
	} else {
		struct reg_blobstore *bs = q->r->bs;
		struct reg_blob_reader rd;
		struct strata_hash h;
		int o = bs->ops->upload_open(bs, q->ref, q->bs_state, &rd, &err);
		if (o <= 0) {
			if (!o)
				strata_error_make(&err, ENOENT, "upload '%s' vanished", q->ref);
			return reg_reply_internal(q, err);
		}
		int hr = reg_blob_reader_hash(&rd, wd.alg, total, &h, &err);
		reg_blob_reader_close(&rd);
		if (hr < 0)
			return reg_reply_internal(q, err);
		strata_hash_final(&h, hex);
	}
	oci_digest_from_hex(&got, wd.alg, hex);
	if (strcmp(got.str, want))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "provided digest did not match uploaded content");
	if (reg_publish(q->r, q->ref, q->bs_state, want, (int64_t)total, q->name, drop_upload_row, q->ref,
			&err) < 0)
		return reg_reply_internal(q, err);
	return reply_created(q, want);
}

enum MHD_Result reg_upload_handle(struct reg_req *q)
{
	if (!*q->ref)
		return finish_monolithic(q);
	return finish_chunk(q);
}
