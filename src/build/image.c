/*
 * image.c — images in the store: the final config and manifest written as
 * blobs and tagged; images looked up (tag, id or digest) with their layers
 * extracted as snapshots for FROM, COPY --from and `strata run`.
 */
#include "build/build_internal.h"
#include "oci/reference.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int put_json(struct store *s, json_t *j, struct oci_digest *d, int64_t *size, struct strata_error **err)
{
	cleanup_free char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	*size = (int64_t)strlen(txt);
	return store_blob_put(s, txt, strlen(txt), NULL, d, err);
}

/*
 * The time this store first made a config equal to this one but for
 * "created" (build/cache/created/<sha256 of the rest>): a no-op rebuild keeps
 * its image id whatever it is tagged, as with docker. Unknown: *t is
 * remembered for the next build. Best effort: a store that cannot be written
 * only loses the memory.
 */
static void remembered_created(struct store *s, const json_t *config, time_t *t)
{
	cleanup_json json_t *rest = json_deep_copy(config);
	json_object_del(rest, "created");
	cleanup_free char *txt = json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS);
	if (!txt)
		return;
	char hex[65];
	strata_sha256_hex(txt, strlen(txt), hex);
	cleanup_free char *dir = xasprintf("%s/build/cache/created", store_root(s));
	cleanup_free char *path = xasprintf("%s/%s", dir, hex);
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 64, NULL) == 0) {
		cleanup_free char *was = xstrndup(b.data, b.len);
		time_t v;
		if (oci_time_parse(was, &v) == 0) {
			*t = v;
			return;
		}
	}
	char buf[64];
	oci_time_format(*t, buf, sizeof(buf));
	if (strata_mkdir_p(dir, 0700, NULL) == 0)
		(void)strata_atomic_write(path, buf, strlen(buf), 0600, NULL);
}

/*
 * The image's own creation time (what `strata images` shows as CREATED, as
 * docker): $SOURCE_DATE_EPOCH when set (reproducible builds); else the time
 * this store first made such a config (remembered_created: a no-op rebuild
 * keeps its id), first stamped with `created` when set (the time of the
 * cache source a fully cached build reused whole, so a fresh runner makes the
 * same image) or now.
 */
static void stamp_created(struct store *s, json_t *config, time_t created, bool created_fixed)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = created > 0 || created_fixed ? created : time(NULL);
	unsigned long long v;
	char *end;
	if (created_fixed) {
		/* --source-date-epoch (the option, a build arg or the variable): that time, always */
	} else if (sde && *sde && (v = strtoull(sde, &end, 10), !*end))
		t = (time_t)v;
	else
		remembered_created(s, config, &t);
	char buf[64];
	oci_time_format(t, buf, sizeof(buf));
	json_object_set_new(config, "created", json_string(buf));
}

int image_write(struct store *s, json_t *config, const struct build_layers *layers, const char *const *annotations,
		size_t nannotations, const char *const *tags, size_t ntags, time_t created, bool created_fixed,
		struct oci_digest *id, struct oci_digest *mdigest, struct strata_error **err)
{
	struct oci_digest cd, md;
	int64_t csize, msize;
	build_layers_set_rootfs(layers, config);
	stamp_created(s, config, created, created_fixed);
	if (put_json(s, config, &cd, &csize, err) < 0)
		return strata_error_wrap(err, "store image config");
	cleanup_json json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
					   OCI_MT_MANIFEST, "config", "mediaType", OCI_MT_CONFIG, "digest", cd.str,
					   "size", (json_int_t)csize, "layers", build_layers_descs(layers));
	if (nannotations) {
		json_t *an = json_object();
		for (size_t i = 0; i < nannotations; i++) {
			const char *eq = strchr(annotations[i], '=');
			cleanup_free char *k = eq ? xstrndup(annotations[i], (size_t)(eq - annotations[i]))
						  : xstrdup(annotations[i]);
			json_object_set_new(an, k, json_string(eq ? eq + 1 : ""));
		}
		json_object_set_new(m, "annotations", an);
	}
	if (put_json(s, m, &md, &msize, err) < 0)
		return strata_error_wrap(err, "store image manifest");
	*id = cd;
	if (mdigest)
		*mdigest = md;
	if (ntags == 0)
		return store_index_add_untagged(s, OCI_MT_MANIFEST, &md, msize, err);
	for (size_t i = 0; i < ntags; i++) {
		struct oci_ref r = OCI_REF_INIT;
		if (oci_ref_parse(tags[i], &r, err) < 0)
			return strata_error_wrap(err, "tag '%s'", tags[i]);
		int rc = store_tag_set(s, &r, OCI_MT_MANIFEST, &md, msize, err);
		oci_ref_release(&r);
		if (rc < 0)
			return strata_error_wrap(err, "tag '%s'", tags[i]);
	}
	return 0;
}

