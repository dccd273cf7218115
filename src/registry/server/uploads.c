/*
 * uploads.c — /v2/<name>/blobs/uploads/: session creation (POST), cross-repo
 * mount (?mount=&from=), monolithic upload (POST ?digest=), chunks (PATCH,
 * Content-Range rules with 416), completion (PUT ?digest=), status (GET) and
 * cancel (DELETE).
 *
 * Session state: the bytes live in ROOT/uploads/<uuid> (its size is the
 * offset, the source of truth) and the row in the uploads table. The sha256
 * state over those bytes is kept in memory between requests (struct
 * reg_session) so a chunked upload is hashed once; when it is missing or
 * stale (restart, eviction, a failed chunk) the file is re-hashed from disk
 * before the next chunk. One request at a time per session: a concurrent
 * chunk gets 416.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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

static bool count_upload(struct reg_req *q)
{
	struct registry *r = q->r;
	pthread_mutex_lock(&r->lock);
	bool ok = r->uploads_active < r->cfg.max_uploads;
	if (ok)
		r->uploads_active++;
	pthread_mutex_unlock(&r->lock);
	q->counted_upload = ok;
	return ok;
}

static enum MHD_Result too_many(struct reg_req *q)
{
	return reg_reply_error(q, MHD_HTTP_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS",
			       "too many uploads in progress, retry later");
}

/* Is uuid a session of repository name? @return 1, 0 or -1 */
static int session_exists(sqlite3 *db, const char *uuid, const char *name, struct strata_error **err)
{
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "SELECT 1 FROM uploads WHERE uuid = ? AND repo = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return reg_db_err(db, err, "look up upload");
	return 0;
}

static char *session_path(struct registry *r, const char *uuid)
{
	return xasprintf("%s/%s", r->uploads_dir, uuid);
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

static enum MHD_Result create_session(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	char uuid[33];
	new_uuid(uuid);
	cleanup_free char *path = session_path(q->r, uuid);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		strata_error_make(&err, errno, "create '%s'", path);
		return reg_reply_internal(q, err);
	}
	close(fd);
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "INSERT INTO uploads(uuid, repo, created, updated) VALUES(?, ?, ?, ?)", &st,
			&err) < 0) {
		unlink(path);
		return reg_reply_internal(q, err);
	}
	int64_t now = (int64_t)time(NULL);
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		unlink(path);
		reg_db_err(db, &err, "create upload");
		return reg_reply_internal(q, err);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	add_upload_headers(q, resp, uuid, 0);
	reg_add_header(resp, "OCI-Chunk-Min-Length", "%u", REG_CHUNK_MIN_HINT);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_ACCEPTED, resp);
}

/* @return 1 mounted, 0 not available here, -1 error */
static int try_mount(struct reg_req *q, sqlite3 *db, const char *digest, const char *from,
		     struct strata_error **err)
{
	if (reg_begin(db, true, err) < 0)
		return -1;
	int linked = reg_blob_linked(db, from, digest, NULL, err);
	if (linked <= 0) {
		reg_rollback(db);
		return linked;
	}
	int64_t repo = reg_repo_id(db, q->name, true, err);
	if (repo < 0 || reg_link_blob(db, repo, digest, err) < 0 || reg_commit(db, err) < 0) {
		reg_rollback(db);
		return -1;
	}
	return 1;
}

static enum MHD_Result post_begin(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
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
			int m = try_mount(q, db, mount, from, &err);
			if (m < 0)
				return reg_reply_internal(q, err);
			if (m)
				return reply_created(q, mount);
		}
		return create_session(q, db);
	}
	if (!digest)
		return create_session(q, db);
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, NULL) < 0)
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest '%s'",
				       digest);
	if (!count_upload(q))
		return too_many(q);
	char uuid[33];
	new_uuid(uuid);
	q->tmp = xasprintf("%s/.mono-%s", q->r->uploads_dir, uuid);
	q->fd = open(q->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (q->fd < 0) {
		strata_error_make(&err, errno, "create '%s'", q->tmp);
		free(q->tmp);
		q->tmp = NULL;
		return reg_reply_internal(q, err);
	}
	q->body = BODY_FILE;
	strata_hash_init(&q->hash, d.alg);
	q->hashing = true;
	return MHD_YES;
}

