/*
 * push.c — pushing images whose layers may live only in a registry, and the
 * cache export (--cache-to). See cache.h.
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <pthread.h>
#include <string.h>

void rcache_push_result_release(struct rcache_push_result *r)
{
	free(r->digest);
	for (size_t i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

struct pblob {
	char *digest;
	int64_t size;
	const char *hint_host, *hint_repo; /* where it lives when not local (borrowed) */
	bool mount;                        /* a cache mount's part */
};

struct pctx {
	struct regclient *c;
	struct store *s;
	const char *host, *repo;
	struct pblob *b;
	size_t n;
	struct rcache_push_result *res;
	struct store_blobloc *locs; /* where blobs are in registries (may be NULL: unreadable) */
	const struct regclient_progress *prog; /* uploads' progress, or NULL */
	pthread_mutex_t lock;
};

static void add_blob(struct pctx *p, const char *digest, int64_t size, const char *hh, const char *hr)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->b[i].digest, digest))
			return;
	p->b = xreallocarray(p->b, p->n + 1, sizeof(*p->b));
	p->b[p->n++] = (struct pblob){ xstrdup(digest), size, hh, hr, false };
}

static void bump(struct pctx *p, size_t *field, uint64_t bytes, bool mount)
{
	pthread_mutex_lock(&p->lock);
	(*field)++;
	p->res->bytes_uploaded += bytes;
	if (mount)
		p->res->mount_bytes_uploaded += bytes;
	pthread_mutex_unlock(&p->lock);
}

static int push_one(void *ctx, size_t i, struct strata_error **err)
{
	struct pctx *p = ctx;
	const struct pblob *b = &p->b[i];
	int has = regclient_blob_exists(p->c, p->host, p->repo, b->digest, NULL, err);
	if (has < 0)
		return strata_error_wrap(err, "blob '%s'", b->digest);
	if (has) {
		bump(p, &p->res->blobs_present, 0, false);
		return 0;
	}
	struct oci_digest d;
	if (oci_digest_parse(b->digest, &d, err) < 0)
		return -1;
	cleanup_free char *rh = NULL, *rr = NULL;
	const char *host = b->hint_host, *repo = b->hint_repo;
	if ((!host || !repo) && p->locs && store_blobloc_find(p->locs, b->digest, NULL, NULL, &rh, &rr, NULL) == 1) {
		host = rh;
		repo = rr;
	}
	if ((!host || !repo || strcmp(host, p->host) != 0) && p->locs) {
		/* another repository of the target registry holds it (a cache
		 * hit's source, or a blob `strata push/pull` moved): mount */
		char *sr = NULL;
		if (store_blobloc_find(p->locs, b->digest, p->host, p->repo, NULL, &sr, NULL) == 1) {
			free(rr);
			rr = sr;
			host = p->host;
			repo = rr;
		}
	}
	if (host && repo && !strcmp(host, p->host) && strcmp(repo, p->repo)) {
		int m = regclient_blob_mount(p->c, p->host, p->repo, b->digest, repo, err);
		if (m < 0)
			return strata_error_wrap(err, "blob '%s'", b->digest);
		if (m == 1) {
			bump(p, &p->res->blobs_mounted, 0, false);
			return 0;
		}
	}
	if (!store_blob_exists(p->s, &d)) {
		/* only now: the target has it nowhere */
		if (rcache_fetch_blob(p->c, p->s, b->digest, b->size, host, repo, err) < 0)
			return -1;
		bump(p, &p->res->blobs_fetched, 0, false);
	}
	int64_t size = 0;
	cleanup_close int fd = store_blob_open(p->s, &d, &size, err);
	if (fd < 0)
		return -1;
	if (regclient_blob_put(p->c, p->host, p->repo, b->digest, fd, (uint64_t)size, NULL, p->prog, err) < 0)
		return strata_error_wrap(err, "blob '%s'", b->digest);
	bump(p, &p->res->blobs_uploaded, (uint64_t)size, b->mount);
	return 0;
}

static int push_blobs(struct pctx *p, struct strata_error **err)
{
	pthread_mutex_init(&p->lock, NULL);
	int r = regclient_run_parallel(p->n, regclient_parallel(p->c), push_one, p, err);
	pthread_mutex_destroy(&p->lock);
	return r;
}

static void pctx_release(struct pctx *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->b[i].digest);
	free(p->b);
	store_blobloc_free(p->locs);
}

