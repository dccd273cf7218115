/*
 * tags.c — GET /v2/<name>/tags/list and GET /v2/_catalog, both lexically
 * ordered and paginated with ?n=&last= and an RFC 5988 Link header
 * (rel="next") when more entries follow.
 */
#include "registry/server/internal.h"

#include <string.h>

#define CATALOG_DEFAULT_N 1000
#define LIST_MAX_N 100000

/* A page of names being listed. */
struct page {
	sqlite3 *db;
	uint64_t n;        /* ?n=, UINT64_MAX when absent */
	const char *last;  /* ?last=, "" when absent */
	json_t *names;
	bool more;         /* another name follows the page */
};

static void page_release(struct page *p)
{
	json_decref(p->names);
}
#define cleanup_page __attribute__((cleanup(page_release)))

/* Fill the database and ?n=&last= in *p. @return 0, or -1 with the error reply in *ret. */
static int page_begin(struct reg_req *q, struct page *p, enum MHD_Result *ret)
{
	struct strata_error *err = NULL;
	memset(p, 0, sizeof(*p));
	p->db = reg_db(q->r, &err);
	if (!p->db) {
		*ret = reg_reply_internal(q, err);
		return -1;
	}
	const char *ns = reg_arg(q, "n");
	p->last = reg_arg(q, "last");
	if (!p->last)
		p->last = "";
	p->n = UINT64_MAX;
	if (ns && (reg_parse_u64(ns, &p->n) < 0)) {
		*ret = reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
				       "invalid number of results requested");
		return -1;
	}
	p->names = json_array();
	return 0;
}

/*
 * Step st and collect its first column into p->names, at most limit of them;
 * with authz, names the user may not pull are skipped. @return 0 or -1.
 */
static int page_collect(struct reg_req *q, struct page *p, sqlite3_stmt *st, uint64_t limit, bool authz,
			const char *what, struct strata_error **err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (authz && q->r->auth && !reg_auth_allowed(q->r->auth, q->user, name, REG_PULL))
			continue;
		if (json_array_size(p->names) == limit) {
			p->more = true;
			break;
		}
		json_array_append_new(p->names, json_string(name));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return reg_db_err(p->db, err, what);
	return 0;
}

/* Reply 200 with body, and a Link to path after the page's last name when more follow. */
static enum MHD_Result page_reply(struct reg_req *q, const struct page *p, json_t *body, uint64_t limit,
				  const char *path)
{
	size_t len;
	char *s = strata_json_dump(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (p->more && limit > 0)
		reg_add_link(resp, path, limit,
			     json_string_value(json_array_get(p->names, json_array_size(p->names) - 1)));
	q->bytes_out = len;
	return reg_reply(q, MHD_HTTP_OK, resp);
}

enum MHD_Result reg_tags_handle(struct reg_req *q)
{
	struct page p cleanup_page = { 0 };
	enum MHD_Result ret;
	if (page_begin(q, &p, &ret) < 0)
		return ret;
	struct strata_error *err = NULL;
	int64_t repo = reg_repo_id(p.db, q->name, false, &err);
	if (repo < 0)
		return reg_reply_internal(q, err);
	if (!repo)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	uint64_t limit = p.n > LIST_MAX_N ? LIST_MAX_N : p.n;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(p.db, "SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?", &st,
			&err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_int64(st, 1, repo);
	sqlite3_bind_text(st, 2, p.last, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)limit + 1);
	if (page_collect(q, &p, st, limit, false, "list tags", &err) < 0)
		return reg_reply_internal(q, err);
	cleanup_json json_t *body = json_pack("{s:s,s:O}", "name", q->name, "tags", p.names);
	cleanup_free char *path = xasprintf("%s/tags/list", q->name);
	return page_reply(q, &p, body, limit, path);
}

enum MHD_Result reg_catalog_handle(struct reg_req *q)
{
	struct page p cleanup_page = { 0 };
	enum MHD_Result ret;
	if (page_begin(q, &p, &ret) < 0)
		return ret;
	struct strata_error *err = NULL;
	uint64_t limit = p.n == UINT64_MAX ? CATALOG_DEFAULT_N : p.n > LIST_MAX_N ? LIST_MAX_N : p.n;
	cleanup_stmt sqlite3_stmt *st = NULL;
	if (reg_prepare(p.db,
			"SELECT name FROM repos r WHERE name > ? AND (EXISTS (SELECT 1 FROM manifests m"
			" WHERE m.repo = r.id) OR EXISTS (SELECT 1 FROM links l WHERE l.repo = r.id))"
			" ORDER BY name",
			&st, &err) < 0)
		return reg_reply_internal(q, err);
	sqlite3_bind_text(st, 1, p.last, -1, SQLITE_STATIC);
	if (page_collect(q, &p, st, limit, true, "list repositories", &err) < 0)
		return reg_reply_internal(q, err);
	cleanup_json json_t *body = json_pack("{s:O}", "repositories", p.names);
	return page_reply(q, &p, body, limit, "_catalog");
}