/* ---- PATCH / PUT body setup ---- */

static enum MHD_Result chunk_begin(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct registry *r = q->r;
	bool busy = false;
	struct reg_session *s = reg_session_acquire(r, q->ref, &busy);
	if (!s)
		return reg_reply_error(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID",
				       "another request is writing to this upload");
	q->sess = s;
	cleanup_free char *path = session_path(r, q->ref);
	q->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	struct stat st;
	if (q->fd < 0 || fstat(q->fd, &st) < 0)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	uint64_t offset = (uint64_t)st.st_size;
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
	if (!count_upload(q))
		return too_many(q);
	if (!s->valid || s->offset != offset || !s->hash.ctx) {
		strata_hash_release(&s->hash);
		cleanup_close int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd < 0 || reg_hash_file(rfd, STRATA_HASH_SHA256, offset, &q->hash, &err) < 0) {
			if (rfd < 0)
				strata_error_make(&err, errno, "open '%s'", path);
			return reg_reply_internal(q, err);
		}
	} else {
		q->hash = s->hash;
		s->hash.ctx = NULL;
	}
	s->offset = offset;
	s->valid = false;
	q->hashing = true;
	q->body = BODY_FILE;
	return MHD_YES;
bad_range: {
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	add_upload_headers(q, resp, q->ref, offset);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}
}

enum MHD_Result reg_upload_begin(struct reg_req *q)
{
	struct strata_error *err = NULL;
	sqlite3 *db = reg_db(q->r, &err);
	if (!db)
		return reg_reply_internal(q, err);
	if (!*q->ref)
		return post_begin(q, db);
	if (!uuid_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	int ex = session_exists(db, q->ref, q->name, &err);
	if (ex < 0)
		return reg_reply_internal(q, err);
	if (!ex)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
				       "blob upload unknown to registry");
	cleanup_free char *path = session_path(q->r, q->ref);
	if (!strcmp(q->method, "GET")) {
		struct stat st;
		if (stat(path, &st) < 0)
			return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
					       "blob upload unknown to registry");
		return reply_upload(q, MHD_HTTP_NO_CONTENT, q->ref, (uint64_t)st.st_size);
	}
	if (!strcmp(q->method, "DELETE")) {
		bool busy = false;
		struct reg_session *s = reg_session_acquire(q->r, q->ref, &busy);
		if (!s)
			return reg_reply_error(q, MHD_HTTP_CONFLICT, "BLOB_UPLOAD_INVALID",
					       "upload is in use");
		reg_session_forget(q->r, q->ref);
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(db, "DELETE FROM uploads WHERE uuid = ?", &st, &err) < 0)
			return reg_reply_internal(q, err);
		sqlite3_bind_text(st, 1, q->ref, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			reg_db_err(db, &err, "delete upload");
			return reg_reply_internal(q, err);
		}
		unlink(path);
		return reg_reply_empty(q, MHD_HTTP_NO_CONTENT);
	}
	if (!strcmp(q->method, "PUT")) {
		const char *digest = reg_arg(q, "digest");
		if (!digest || !oci_digest_valid(digest))
			return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
					       "a valid digest parameter is required");
	}
	return chunk_begin(q);
}

/* ---- final calls ---- */

static int drop_upload_row(sqlite3 *db, int64_t repo, void *ud, struct strata_error **err)
{
	(void)repo;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "DELETE FROM uploads WHERE uuid = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, ud, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return reg_db_err(db, err, "delete upload");
	return 0;
}

