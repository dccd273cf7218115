/*
 * transfer.c — whole-image pull and push (see transfer.h).
 */
#include "registry/transfer.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>

#include "oci/oci.h"

void regxfer_result_release(struct regxfer_result *r)
{
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

struct blobref {
	char *digest;
	uint64_t size;
};

struct plan {
	struct regclient *c;
	const struct regxfer_local *l;
	const struct regclient_progress *prog;
	const char *host, *repo;
	struct blobref *b;
	size_t n;
	struct regxfer_result *res;
	pthread_mutex_t lock;
};

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->b[i].digest);
	free(p->b);
	p->b = NULL;
	p->n = 0;
}

static void plan_add(struct plan *p, const char *digest, uint64_t size)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->b[i].digest, digest))
			return;
	p->b = xreallocarray(p->b, p->n + 1, sizeof(*p->b));
	p->b[p->n].digest = xstrdup(digest);
	p->b[p->n].size = size;
	p->n++;
}

static int add_descriptor(struct plan *p, json_t *d, const char *what, struct strata_error **err)
{
	const char *dg = NULL;
	int64_t size = 0;
	if (strata_json_get_string(d, "digest", true, what, &dg, err) < 0 ||
	    strata_json_get_int(d, "size", true, what, &size, err) < 0)
		return -1;
	if (!oci_digest_valid(dg) || size < 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid descriptor '%s'", what, dg);
	plan_add(p, dg, (uint64_t)size);
	return 0;
}

/* Collect the config and layers of an image manifest. */
static int plan_manifest(struct plan *p, const char *data, size_t len, struct strata_error **err)
{
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(data, len, "manifest", &j, err) < 0)
		return -1;
	int64_t sv = 0;
	if (strata_json_get_int(j, "schemaVersion", true, "manifest", &sv, err) < 0)
		return -1;
	if (sv != 2)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "manifest schema version %lld is not supported", (long long)sv);
	json_t *cfg = NULL, *layers = NULL;
	if (strata_json_get_object(j, "config", true, "manifest", &cfg, err) < 0 ||
	    strata_json_get_array(j, "layers", true, "manifest", &layers, err) < 0)
		return -1;
	if (add_descriptor(p, cfg, "manifest config", err) < 0)
		return -1;
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		if (add_descriptor(p, l, "manifest layer", err) < 0)
			return -1;
	}
	return 0;
}

/* Blob context helps for a corrupt or missing blob, not for an auth failure (the same for every blob). */
static int blob_error(struct strata_error **err, const char *digest)
{
	if (err && *err && strata_error_code(*err) == STRATA_E_AUTH)
		return -1;
	return strata_error_wrap(err, "blob '%s'", digest);
}

static void count(struct plan *p, size_t *field, uint64_t bytes)
{
	pthread_mutex_lock(&p->lock);
	(*field)++;
	p->res->bytes += bytes;
	pthread_mutex_unlock(&p->lock);
}

static int pull_job(void *ctx, size_t i, struct strata_error **err)
{
	struct plan *p = ctx;
	const struct blobref *b = &p->b[i];
	int has = p->l->has_blob(p->l->ctx, b->digest, err);
	if (has < 0)
		return -1;
	if (has) {
		count(p, &p->res->blobs_skipped, 0);
		if (p->prog && p->prog->fn)
			p->prog->fn(p->prog->ctx, b->digest, b->size, b->size, "exists");
		return 0;
	}
	struct strata_sink sink;
	void *h = NULL;
	if (p->l->blob_begin(p->l->ctx, b->digest, &sink, &h, err) < 0)
		return -1;
	if (regclient_blob_fetch(p->c, p->host, p->repo, b->digest, b->size, &sink, !p->l->commit_verifies, p->prog,
				 err) < 0) {
		p->l->blob_abort(p->l->ctx, h);
		return blob_error(err, b->digest);
	}
	if (p->l->blob_commit(p->l->ctx, h, err) < 0)
		return strata_error_wrap(err, "blob '%s'", b->digest);
	if (p->l->commit_verifies && p->prog && p->prog->fn)
		p->prog->fn(p->prog->ctx, b->digest, b->size, b->size, "done");
	count(p, &p->res->blobs_moved, b->size);
	return 0;
}