int rcache_push_image(struct regclient *c, struct store *s, const char *src_ref, const char *dest_ref,
		      struct rcache_push_result *out, struct strata_error **err)
{
	return rcache_push_image_progress(c, s, src_ref, dest_ref, NULL, out, err);
}

static int push_child(struct regclient *c, struct store *s, const struct oci_ref *r, const struct oci_descriptor *d,
		      const struct regclient_progress *prog, struct rcache_push_result *out, struct strata_error **err);

/* a multi-platform image: every manifest by digest (layers found, mounted or
 * uploaded as for one image), then the index under the destination */
static int push_index(struct regclient *c, struct store *s, const struct oci_ref *r, const struct store_entry *ent,
		      const struct regclient_progress *prog, struct rcache_push_result *out, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (store_blob_read(s, &ent->digest, STORE_JSON_MAX, &b, err) < 0)
		return -1;
	cleanup_index struct oci_index x = { 0 };
	if (oci_index_decode(b.data, b.len, ent->digest.str, &x, err) < 0)
		return -1;
	for (size_t i = 0; i < x.n_manifests; i++) {
		if (!x.manifests[i].media_type || !oci_mt_is_manifest(x.manifests[i].media_type))
			continue; /* nested indexes and artifacts are not pushed */
		if (push_child(c, s, r, &x.manifests[i], prog, out, err) < 0)
			return -1;
	}
	return regclient_manifest_put(c, r->domain, r->path, r->digest ? r->digest : r->tag, ent->media_type, b.data,
				      b.len, &out->digest, err);
}

/* one stored manifest (ent) to r: its blobs (HEAD, mount, fetch, upload), then it under r's tag or digest */
static int push_entry(struct regclient *c, struct store *s, const struct oci_ref *rr, const struct store_entry *ent,
		      const struct regclient_progress *prog, struct rcache_push_result *out, struct strata_error **err)
{
	if (ent->media_type && oci_mt_is_index(ent->media_type))
		return push_index(c, s, rr, ent, prog, out, err);
	struct oci_ref r = *rr;
	struct store_image img = { 0 };
	struct pctx p = { .c = c, .s = s, .host = r.domain, .repo = r.path, .res = out, .prog = prog };
	int ret = -1;
	if (store_image_load(s, &ent->digest, &img, err) < 0)
		goto out;
	add_blob(&p, img.manifest.config.digest.str, img.manifest.config.size, NULL, NULL);
	for (size_t i = 0; i < img.manifest.n_layers; i++)
		add_blob(&p, img.manifest.layers[i].digest.str, img.manifest.layers[i].size, NULL, NULL);
	if (store_blobloc_open(s, &p.locs, NULL) < 0)
		p.locs = NULL; /* unreadable: it only costs mounts */
	if (push_blobs(&p, err) < 0)
		goto out;
	if (p.locs) {
		for (size_t i = 0; i < p.n; i++)
			store_blobloc_add(p.locs, p.b[i].digest, p.b[i].size, p.host, p.repo, NULL);
		store_blobloc_save(p.locs, NULL);
	}
	const char *mt = img.manifest.media_type ? img.manifest.media_type
			 : img.manifest.docker	  ? DOCKER_MT_MANIFEST
						  : OCI_MT_MANIFEST;
	if (regclient_manifest_put(c, r.domain, r.path, r.digest ? r.digest : r.tag, mt, img.manifest_raw,
				   img.manifest_len, &out->digest, err) < 0)
		goto out;
	ret = 0;
out:
	pctx_release(&p);
	store_image_release(&img);
	return ret;
}

/* one platform's manifest of an index (the descriptor d), pushed by digest */
static int push_child(struct regclient *c, struct store *s, const struct oci_ref *r, const struct oci_descriptor *d,
		      const struct regclient_progress *prog, struct rcache_push_result *out, struct strata_error **err)
{
	struct oci_ref cr = *r;
	cr.digest = (char *)d->digest.str;
	struct store_entry ent = { .media_type = (char *)d->media_type };
	oci_digest_copy(&ent.digest, &d->digest);
	struct rcache_push_result one = { 0 };
	int rc = push_entry(c, s, &cr, &ent, prog, &one, err);
	out->blobs_uploaded += one.blobs_uploaded;
	out->bytes_uploaded += one.bytes_uploaded;
	out->blobs_mounted += one.blobs_mounted;
	out->blobs_present += one.blobs_present;
	out->blobs_fetched += one.blobs_fetched;
	rcache_push_result_release(&one);
	return rc;
}

