/*
 * remote.c — blobs the store references but does not hold: the remote blob
 * record, fetching on demand, and adopting a registry image as a cache hit
 * would (see cache.h).
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <string.h>
#include <unistd.h>

/* the store's blob locations (store_blobloc_*) are the remote blob record */

static int note_locations(struct store *s, const struct rcache_entry *e, size_t n, struct strata_error **err)
{
	struct store_blobloc *l = NULL;
	if (store_blobloc_open(s, &l, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *dg = json_string_value(json_object_get(e[i].desc, "digest"));
		if (store_blobloc_add(l, dg, json_integer_value(json_object_get(e[i].desc, "size")), e[i].host,
				      e[i].repo, err) < 0)
			r = strata_error_wrap(err, "cache entry '%s'", e[i].key);
	}
	if (r == 0)
		r = store_blobloc_save(l, err);
	store_blobloc_free(l);
	return r;
}

int rcache_remote_note_entries(struct store *s, const struct rcache_entry *e, size_t n, struct strata_error **err)
{
	return note_locations(s, e, n, err);
}

int rcache_remote_note_entry(struct store *s, const struct rcache_entry *e, struct strata_error **err)
{
	return note_locations(s, e, 1, err);
}

int rcache_fetch_blob(struct regclient *c, struct store *s, const char *digest, int64_t size, const char *host,
		      const char *repo, struct strata_error **err)
{
	struct oci_digest d;
	if (oci_digest_parse(digest, &d, err) < 0)
		return -1;
	if (store_blob_exists(s, &d))
		return 0;
	cleanup_free char *h = NULL, *r = NULL;
	if (!host || !repo) {
		int64_t rsize = -1;
		int x = store_blobloc_lookup(s, digest, &h, &r, &rsize, err);
		if (x < 0)
			return -1;
		if (x == 0)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0,
						  "blob '%s' is neither in the store nor known remotely", digest);
		host = h;
		repo = r;
		if (size < 0)
			size = rsize;
	}
	if (!strcmp(host, RCACHE_LAYOUT_HOST)) /* a directory cache's blob */
		return rcache_layout_fetch(s, repo, &d, size, err) < 0 ? strata_error_wrap(err, "fetch %s", digest) : 0;
	struct store_blob_writer *w = NULL;
	if (store_blob_writer_open(s, &d, size >= 0 ? size : -1, &w, err) < 0)
		return -1;
	struct strata_sink sink = store_blob_writer_sink(w);
	if (regclient_blob_get(c, host, repo, digest, size > 0 ? (uint64_t)size : 0, &sink, NULL, err) < 0) {
		store_blob_writer_abort(w);
		return strata_error_wrap(err, "fetch %s/%s@%s", host, repo, digest);
	}
	if (store_blob_writer_commit(w, NULL, NULL, err) < 0)
		return strata_error_wrap(err, "fetch %s/%s@%s", host, repo, digest);
	return 0;
}

int rcache_fetch_layer(struct regclient *c, struct store *s, const struct rcache_entry *e,
		       struct strata_error **err)
{
	const char *dg = json_string_value(json_object_get(e->desc, "digest"));
	if (!dg)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "cache entry '%s' has no layer descriptor",
					  e->key);
	json_t *size = json_object_get(e->desc, "size");
	return rcache_fetch_blob(c, s, dg, json_is_integer(size) ? json_integer_value(size) : -1, e->host, e->repo,
				 err);
}

int rcache_image_adopt(struct regclient *c, struct store *s, const char *ref, const char *tag,
		       struct strata_error **err)
{
	return rcache_image_adopt_platform(c, s, ref, tag, NULL, err);
}

int rcache_image_adopt_platform(struct regclient *c, struct store *s, const char *ref, const char *tag,
				const char *platform, struct strata_error **err)
{
	cleanup_ref struct oci_ref r = OCI_REF_INIT, t = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0 || oci_ref_parse(tag ? tag : ref, &t, err) < 0)
		return -1;
	struct regclient_manifest m = { 0 };
	struct store_blobloc *locs = NULL;
	int ret = -1;
	if (regclient_manifest_get(c, r.domain, r.path, r.digest ? r.digest : r.tag, false, &m, err) < 0)
		goto out;
	if (m.media_type && oci_mt_is_index(m.media_type)) {
		cleanup_free char *dg = NULL;
		if (regclient_index_select(m.data, m.len, platform, &dg, NULL, err) < 0)
			goto out;
		regclient_manifest_release(&m);
		if (regclient_manifest_get(c, r.domain, r.path, dg, false, &m, err) < 0)
			goto out;
	}
	struct oci_manifest om;
	if (oci_manifest_decode(m.data, m.len, "manifest", &om, err) < 0)
		goto out;
	int x = rcache_fetch_blob(c, s, om.config.digest.str, om.config.size, r.domain, r.path, err);
	if (x == 0)
		x = store_blobloc_open(s, &locs, err);
	for (size_t i = 0; x == 0 && i < om.n_layers; i++)
		if (!store_blob_exists(s, &om.layers[i].digest))
			x = store_blobloc_add(locs, om.layers[i].digest.str, om.layers[i].size, r.domain, r.path, err);
	if (x == 0)
		x = store_blobloc_save(locs, err);
	store_blobloc_free(locs);
	oci_manifest_release(&om);
	struct oci_digest md;
	if (x < 0 || oci_digest_parse(m.digest, &md, err) < 0 || store_blob_put(s, m.data, m.len, &md, NULL, err) < 0 ||
	    store_tag_set(s, &t, m.media_type ? m.media_type : OCI_MT_MANIFEST, &md, (int64_t)m.len, err) < 0)
		goto out;
	ret = 0;
out:
	regclient_manifest_release(&m);
	if (ret < 0)
		strata_error_wrap(err, "pull %s", ref);
	return ret;
}
