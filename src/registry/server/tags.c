/*
 * tags.c — GET /v2/<name>/tags/list and GET /v2/_catalog, both lexically
 * ordered and paginated with ?n=&last= and an RFC 5988 Link header
 * (rel="next") when more entries follow.
 */
#include "registry/server/internal.h"

#include <string.h>

#define CATALOG_DEFAULT_N 1000
#define LIST_MAX_N 100000

/*
 * The database and the page asked for: *n (UINT64_MAX when absent) and
 * *last ("" when absent). @return 0, or -1 with the error reply in *ret.
 */
static int page_begin(struct reg_req *q, sqlite3 **db, uint64_t *n, const char **last, enum MHD_Result *ret)
{
	struct strata_error *err = NULL;
	*db = reg_db(q->r, &err);
	if (!*db) {
		*ret = reg_reply_internal(q, err);
		return -1;
	}
	const char *ns = reg_arg(q, "n");
	*last = reg_arg(q, "last");
	if (!*last)
		*last = "";
	*n = UINT64_MAX;
	if (ns && (reg_parse_u64(ns, n) < 0)) {
		*ret = reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
				       "invalid number of results requested");
		return -1;
	}
	return 0;
}

/* Reply 200 with body, and a Link to path after the last name in list when more follow. */
static enum MHD_Result page_reply(struct reg_req *q, json_t *body, json_t *list, bool more, uint64_t limit,
				  const char *path)
{
	size_t len;
	char *s = strata_json_dump(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (more && limit > 0)
		reg_add_link(resp, path, limit, json_string_value(json_array_get(list, json_array_size(list) - 1)));
	q->bytes_out = len;
	return reg_reply(q, MHD_HTTP_OK, resp);
}

enum MHD_Result reg_tags_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	sqlite3 *db;
	uint64_t n;
	const char *last;
	enum MHD_Result ret;
	if (page_begin(q, &db, &n, &last, &ret) < 0)
		return ret;
	int64_t repo = reg_repo_id(db, q->name, false, &err);
	if (repo < 0)
		return reg_reply_internal(q, err);
	if (!repo)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	uint64_t limit = n > LIST_MAX_N ? LIST_MAX_N : n;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db, "SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?", &st,
			&err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, last, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)limit + 1);
	cleanup_json json_t *tags = json_array();
	bool more = false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (json_array_size(tags) == limit) {
			more = true;
			break;
		}
		json_array_append_new(tags, json_string((const char *)sqlite3_column_text(st, 0)));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		reg_db_err(db, &err, "list tags");
		return reg_reply_internal(q, err);
	}
	cleanup_json json_t *body = json_pack("{s:s,s:O}", "name", q->name, "tags", tags);
	cleanup_free char *path = xasprintf("%s/tags/list", q->name);
	return page_reply(q, body, tags, more, limit, path);
}

enum MHD_Result reg_catalog_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	sqlite3 *db;
	uint64_t n;
	const char *last;
	enum MHD_Result ret;
	if (page_begin(q, &db, &n, &last, &ret) < 0)
		return ret;
	uint64_t limit = n == UINT64_MAX ? CATALOG_DEFAULT_N : n > LIST_MAX_N ? LIST_MAX_N : n;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(db,
			"SELECT name FROM repos r WHERE name > ? AND (EXISTS (SELECT 1 FROM manifests m"
			" WHERE m.repo = r.id) OR EXISTS (SELECT 1 FROM links l WHERE l.repo = r.id))"
			" ORDER BY name",
			&st, &err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_text(st, 1, last, -1, SQLITE_STATIC);
	cleanup_json json_t *repos = json_array();
	bool more = false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (q->r->auth && !reg_auth_allowed(q->r->auth, q->user, name, REG_PULL))
			continue;
		if (json_array_size(repos) == limit) {
			more = true;
			break;
		}
		json_array_append_new(repos, json_string(name));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		reg_db_err(db, &err, "list repositories");
		return reg_reply_internal(q, err);
	}
	cleanup_json json_t *body = json_pack("{s:O}", "repositories", repos);
	return page_reply(q, body, repos, more, limit, "_catalog");
}
