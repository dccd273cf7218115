/*
 * remote.c — blobs the store references but does not hold: the remote blob
 * record, fetching on demand, and adopting a registry image as a cache hit
 * would (see cache.h).
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <string.h>
#include <unistd.h>

#define REMOTE_FILE "remote-blobs.json"
#define REMOTE_LOCK "remote-blobs.lock"
#define REMOTE_MAX_BLOBS 100000
#define REMOTE_FILE_MAX (64u << 20)

static char *meta_path(struct store *s, const char *name)
{
	return xasprintf("%s/.strata/%s", store_root(s), name);
}

/* Merge adds ({digest: {host, repo, size}}) into the record. */
static int merge(struct store *s, json_t *adds, struct strata_error **err)
{
	if (!json_object_size(adds))
		return 0;
	cleanup_free char *path = meta_path(s, REMOTE_FILE), *lpath = meta_path(s, REMOTE_LOCK);
	cleanup_close int lock = strata_lock_file(lpath, true, err);
	if (lock < 0)
		return -1;
	cleanup_json json_t *j = NULL;
	if (strata_json_load_object(path, REMOTE_FILE_MAX, &j, err) < 0)
		return -1;
	bool changed = false;
	const char *dg;
	json_t *v;
	json_object_foreach(adds, dg, v)
	{
		json_t *old = json_object_get(j, dg);
		if (old && json_equal(json_object_get(old, "host"), json_object_get(v, "host")) &&
		    json_equal(json_object_get(old, "repo"), json_object_get(v, "repo")))
			continue;
		if (!old && json_object_size(j) >= REMOTE_MAX_BLOBS)
			continue; /* bounded: such a blob is fetched from the image's registry instead */
		json_object_set(j, dg, v);
		changed = true;
	}
	if (!changed)
		return 0;
	size_t len = 0;
	cleanup_free char *data = strata_json_dump(j, &len);
	return strata_atomic_write(path, data, len, 0644, err);
}

static int add(json_t *adds, const char *digest, int64_t size, const char *host, const char *repo,
	       struct strata_error **err)
{
	if (!digest || !oci_digest_valid(digest) || !host || !repo)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "remote blob '%s': invalid digest or source",
					  digest ? digest : "");
	json_object_set_new(adds, digest,
			    json_pack("{s:s, s:s, s:I}", "host", host, "repo", repo, "size", (json_int_t)size));
	return 0;
}

int rcache_remote_note(struct store *s, const char *digest, int64_t size, const char *host, const char *repo,
		       struct strata_error **err)
{
	cleanup_json json_t *adds = json_object();
	if (add(adds, digest, size, host, repo, err) < 0)
		return -1;
	return merge(s, adds, err);
}

int rcache_remote_note_entries(struct store *s, const struct rcache_entry *e, size_t n, struct strata_error **err)
{
	cleanup_json json_t *adds = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *dg = json_string_value(json_object_get(e[i].desc, "digest"));
		if (add(adds, dg, json_integer_value(json_object_get(e[i].desc, "size")), e[i].host, e[i].repo,
			err) < 0)
			return strata_error_wrap(err, "cache entry '%s'", e[i].key);
	}
	return merge(s, adds, err);
}

int rcache_remote_note_entry(struct store *s, const struct rcache_entry *e, struct strata_error **err)
{
	return rcache_remote_note_entries(s, e, 1, err);
}

int rcache_remote_lookup(struct store *s, const char *digest, char **host, char **repo, int64_t *size,
			 struct strata_error **err)
{
	cleanup_free char *path = meta_path(s, REMOTE_FILE);
	cleanup_json json_t *j = NULL;
	if (strata_json_load_object(path, REMOTE_FILE_MAX, &j, err) < 0)
		return -1;
	json_t *o = json_object_get(j, digest);
	const char *h = json_string_value(json_object_get(o, "host"));
	const char *r = json_string_value(json_object_get(o, "repo"));
	if (!h || !r)
		return 0;
	*host = xstrdup(h);
	*repo = xstrdup(r);
	if (size)
		*size = json_integer_value(json_object_get(o, "size"));
	return 1;
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
		int x = rcache_remote_lookup(s, digest, &h, &r, &rsize, err);
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
	cleanup_ref struct oci_ref r = OCI_REF_INIT, t = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0 || oci_ref_parse(tag ? tag : ref, &t, err) < 0)
		return -1;
	struct regclient_manifest m = { 0 };
	cleanup_json json_t *adds = NULL;
	int ret = -1;
	if (regclient_manifest_get(c, r.domain, r.path, r.digest ? r.digest : r.tag, false, &m, err) < 0)
		goto out;
	if (m.media_type && oci_mt_is_index(m.media_type)) {
		cleanup_free char *dg = NULL;
		if (regclient_index_select(m.data, m.len, NULL, &dg, NULL, err) < 0)
			goto out;
		regclient_manifest_release(&m);
		if (regclient_manifest_get(c, r.domain, r.path, dg, false, &m, err) < 0)
			goto out;
	}
	struct oci_manifest om;
	if (oci_manifest_decode(m.data, m.len, "manifest", &om, err) < 0)
		goto out;
	int x = rcache_fetch_blob(c, s, om.config.digest.str, om.config.size, r.domain, r.path, err);
	adds = json_object();
	for (size_t i = 0; x == 0 && i < om.n_layers; i++)
		if (!store_blob_exists(s, &om.layers[i].digest))
			x = add(adds, om.layers[i].digest.str, om.layers[i].size, r.domain, r.path, err);
	if (x == 0)
		x = merge(s, adds, err);
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