int regclient_pull_image(struct regclient *c, const char *ref, const char *platform,
			 const struct regxfer_local *local, const struct regclient_progress *prog,
			 struct regxfer_result *out, struct strata_error **err)
{
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0)
		return strata_error_wrap(err, "pull");
	struct regclient_manifest m = { 0 }, child = { 0 };
	struct plan p = { .c = c, .l = local, .prog = prog, .host = r.domain, .repo = r.path, .res = out };
	pthread_mutex_init(&p.lock, NULL);
	memset(out, 0, sizeof(*out));
	int ret = -1;
	cleanup_free char *name = NULL;
	const char *what = r.digest ? r.digest : r.tag;
	if (regclient_manifest_get(c, r.domain, r.path, what, false, &m, err) < 0)
		goto out;
	struct regclient_manifest *img = &m;
	if (m.media_type && oci_mt_is_index(m.media_type)) {
		cleanup_free char *cd = NULL;
		if (regclient_index_select(m.data, m.len, platform, &cd, NULL, err) < 0)
			goto out;
		if (regclient_manifest_get(c, r.domain, r.path, cd, false, &child, err) < 0)
			goto out;
		img = &child;
	}
	if (!img->media_type || !oci_mt_is_manifest(img->media_type)) {
		strata_error_makec(err, STRATA_E_INVALID, 0, "unsupported manifest type '%s'",
				   img->media_type ? img->media_type : "(none)");
		goto out;
	}
	if (plan_manifest(&p, img->data, img->len, err) < 0)
		goto out;
	if (regclient_run_parallel(p.n, regclient_parallel(c), pull_job, &p, err) < 0)
		goto out;
	if (local->manifest_put(local->ctx, img->digest, img->media_type, img->data, img->len, err) < 0)
		goto out;
	name = oci_ref_string(&r);
	if (local->tag && local->tag(local->ctx, name, img->digest, img->media_type, err) < 0)
		goto out;
	if (local->seen)
		for (size_t i = 0; i < p.n; i++)
			local->seen(local->ctx, r.domain, r.path, p.b[i].digest);
	out->digest = xstrdup(img->digest);
	ret = 0;
out:
	if (ret < 0) {
		/* name the tag the user left implicit: "pull host/app:latest: MANIFEST_UNKNOWN" */
		size_t n = strlen(ref), t = r.tag ? strlen(r.tag) : 0;
		bool implicit = !r.digest && r.tag &&
				!(n > t && ref[n - t - 1] == ':' && !strcmp(ref + n - t, r.tag));
		strata_error_wrap(err, "pull %s%s%s", ref, implicit ? ":" : "", implicit ? r.tag : "");
	}
	regclient_manifest_release(&m);
	regclient_manifest_release(&child);
	plan_release(&p);
	pthread_mutex_destroy(&p.lock);
	return ret;
}

static int push_job(void *ctx, size_t i, struct strata_error **err)
{
	struct plan *p = ctx;
	const struct blobref *b = &p->b[i];
	int has = regclient_blob_exists(p->c, p->host, p->repo, b->digest, NULL, err);
	if (has < 0)
		return blob_error(err, b->digest);
	if (has) {
		count(p, &p->res->blobs_skipped, 0);
		if (p->prog && p->prog->fn)
			p->prog->fn(p->prog->ctx, b->digest, b->size, b->size, "exists");
		return 0;
	}
	cleanup_free char *from = NULL;
	if (p->l->where && p->l->where(p->l->ctx, p->host, b->digest, p->repo, &from) <= 0)
		from = NULL;
	cleanup_close int fd = -1;
	uint64_t size = 0;
	if (p->l->blob_open(p->l->ctx, b->digest, &fd, &size, err) < 0)
		return -1;
	int r = regclient_blob_put(p->c, p->host, p->repo, b->digest, fd, size, from, p->prog, err);
	if (r < 0)
		return blob_error(err, b->digest);
	if (r == 1)
		count(p, &p->res->blobs_mounted, 0);
	else
		count(p, &p->res->blobs_moved, size);
	return 0;
}

