/*
 * manifests.c — GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>.
 *
 * Manifests are stored as blobs (so they are deduplicated like everything
 * else) and described by a row of the manifests table: media type as
 * pushed, size, subject, artifactType, annotations. A PUT is accepted only
 * when every blob (config, layers) and every child manifest (index) it
 * references is in the repository; that check runs inside the publishing
 * transaction, so gc cannot remove a reference between check and commit.
 *
 * Content negotiation: a manifest is served in the media type it was pushed
 * with. When the request has Accept headers and none of them admits that
 * type (nor * / *), the answer is 404 MANIFEST_UNKNOWN, as distribution
 * does when it cannot convert. No Accept header at all serves the manifest.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct accept_ctx {
	const char *mt;
	bool any_header;
	bool match;
};

static enum MHD_Result accept_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct accept_ctx *a = cls;
	if (strcasecmp(key, "Accept") || !value)
		return MHD_YES;
	a->any_header = true;
	size_t mtlen = strlen(a->mt);
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',' && *end != ';' && *end != ' ')
			end++;
		size_t n = (size_t)(end - p);
		if ((n == mtlen && !strncasecmp(p, a->mt, n)) || (n == 3 && !strncmp(p, "*/*", 3)))
			a->match = true;
		p = end;
		while (*p && *p != ',')
			p++;
	}
	return MHD_YES;
}

static bool accepts(struct reg_req *q, const char *mt)
{
	struct accept_ctx a = { mt, false, false };
	MHD_get_connection_values(q->conn, MHD_HEADER_KIND, accept_iter, &a);
	return !a.any_header || a.match;
}

static bool is_digest_ref(const char *ref)
{
	return strchr(ref, ':') != NULL;
}