static enum MHD_Result finish_monolithic(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	if (q->body_failed) {
		strata_error_make(&err, q->body_errno, "write upload");
		return reg_reply_internal(q, err);
	}
	const char *want = reg_arg(q, "digest");
	struct oci_digest d;
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_final(&q->hash, hex);
	q->hashing = false;
	oci_digest_from_hex(&d, q->hash.alg, hex);
	if (strcmp(d.str, want))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "provided digest did not match uploaded content");
	if (reg_publish(q->r, db, q->tmp, q->fd, want, (int64_t)q->written, q->name, NULL, NULL, &err) < 0)
		return reg_reply_internal(q, err);
	free(q->tmp);
	q->tmp = NULL;
	return reply_created(q, want);
}

static enum MHD_Result finish_chunk(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	struct reg_session *s = q->sess;
	uint64_t offset = s->offset;
	if (q->body_failed) {
		/* take the chunk back: a full disk must not stay full of a failed chunk */
		if (ftruncate(q->fd, (off_t)offset) < 0)
			LOG_WARN("truncate upload %s: %s", q->ref, strerror(errno));
		strata_error_make(&err, q->body_errno, "write upload");
		return reg_reply_internal(q, err);
	}
	if (q->range_start >= 0 && q->written != (uint64_t)(q->range_end - q->range_start + 1)) {
		/* the chunk does not match its Content-Range: take it back */
		if (ftruncate(q->fd, (off_t)offset) < 0)
			LOG_WARN("truncate upload %s: %s", q->ref, strerror(errno));
		q->body_failed = true;
		return reply_upload(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, q->ref, offset);
	}
	uint64_t total = offset + q->written;
	if (!strcmp(q->method, "PATCH")) {
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(db, "UPDATE uploads SET updated = ? WHERE uuid = ?", &st, &err) < 0)
			return reg_reply_internal(q, err);
		sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
		sqlite3_bind_text(st, 2, q->ref, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			reg_db_err(db, &err, "update upload");
			return reg_reply_internal(q, err);
		}
		return reply_upload(q, MHD_HTTP_ACCEPTED, q->ref, total);
	}
	/* PUT: verify and publish */
	const char *want = reg_arg(q, "digest");
	struct oci_digest wd;
	oci_digest_parse(want, &wd, NULL);
	char hex[STRATA_HASH_HEX_MAX];
	struct oci_digest got;
	cleanup_free char *path = session_path(q->r, q->ref);
	if (wd.alg == STRATA_HASH_SHA256) {
		struct strata_hash copy = q->hash;
		q->hashing = false; /* the state is consumed: a retry re-hashes the file */
		strata_hash_final(&copy, hex);
	} else {
		struct strata_hash h;
		cleanup_close int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd < 0 || reg_hash_file(rfd, wd.alg, total, &h, &err) < 0) {
			if (rfd < 0)
				strata_error_make(&err, errno, "open '%s'", path);
			return reg_reply_internal(q, err);
		}
		strata_hash_final(&h, hex);
	}
	oci_digest_from_hex(&got, wd.alg, hex);
	if (strcmp(got.str, want))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "provided digest did not match uploaded content");
	if (reg_publish(q->r, db, path, q->fd, want, (int64_t)total, q->name, drop_upload_row, q->ref,
			&err) < 0)
		return reg_reply_internal(q, err);
	struct reg_session *sess = q->sess;
	pthread_mutex_lock(&q->r->lock);
	sess->busy = false;
	pthread_mutex_unlock(&q->r->lock);
	q->sess = NULL;
	reg_session_forget(q->r, q->ref);
	return reply_created(q, want);
}

enum MHD_Result reg_upload_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	sqlite3 *db = reg_db(q->r, &err);
	if (!db)
		return reg_reply_internal(q, err);
	if (!*q->ref)
		return finish_monolithic(q, db);
	return finish_chunk(q, db);
}