static int push_manifest_blobs(struct plan *p, const char *data, size_t len, struct strata_error **err)
{
	plan_release(p);
	if (plan_manifest(p, data, len, err) < 0)
		return -1;
	if (regclient_run_parallel(p->n, regclient_parallel(p->c), push_job, p, err) < 0)
		return -1;
	if (p->l->seen)
		for (size_t i = 0; i < p->n; i++)
			p->l->seen(p->l->ctx, p->host, p->repo, p->b[i].digest);
	return 0;
}

int regclient_push_image(struct regclient *c, const char *src_ref, const char *dest_ref,
			 const struct regxfer_local *local, const struct regclient_progress *prog,
			 struct regxfer_result *out, struct strata_error **err)
{
	const char *shown = dest_ref ? dest_ref : src_ref;
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(shown, &r, err) < 0)
		return strata_error_wrap(err, "push");
	memset(out, 0, sizeof(*out));
	struct plan p = { .c = c, .l = local, .prog = prog, .host = r.domain, .repo = r.path, .res = out };
	pthread_mutex_init(&p.lock, NULL);
	cleanup_free char *root = NULL, *mt = NULL, *data = NULL, *pushed = NULL;
	size_t len = 0;
	int ret = -1;
	if (local->resolve(local->ctx, src_ref, &root, err) < 0 ||
	    local->manifest_get(local->ctx, root, &mt, &data, &len, err) < 0)
		goto out;
	if (mt && oci_mt_is_index(mt)) {
		cleanup_json json_t *j = NULL;
		json_t *ms = NULL;
		if (strata_json_parse(data, len, "index", &j, err) < 0 ||
		    strata_json_get_array(j, "manifests", true, "index", &ms, err) < 0)
			goto out;
		size_t i;
		json_t *d;
		json_array_foreach(ms, i, d)
		{
			const char *cd = json_string_value(json_object_get(d, "digest"));
			cleanup_free char *cmt = NULL, *cdata = NULL;
			size_t clen = 0;
			if (!cd || local->manifest_get(local->ctx, cd, &cmt, &cdata, &clen, err) < 0) {
				if (!cd)
					strata_error_makec(err, STRATA_E_INVALID, 0, "index entry without a digest");
				goto out;
			}
			if (!cmt || !oci_mt_is_manifest(cmt))
				continue; /* nested indexes and artifacts are not pushed */
			if (push_manifest_blobs(&p, cdata, clen, err) < 0 ||
			    regclient_manifest_put(c, r.domain, r.path, cd, cmt, cdata, clen, NULL, err) < 0)
				goto out;
		}
	} else if (mt && oci_mt_is_manifest(mt)) {
		if (push_manifest_blobs(&p, data, len, err) < 0)
			goto out;
	} else {
		strata_error_makec(err, STRATA_E_INVALID, 0, "unsupported manifest type '%s'", mt ? mt : "(none)");
		goto out;
	}
	const char *target = r.digest ? r.digest : r.tag;
	if (regclient_manifest_put(c, r.domain, r.path, target, mt, data, len, &pushed, err) < 0)
		goto out;
	out->digest = STRATA_STEAL(pushed);
	ret = 0;
out:
	if (ret < 0)
		strata_error_wrap(err, "push %s", shown);
	plan_release(&p);
	pthread_mutex_destroy(&p.lock);
	return ret;
}