static enum MHD_Result manifest_get(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	bool by_digest = is_digest_ref(q->ref);
	if (by_digest && !oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	if (!by_digest && !oci_tag_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "invalid tag");
	cleanup_stmt sqlite3_stmt *st = NULL;
	const char *sql = by_digest ? "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
				      " LEFT JOIN manifests m ON m.repo = r.id AND m.digest = ?1"
				      " WHERE r.name = ?2"
				    : "SELECT r.id, m.digest, m.media_type, m.size, m.subject FROM repos r"
				      " LEFT JOIN tags t ON t.repo = r.id AND t.name = ?1"
				      " LEFT JOIN manifests m ON m.repo = r.id AND m.digest = t.digest"
				      " WHERE r.name = ?2";
	if (reg_prepare(db, sql, &st, &err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_text(st, 1, q->ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	if (rc != SQLITE_ROW) {
		reg_db_err(db, &err, "look up manifest");
		return reg_reply_internal(q, err);
	}
	if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
	cleanup_free char *digest = xstrdup((const char *)sqlite3_column_text(st, 1));
	cleanup_free char *mt = xstrdup((const char *)sqlite3_column_text(st, 2));
	uint64_t size = (uint64_t)sqlite3_column_int64(st, 3);
	cleanup_free char *subject =
		sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : xstrdup((const char *)sqlite3_column_text(st, 4));
	sqlite3_reset(st);
	if (!accepts(q, mt))
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN",
				       "manifest has media type '%s', which the Accept header excludes", mt);
	struct MHD_Response *resp;
	if (!strcmp(q->method, "HEAD")) {
		resp = reg_response_head(size);
	} else {
		cleanup_free char *path = reg_blob_path(q->r, digest);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
		resp = MHD_create_response_from_fd64(size, fd);
		if (!resp) {
			close(fd);
			return reg_reply_internal(q, NULL);
		}
		q->bytes_out = size;
	}
	MHD_add_response_header(resp, "Content-Type", mt);
	MHD_add_response_header(resp, "Docker-Content-Digest", digest);
	reg_add_header(resp, "ETag", "\"%s\"", digest);
	return reg_reply(q, MHD_HTTP_OK, resp);
}

static enum MHD_Result manifest_delete(struct reg_req *q, sqlite3 *db)
{
	struct strata_error *err = NULL;
	bool by_digest = is_digest_ref(q->ref);
	if (by_digest && !oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	int64_t repo = reg_repo_id(db, q->name, false, &err);
	if (repo < 0)
		return reg_reply_internal(q, err);
	if (!repo)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	if (reg_begin(db, true, &err) < 0)
		return reg_reply_internal(q, err);
	static const char *by_digest_sql[] = {
		"DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
		"DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
		"DELETE FROM refs WHERE repo = ?1 AND parent = ?2",
	};
	static const char *by_tag_sql[] = { "DELETE FROM tags WHERE repo = ?1 AND name = ?2" };
	const char **sqls = by_digest ? by_digest_sql : by_tag_sql;
	size_t n = by_digest ? 3 : 1;
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(db, sqls[i], &st, &err) < 0)
			goto fail;
		sqlite3_bind_int64(st, 1, repo);
		sqlite3_bind_text(st, 2, q->ref, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			reg_db_err(db, &err, "delete manifest");
			goto fail;
		}
		if (i == 0)
			found = sqlite3_changes(db);
	}
	if (!found) {
		reg_rollback(db);
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown");
	}
	if (reg_commit(db, &err) < 0)
		goto fail;
	return reg_reply_empty(q, MHD_HTTP_ACCEPTED);
fail:
	reg_rollback(db);
	return reg_reply_internal(q, err);
}

/* ---- PUT ---- */

struct put_ctx {
	const char *digest, *mt, *tag, *artifact_type, *subject;
	const char *annotations;
	int64_t size;
	json_t *blobs;     /* array of digests that must be linked */
	json_t *children;  /* array of digests that must be manifests here */
	char *missing;     /* set when a reference is absent */
	bool missing_is_manifest;
};

static int put_rows(sqlite3 *db, int64_t repo, void *ud, struct strata_error **err)
{
	struct put_ctx *c = ud;
	size_t i;
	json_t *v;
	json_array_foreach(c->blobs, i, v) {
		const char *d = json_string_value(v);
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(db, "SELECT 1 FROM links WHERE repo = ? AND digest = ?", &st, err) < 0)
			return -1;
		sqlite3_bind_int64(st, 1, repo);
		sqlite3_bind_text(st, 2, d, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			c->missing = xstrdup(d);
			return strata_error_make(err, 0, "blob '%s' unknown", d);
		}
	}
	json_array_foreach(c->children, i, v) {
		const char *d = json_string_value(v);
		cleanup_stmt sqlite3_stmt *st = NULL;
		if (reg_prepare(db, "SELECT 1 FROM manifests WHERE repo = ? AND digest = ?", &st, err) < 0)
			return -1;
		sqlite3_bind_int64(st, 1, repo);
		sqlite3_bind_text(st, 2, d, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			c->missing = xstrdup(d);
			c->missing_is_manifest = true;
			return strata_error_make(err, 0, "manifest '%s' unknown", d);
		}
	}
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"INSERT INTO manifests(repo, digest, media_type, size, artifact_type, subject,"
			" annotations, created) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT DO UPDATE SET created = excluded.created",
			&st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, c->digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->mt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->size);
	sqlite3_bind_text(st, 5, c->artifact_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->annotations, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE)
		return reg_db_err(db, err, "record manifest");
	for (int pass = 0; pass < 2; pass++) {
		json_t *arr = pass ? c->children : c->blobs;
		json_array_foreach(arr, i, v) {
			cleanup_stmt sqlite3_stmt *ins = NULL;
			if (reg_prepare(db,
					"INSERT OR IGNORE INTO refs(repo, parent, child, is_manifest)"
					" VALUES(?, ?, ?, ?)",
					&ins, err) < 0)
				return -1;
			sqlite3_bind_int64(ins, 1, repo);
			sqlite3_bind_text(ins, 2, c->digest, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, json_string_value(v), -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 4, pass);
			if (sqlite3_step(ins) != SQLITE_DONE)
				return reg_db_err(db, err, "record reference");
		}
	}
	if (c->tag) {
		cleanup_stmt sqlite3_stmt *t = NULL;
		if (reg_prepare(db,
				"INSERT INTO tags(repo, name, digest, updated) VALUES(?, ?, ?, ?)"
				" ON CONFLICT DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
				&t, err) < 0)
			return -1;
		sqlite3_bind_int64(t, 1, repo);
		sqlite3_bind_text(t, 2, c->tag, -1, SQLITE_STATIC);
		sqlite3_bind_text(t, 3, c->digest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(t, 4, (int64_t)time(NULL));
		if (sqlite3_step(t) != SQLITE_DONE)
			return reg_db_err(db, err, "record tag");
	}
	return 0;
}

static enum MHD_Result store(struct reg_req *q, sqlite3 *db, const struct oci_digest *d, struct put_ctx *c);

static enum MHD_Result invalid(struct reg_req *q, const char *msg)
{
	return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_INVALID", "manifest invalid: %s", msg);
}

static enum MHD_Result manifest_put(struct reg_req *q, sqlite3 *db)
{
	if (q->too_big)
		return reg_reply_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
				       "manifest is larger than %u bytes", REG_MANIFEST_MAX);
	bool by_digest = is_digest_ref(q->ref);
	struct oci_digest want;
	if (by_digest && oci_digest_parse(q->ref, &want, NULL) < 0)
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest");
	if (!by_digest && !oci_tag_valid(q->ref))
		return invalid(q, "invalid tag");
	struct oci_digest got;
	{
		struct strata_hash h;
		char hex[STRATA_HASH_HEX_MAX];
		enum strata_hash_alg alg = by_digest ? want.alg : STRATA_HASH_SHA256;
		strata_hash_init(&h, alg);
		strata_hash_update(&h, q->buf.data, q->buf.len);
		strata_hash_final(&h, hex);
		oci_digest_from_hex(&got, alg, hex);
	}
	if (by_digest && strcmp(got.str, q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
				       "manifest digest %s does not match %s", got.str, q->ref);

	struct reg_manifest m;
	cleanup_free char *why = NULL;
	int pr = reg_manifest_parse(q->buf.data, q->buf.len, reg_header(q, MHD_HTTP_HEADER_CONTENT_TYPE),
				    &m, &why);
	if (pr == REG_MANIFEST_UNSUPPORTED)
		return reg_reply_error(q, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED", "%s", why);
	if (pr < 0)
		return invalid(q, why);
	struct put_ctx c = { .digest = got.str, .mt = m.media_type, .tag = by_digest ? NULL : q->ref,
			     .size = (int64_t)q->buf.len, .blobs = m.blobs, .children = m.children,
			     .artifact_type = m.artifact_type, .subject = m.subject,
			     .annotations = m.annotations };
	enum MHD_Result ret = store(q, db, &got, &c);
	reg_manifest_release(&m);
	return ret;
}

static enum MHD_Result store(struct reg_req *q, sqlite3 *db, const struct oci_digest *d, struct put_ctx *cp)
{
	struct strata_error *err = NULL;
	struct put_ctx c = *cp;
	struct oci_digest got = *d;
	c.digest = got.str;
	/* write the bytes to a temp file and publish them like a blob */
	char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, 0, sizeof(rnd));
	cleanup_free char *tmp = xasprintf("%s/.manifest-%s-%016llx%016llx", q->r->uploads_dir,
					   got.hex, *(unsigned long long *)(void *)rnd,
					   *(unsigned long long *)(void *)(rnd + 8));
	cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		strata_error_make(&err, errno, "create '%s'", tmp);
		return reg_reply_internal(q, err);
	}
	if (strata_write_full(fd, q->buf.data, q->buf.len, tmp, &err) < 0) {
		unlink(tmp);
		return reg_reply_internal(q, err);
	}
	int rc = reg_publish(q->r, db, tmp, fd, got.str, c.size, q->name, put_rows, &c, &err);
	unlink(tmp);
	if (rc < 0) {
		if (c.missing) {
			strata_error_free(err);
			cleanup_free char *missing = c.missing;
			return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN",
					       "%s '%s' referenced by the manifest is unknown to the repository",
					       c.missing_is_manifest ? "manifest" : "blob", missing);
		}
		return reg_reply_internal(q, err);
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	reg_add_header(resp, "Location", "/v2/%s/manifests/%s", q->name, got.str);
	MHD_add_response_header(resp, "Docker-Content-Digest", got.str);
	if (c.subject)
		MHD_add_response_header(resp, "OCI-Subject", c.subject);
	q->bytes_out = 0;
	return reg_reply(q, MHD_HTTP_CREATED, resp);
}

enum MHD_Result reg_manifest_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	sqlite3 *db = reg_db(q->r, &err);
	if (!db)
		return reg_reply_internal(q, err);
	if (!strcmp(q->method, "PUT"))
		return manifest_put(q, db);
	if (!strcmp(q->method, "DELETE"))
		return manifest_delete(q, db);
	return manifest_get(q, db);
}
