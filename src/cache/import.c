/*
 * import.c — --cache-from: read a source's manifest and config (never a
 * layer) into the lookup table (see cache.h).
 */
#include "cache/cache.h"

#include <string.h>

#include "cache/internal.h"

#define CONFIG_MAX (8u << 20)

struct rcache_table *rcache_table_new(void)
{
	struct rcache_table *t = xcalloc(1, sizeof(*t));
	t->index = json_object();
	t->copies = json_object();
	return t;
}

void rcache_table_free(struct rcache_table *t)
{
	if (!t)
		return;
	rcache_record_release(&t->all);
	for (size_t i = 0; i < t->n_src; i++) {
		free(t->src[i]->ref);
		free(t->src[i]->host);
		free(t->src[i]->repo);
		free(t->src[i]);
	}
	free(t->src);
	for (size_t i = 0; i < t->n_mounts; i++)
		rcache_mount_release(&t->mounts[i]);
	free(t->mounts);
	json_decref(t->index);
	json_decref(t->copies);
	free(t);
}

void rcache_import_result_release(struct rcache_import_result *r)
{
	free(r->kind);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

const struct rcache_entry *rcache_table_lookup(const struct rcache_table *t, const char *key)
{
	if (!t || !key)
		return NULL;
	json_t *i = json_object_get(t->index, key);
	return i ? &t->all.v[json_integer_value(i)] : NULL;
}

/* an entry whose inputs can stand for its COPY --from source set: the digest and every file */
static bool copy_usable(const struct rcache_entry *e)
{
	const char *src = json_string_value(json_object_get(e->inputs, "sources"));
	return e->sources_id && src && strlen(src) == 64 && strspn(src, "0123456789abcdef") == 64 &&
	       json_is_object(json_object_get(e->inputs, "files")) &&
	       !json_is_true(json_object_get(e->inputs, "files_truncated"));
}

json_t *rcache_table_copy_sources(const struct rcache_table *t, const char *sources_id)
{
	json_t *i = t && sources_id ? json_object_get(t->copies, sources_id) : NULL;
	if (!i)
		return NULL;
	const json_t *in = t->all.v[json_integer_value(i)].inputs;
	return json_pack("{s:O,s:O}", "sources", json_object_get(in, "sources"), "files", json_object_get(in, "files"));
}

const struct rcache_entry *rcache_table_entries(const struct rcache_table *t, size_t *n)
{
	*n = t->all.n;
	return t->all.v;
}

size_t rcache_table_sources(const struct rcache_table *t)
{
	return t->n_src;
}

static int buf_sink_write(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	if (strata_buf_add(ctx, p, n) < 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "config larger than %u bytes", CONFIG_MAX);
	return 0;
}

/*
 * The reason shown for a source that could not be read: the innermost
 * message. first_get: the error came from GET of the reference itself (a
 * missing tag is then the normal first build).
 */
static char *reason(struct strata_error *e, bool first_get)
{
	int code = 0;
	const struct strata_error *in = e;
	for (const struct strata_error *x = e; x; x = x->cause) {
		if (x->code && !code)
			code = x->code;
		in = x;
	}
	const char *msg = in->msg;
	if (code == STRATA_E_NOTFOUND && first_get)
		return xstrdup("not found (first build?)");
	cleanup_free char *full = strata_error_string(in);
	if (code == STRATA_E_AUTH)
		return xasprintf("unauthorized: %s", full);
	/* the registry client's transport words (rc_transport_failure) */
	if (strstr(msg, "connection refused") || strstr(msg, "DNS lookup failed") || strstr(msg, "could not connect") ||
	    strstr(msg, "no route to host") || strstr(msg, "timed out"))
		return xasprintf("unreachable: %s", full);
	return STRATA_STEAL(full);
}

void rcache_import_fail(struct rcache_import_result *res, const char *ref, struct strata_error *e, bool first_get)
{
	cleanup_free char *why = reason(e, first_get);
	res->status = RCACHE_SOURCE_FAILED;
	res->message = xasprintf("warning: --cache-from %s: %s", ref, why);
	strata_error_free(e);
}

/* GET the image manifest of ref (selecting platform from an index). */
static int get_manifest(struct regclient *c, const struct oci_ref *r, const char *platform, json_t **out,
			bool *first_get, struct strata_error **err)
{
	struct regclient_manifest m = { 0 };
	*first_get = true;
	if (regclient_manifest_get(c, r->domain, r->path, r->digest ? r->digest : r->tag, false, &m, err) < 0)
		return -1;
	*first_get = false;
	if (m.media_type && oci_mt_is_index(m.media_type)) {
		cleanup_free char *dg = NULL;
		int x = regclient_index_select(m.data, m.len, platform, &dg, NULL, err);
		regclient_manifest_release(&m);
		if (x < 0 || regclient_manifest_get(c, r->domain, r->path, dg, false, &m, err) < 0)
			return -1;
	}
	int ret = strata_json_parse(m.data, m.len, "manifest", out, err);
	regclient_manifest_release(&m);
	return ret;
}

int rcache_table_take(struct rcache_table *t, const char *ref, const char *host, const char *repo, const json_t *man,
		      const json_t *cfg, struct rcache_import_result *res, struct strata_error **err)
{
	struct rcache_record rec = { 0 };
	bool artifact = rcache_is_artifact(man);
	struct rcache_mount *mounts = NULL;
	size_t nm = 0;
	int got;
	if (artifact)
		got = rcache_artifact_decode(man, cfg, &rec, err) < 0 ? -1 : 1;
	else
		got = rcache_config_get(cfg, json_object_get(man, "layers"), &rec, err);
	if (got < 0)
		return -1;
	if (artifact && rcache_artifact_mounts(man, cfg, &mounts, &nm, err) < 0) {
		rcache_record_release(&rec);
		return -1;
	}
	if (got == 0) {
		res->status = RCACHE_SOURCE_EMPTY;
		res->message = xasprintf("note: --cache-from %s: no strata cache metadata (image not built by strata)",
					 ref);
		return 0;
	}
	struct rcache_source *src = xcalloc(1, sizeof(*src));
	src->ref = xstrdup(ref);
	src->host = xstrdup(host);
	src->repo = xstrdup(repo);
	src->order = t->n_src;
	const char *created = json_string_value(json_object_get(cfg, "created"));
	if (created)
		oci_time_parse(created, &src->created);
	t->src = xreallocarray(t->src, t->n_src + 1, sizeof(*t->src));
	t->src[t->n_src++] = src;
	for (size_t i = 0; i < rec.n; i++) {
		rec.v[i].source = src->ref;
		rec.v[i].host = src->host;
		rec.v[i].repo = src->repo;
		if (!json_object_get(t->index, rec.v[i].key))
			json_object_set_new(t->index, rec.v[i].key, json_integer((json_int_t)t->all.n));
		if (copy_usable(&rec.v[i]) && !json_object_get(t->copies, rec.v[i].sources_id))
			json_object_set_new(t->copies, rec.v[i].sources_id, json_integer((json_int_t)t->all.n));
		/* the entry moves into the table without a copy */
		t->all.v = xreallocarray(t->all.v, t->all.n + 1, sizeof(*t->all.v));
		t->all.v[t->all.n++] = rec.v[i];
		res->entries++;
	}
	free(rec.v);
	for (size_t i = 0; i < nm; i++) {
		bool dup = false;
		for (size_t k = 0; k < t->n_mounts && !dup; k++)
			dup = !strcmp(t->mounts[k].id, mounts[i].id);
		if (dup) {
			rcache_mount_release(&mounts[i]);
			continue;
		}
		mounts[i].source = src->ref;
		mounts[i].host = src->host;
		mounts[i].repo = src->repo;
		t->mounts = xreallocarray(t->mounts, t->n_mounts + 1, sizeof(*t->mounts));
		t->mounts[t->n_mounts++] = mounts[i];
		res->mounts++;
	}
	free(mounts);
	res->status = RCACHE_SOURCE_OK;
	res->kind = xstrdup(artifact ? "cache artifact" : "image");
	return 0;
}

int rcache_import(struct rcache_table *t, struct regclient *c, const char *ref, const char *platform,
		  struct rcache_import_result *res, struct strata_error **err)
{
	memset(res, 0, sizeof(*res));
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0) {
		strata_error_set_code(err, STRATA_E_USAGE);
		return strata_error_wrap(err, "--cache-from");
	}
	struct regclient_stats before, after;
	regclient_stats_get(c, &before);
	struct strata_error *e = NULL;
	cleanup_json json_t *man = NULL, *cfg = NULL;
	struct strata_buf cb;
	strata_buf_init(&cb, CONFIG_MAX);
	const char *cdg = NULL;
	int64_t csize = -1;
	json_t *cdesc = NULL;
	bool first_get = false;
	if (get_manifest(c, &r, platform, &man, &first_get, &e) < 0 ||
	    strata_json_get_object(man, "config", true, "manifest", &cdesc, &e) < 0 ||
	    strata_json_get_string(cdesc, "digest", true, "manifest config", &cdg, &e) < 0 ||
	    strata_json_get_int(cdesc, "size", true, "manifest config", &csize, &e) < 0)
		goto failed;
	struct strata_sink sink = { buf_sink_write, &cb };
	if (csize < 0 || csize > CONFIG_MAX) {
		strata_error_makec(&e, STRATA_E_INVALID, 0, "config of %lld bytes", (long long)csize);
		goto failed;
	}
	if (regclient_blob_get(c, r.domain, r.path, cdg, (uint64_t)csize, &sink, NULL, &e) < 0 ||
	    strata_json_parse(cb.data, cb.len, "config", &cfg, &e) < 0)
		goto failed;

	regclient_stats_get(c, &after);
	res->moved.requests = after.requests - before.requests;
	res->moved.bytes_down = after.bytes_down - before.bytes_down;
	res->moved.bytes_up = after.bytes_up - before.bytes_up;
	res->moved.blob_bytes_down = after.blob_bytes_down - before.blob_bytes_down;
	if (rcache_table_take(t, ref, r.domain, r.path, man, cfg, res, &e) < 0)
		goto failed;
	strata_buf_release(&cb);
	return 0;

failed:
	strata_buf_release(&cb);
	regclient_stats_get(c, &after);
	res->moved.requests = after.requests - before.requests;
	res->moved.bytes_down = after.bytes_down - before.bytes_down;
	res->moved.bytes_up = after.bytes_up - before.bytes_up;
	res->moved.blob_bytes_down = after.blob_bytes_down - before.blob_bytes_down;
	rcache_import_fail(res, ref, e, first_get);
	return 0;
}