int rcache_push_image_progress(struct regclient *c, struct store *s, const char *src_ref, const char *dest_ref,
			       const struct regclient_progress *prog, struct rcache_push_result *out,
			       struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(dest_ref, &r, err) < 0)
		return strata_error_wrap(err, "push");
	struct store_entry ent = { 0 };
	int ret = store_resolve(s, src_ref, &ent, err) < 0 ? -1 : push_entry(c, s, &r, &ent, prog, out, err);
	if (ret < 0)
		strata_error_wrap(err, "push %s", dest_ref);
	store_entry_release(&ent);
	return ret;
}

static int export_artifact(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			   bool mode_max, int final_stage, const struct rcache_mount *m, size_t nm,
			   const char *dest_ref, struct rcache_push_result *out, struct strata_error **err);

int rcache_export(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n, bool mode_max,
		  int final_stage, const char *dest_ref, struct rcache_push_result *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	return export_artifact(c, s, e, n, mode_max, final_stage, NULL, 0, dest_ref, out, err);
}

int rcache_export_mounts(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			 const struct rcache_mount *m, size_t nm, const char *dest_ref, struct rcache_push_result *out,
			 struct strata_error **err)
{
	/* out may carry notes already (the session's skipped mounts) */
	return export_artifact(c, s, e, n, true, 0, m, nm, dest_ref, out, err);
}

