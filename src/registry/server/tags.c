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
	struct reg_req *q;
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

/* Fill ?n=&last= in *p. @return 0, or -1 with the error reply in *ret. */
static int page_begin(struct reg_req *q, struct page *p, enum MHD_Result *ret)
{
	memset(p, 0, sizeof(*p));
	p->q = q;
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

/* Collect repository names into the page (those the user may not pull are skipped). */
static int collect_repo(void *ud, const char *name)
{
	struct page *p = ud;
	struct reg_req *q = p->q;
	if (q->r->auth && !reg_auth_allowed(q->r->auth, q->user, name, REG_PULL))
		return 0;
	if (json_array_size(p->names) == p->n) {
		p->more = true;
		return 1;
	}
	json_array_append_new(p->names, json_string(name));
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
	struct reg_meta *m = q->r->meta;
	uint64_t limit = p.n > LIST_MAX_N ? LIST_MAX_N : p.n;
	int rc = m->ops->tags_list(m, q->name, p.last, limit + 1, p.names, &err);
	if (rc < 0)
		return reg_reply_internal(q, err);
	if (!rc)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
				       "repository name not known to registry");
	if (json_array_size(p.names) > limit) {
		p.more = true;
		json_array_remove(p.names, json_array_size(p.names) - 1);
	}
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
	struct reg_meta *m = q->r->meta;
	uint64_t limit = p.n == UINT64_MAX ? CATALOG_DEFAULT_N : p.n > LIST_MAX_N ? LIST_MAX_N : p.n;
	p.n = limit;
	if (m->ops->repos_list(m, p.last, collect_repo, &p, &err) < 0)
		return reg_reply_internal(q, err);
	cleanup_json json_t *body = json_pack("{s:O}", "repositories", p.names);
	return page_reply(q, &p, body, limit, "_catalog");
}