int build_index_write(const char *root, const struct build_result *res, const struct dockerfile_platform *plats,
		      size_t n, const char *const *tags, size_t ntags, struct oci_digest *out, struct strata_error **err)
{
	struct store *s = NULL;
	if (store_open(root, &s, err) < 0)
		return -1;
	int rc = -1;
	cleanup_json json_t *ms = json_array();
	cleanup_json json_t *x = NULL;
	for (size_t i = 0; i < n; i++) {
		int64_t size = 0;
		if (store_blob_stat(s, &res[i].manifest_digest, &size, err) < 0)
			goto out;
		json_t *pl = json_pack("{s:s,s:s}", "architecture", plats[i].arch, "os", plats[i].os);
		if (plats[i].variant[0])
			json_object_set_new(pl, "variant", json_string(plats[i].variant));
		json_array_append_new(ms, json_pack("{s:s,s:s,s:I,s:o}", "mediaType", OCI_MT_MANIFEST, "digest",
						    res[i].manifest_digest.str, "size", (json_int_t)size, "platform", pl));
	}
	x = json_pack("{s:i,s:s,s:O}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX, "manifests", ms);
	int64_t isize;
	if (put_json(s, x, out, &isize, err) < 0) {
		strata_error_wrap(err, "store image index");
		goto out;
	}
	if (ntags == 0 && store_index_add_untagged(s, OCI_MT_INDEX, out, isize, err) < 0)
		goto out;
	for (size_t i = 0; i < ntags; i++) {
		cleanup_ref struct oci_ref r = OCI_REF_INIT;
		if (oci_ref_parse(tags[i], &r, err) < 0 || store_tag_set(s, &r, OCI_MT_INDEX, out, isize, err) < 0) {
			strata_error_wrap(err, "tag '%s'", tags[i]);
			goto out;
		}
	}
	/* the platforms' images are the index's now (kept by it, listed as it):
	 * their untagged entries go, a tag of the same manifest stays */
	for (size_t i = 0; i < n; i++)
		if (store_index_remove_untagged(s, &res[i].manifest_digest, err) < 0)
			goto out;
	rc = 0;
out:
	store_close(s);
	return rc;
}

void build_image_free(struct build_image *img)
{
	if (!img)
		return;
	json_decref(img->config);
	build_layers_release(&img->layers);
	free(img);
}

int build_image_lookup(const char *root, const char *ref, struct build_image **out, struct strata_error **err)
{
	return build_image_lookup_platform(root, ref, NULL, out, err);
}

int build_image_lookup_platform(const char *root, const char *ref, const struct dockerfile_platform *platform,
				struct build_image **out, struct strata_error **err)
{
	strata_error_ensure(err);
	struct store *s = NULL;
	struct store_entry ent = { 0 };
	struct store_image si;
	memset(&si, 0, sizeof(si));
	struct build_image *img = NULL;
	int rc = -1;
	if (store_open(root, &s, err) < 0)
		return -1;
	if (store_resolve(s, ref, &ent, err) < 0) {
		if (strata_error_code(*err) == STRATA_E_NOTFOUND) {
			strata_error_clear(err);
			strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found in the local store", ref);
		}
		goto out;
	}
	struct oci_platform want = OCI_PLATFORM_INIT;
	if (platform) {
		want.os = xstrdup(platform->os);
		want.architecture = xstrdup(platform->arch);
		want.variant = platform->variant[0] ? xstrdup(platform->variant) : NULL;
	}
	int lr = store_image_load_platform(s, &ent.digest, platform ? &want : NULL, &si, err);
	oci_platform_release(&want);
	if (lr < 0)
		goto out;
	if (si.config.n_diff_ids != si.manifest.n_layers) {
		strata_error_makec(err, STRATA_E_INVALID, 0, "image '%s': %zu layers but %zu diff_ids", ref,
				   si.manifest.n_layers, si.config.n_diff_ids);
		goto out;
	}
	img = xcalloc(1, sizeof(*img));
	img->id = si.manifest.config.digest;
	img->manifest_digest = si.manifest_digest;
	img->config = json_incref(si.config.json);
	for (size_t i = 0; i < si.manifest.n_layers; i++) {
		const struct oci_descriptor *d = &si.manifest.layers[i];
		const struct build_layer *l =
			build_layers_push(&img->layers, d->media_type, &d->digest, d->size, &si.config.diff_ids[i]);
		/* a layer only in a registry (a lazily pulled base, a remote cache
		 * hit) is extracted when something needs its content */
		if (store_blob_exists(s, &l->digest) && snapshot_ensure(s, root, l, err) < 0)
			goto out;
	}
	*out = img;
	img = NULL;
	rc = 0;
out:
	build_image_free(img);
	store_image_release(&si);
	store_entry_release(&ent);
	store_close(s);
	return rc;
}