static int export_artifact(struct regclient *c, struct store *s, const struct rcache_entry *e, size_t n,
			   bool mode_max, int final_stage, const struct rcache_mount *m, size_t nm,
			   const char *dest_ref, struct rcache_push_result *out, struct strata_error **err)
{
	cleanup_ref struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(dest_ref, &r, err) < 0)
		return strata_error_wrap(err, "--cache-to");
	cleanup_free char *cfg = NULL, *man = NULL;
	size_t clen = 0, mlen = 0;
	if (rcache_artifact_encode_mounts(e, n, mode_max, final_stage, m, nm, &cfg, &clen, &man, &mlen, err) < 0)
		return strata_error_wrap(err, "--cache-to %s", dest_ref);
	struct pctx p = { .c = c, .s = s, .host = r.domain, .repo = r.path, .res = out };
	struct oci_digest cd;
	int ret = -1;
	/* the config goes through the store so that it uploads from a file like any blob */
	if (store_blob_put(s, cfg, clen, NULL, &cd, err) < 0)
		goto out;
	add_blob(&p, cd.str, (int64_t)clen, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		if (!mode_max && e[i].stage != final_stage)
			continue;
		add_blob(&p, json_string_value(json_object_get(e[i].desc, "digest")),
			 json_integer_value(json_object_get(e[i].desc, "size")), e[i].host, e[i].repo);
	}
	for (size_t i = 0; i < nm; i++) {
		for (size_t k = 0; k < m[i].n_parts; k++) {
			size_t before = p.n;
			add_blob(&p, json_string_value(json_object_get(m[i].parts[k].desc, "digest")),
				 json_integer_value(json_object_get(m[i].parts[k].desc, "size")), m[i].host, m[i].repo);
			if (p.n > before)
				p.b[p.n - 1].mount = true;
		}
	}
	out->mounts = nm;
	if (store_blobloc_open(s, &p.locs, NULL) < 0)
		p.locs = NULL;
	if (push_blobs(&p, err) < 0 ||
	    regclient_manifest_put(c, r.domain, r.path, r.digest ? r.digest : r.tag, OCI_MT_MANIFEST, man, mlen,
				   &out->digest, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		strata_error_wrap(err, "--cache-to %s", dest_ref);
	pctx_release(&p);
	return ret;
}

void rcache_spec_release(struct rcache_spec *s)
{
	free(s->ref);
	free(s->cache_mounts);
	s->ref = NULL;
	s->cache_mounts = NULL;
}

static bool key_is(const char *part, size_t kl, const char *k)
{
	return strlen(k) == kl && !strncmp(part, k, kl);
}

int rcache_spec_parse(const char *spec, bool to, struct rcache_spec *out, struct strata_error **err)
{
	static const char *const ignored[] = { "ignore-error", "compression", "compression-level", "force-compression",
					       "oci-mediatypes", "image-manifest", "oci-artifact", "tag", "digest",
					       "store", NULL };
	const char *opt = to ? "--cache-to" : "--cache-from";
	memset(out, 0, sizeof(*out));
	cleanup_free char *copy = xstrdup(spec);
	cleanup_free char *type = NULL, *ref = NULL, *dir = NULL;
	char *save = NULL;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(part, '=');
		size_t kl = eq ? (size_t)(eq - part) : 0;
		const char *v = eq ? eq + 1 : NULL;
		bool skip = false;
		for (size_t i = 0; eq && ignored[i]; i++)
			skip = skip || key_is(part, kl, ignored[i]);
		if (skip)
			continue;
		if (!eq && !ref && !type) {
			ref = xstrdup(part);
		} else if (eq && key_is(part, kl, "type") && !type) {
			type = xstrdup(v);
		} else if (eq && key_is(part, kl, "ref") && !ref) {
			ref = xstrdup(v);
		} else if (eq && key_is(part, kl, to ? "dest" : "src") && !dir) {
			dir = xstrdup(v);
		} else if (eq && to && key_is(part, kl, "mode")) {
			if (!strcmp(v, "max"))
				out->mode_max = true;
			else if (strcmp(v, "min")) {
				rcache_spec_release(out);
				return strata_error_makec(err, STRATA_E_USAGE, 0,
							  "%s '%s': mode must be min or max, not '%s'", opt, spec, v);
			}
		} else if (eq && to && key_is(part, kl, "cache-mounts") && !out->cache_mounts) {
			bool bad = !*v || v[0] == '+' || v[strlen(v) - 1] == '+' || strstr(v, "++");
			if (bad) {
				rcache_spec_release(out);
				return strata_error_makec(err, STRATA_E_USAGE, 0,
							  "%s '%s': cache-mounts must be all, none or ID[+ID...], not '%s'",
							  opt, spec, v);
			}
			out->cache_mounts = xstrdup(v);
		} else if (eq && to && key_is(part, kl, "max-mount-size")) {
			if (rcache_parse_size(v, &out->max_mount_size) < 0 || out->max_mount_size == 0) {
				rcache_spec_release(out);
				return strata_error_makec(err, STRATA_E_USAGE, 0,
							  "%s '%s': max-mount-size must be a size (500M, 2GiB), not '%s'",
							  opt, spec, v);
			}
		} else {
			rcache_spec_release(out);
			return strata_error_makec(err, STRATA_E_USAGE, 0, "%s '%s': unexpected '%s'", opt, spec, part);
		}
	}
	if (!type || !strcmp(type, "registry")) {
		if (!ref || !*ref)
			return rcache_spec_release(out), strata_error_makec(err, STRATA_E_USAGE, 0, "%s '%s': no reference", opt, spec);
		struct oci_ref r = OCI_REF_INIT;
		if (oci_ref_parse(ref, &r, err) < 0) {
			strata_error_set_code(err, STRATA_E_USAGE);
			rcache_spec_release(out);
			return strata_error_wrap(err, "%s", opt);
		}
		oci_ref_release(&r);
		out->type = RCACHE_SPEC_REGISTRY;
		out->ref = STRATA_STEAL(ref);
		return 0;
	}
	if (!strcmp(type, "local")) {
		if (!dir || !*dir)
			return rcache_spec_release(out), strata_error_makec(err, STRATA_E_USAGE, 0, "%s '%s': type=local needs %s=DIR", opt, spec,
						  to ? "dest" : "src");
		out->type = RCACHE_SPEC_LOCAL;
		out->ref = STRATA_STEAL(dir);
		return 0;
	}
	if (!strcmp(type, "inline") && to) {
		out->type = RCACHE_SPEC_INLINE;
		return 0;
	}
	rcache_spec_release(out);
	return strata_error_makec(err, STRATA_E_USAGE, 0, "%s '%s': unsupported cache type '%s' (registry, local%s)",
				  opt, spec, type, to ? ", inline" : "");
}

int rcache_parse_cache_to(const char *spec, char **ref, bool *mode_max, struct strata_error **err)
{
	struct rcache_spec sp;
	*ref = NULL;
	*mode_max = false;
	if (rcache_spec_parse(spec, true, &sp, err) < 0)
		return -1;
	if (sp.type != RCACHE_SPEC_REGISTRY) {
		rcache_spec_release(&sp);
		return strata_error_makec(err, STRATA_E_USAGE, 0, "--cache-to '%s': not a registry", spec);
	}
	*ref = sp.ref;
	*mode_max = sp.mode_max;
	return 0;
}
