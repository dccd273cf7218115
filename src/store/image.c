/* image.c — an image as the CLI sees it: manifest + config, verified. */
#include "store/internal.h"

#include <string.h>

void store_image_release(struct store_image *img)
{
	free(img->manifest_media_type);
	free(img->manifest_raw);
	free(img->config_raw);
	oci_manifest_release(&img->manifest);
	oci_config_release(&img->config);
	memset(img, 0, sizeof(*img));
}

int store_manifest_children(struct store *s, const struct oci_digest *d, const char *mt,
			    int (*fn)(void *ctx, const struct oci_descriptor *child, enum store_child role,
				      struct strata_error **err),
			    void *ctx, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (store_blob_read(s, d, STORE_JSON_MAX, &b, err) < 0)
		return -1;
	cleanup_free char *what = xasprintf("manifest %s", d->str);
	int r = 0;
	if (oci_mt_is_index(mt)) {
		struct oci_index x;
		if (oci_index_decode(b.data, b.len, what, &x, err) < 0)
			return -1;
		for (size_t i = 0; i < x.n_manifests && r == 0; i++)
			r = fn(ctx, &x.manifests[i], STORE_CHILD_MANIFEST, err);
		if (r == 0 && x.has_subject)
			r = fn(ctx, &x.subject, STORE_CHILD_SUBJECT, err);
		oci_index_release(&x);
		return r;
	}
	struct oci_manifest m;
	if (oci_manifest_decode(b.data, b.len, what, &m, err) < 0)
		return -1;
	r = fn(ctx, &m.config, STORE_CHILD_CONFIG, err);
	for (size_t i = 0; i < m.n_layers && r == 0; i++)
		r = fn(ctx, &m.layers[i], STORE_CHILD_LAYER, err);
	if (r == 0 && m.has_subject)
		r = fn(ctx, &m.subject, STORE_CHILD_SUBJECT, err);
	oci_manifest_release(&m);
	return r;
}

static int load(struct store *s, const struct oci_digest *d, const struct oci_platform *want,
		struct store_image *out, int depth, struct strata_error **err)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (store_blob_read(s, d, STORE_JSON_MAX, &b, err) < 0)
		return -1;
	cleanup_free char *what = xasprintf("manifest %s", d->str);
	cleanup_json json_t *j = NULL;
	if (strata_json_parse(b.data, b.len, what, &j, err) < 0)
		return -1;
	if (json_object_get(j, "manifests")) {
		if (depth > 0)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: nested index", what);
		struct oci_index x;
		if (oci_index_from_json(j, what, &x, err) < 0)
			return -1;
		struct oci_platform host = OCI_PLATFORM_INIT;
		if (!want)
			oci_platform_host(&host);
		ssize_t i = oci_index_select(&x, want ? want : &host);
		int r;
		if (i < 0) {
			cleanup_free char *p = oci_platform_string(want ? want : &host);
			r = strata_error_makec(err, STRATA_E_NOTFOUND, 0, "%s: no manifest for platform %s", what, p);
		} else {
			struct oci_digest sub;
			oci_digest_copy(&sub, &x.manifests[i].digest);
			r = load(s, &sub, want, out, depth + 1, err);
		}
		oci_platform_release(&host);
		oci_index_release(&x);
		if (r < 0)
			return -1;
		/* the image is named by the index */
		oci_digest_copy(&out->manifest_digest, d);
		free(out->manifest_media_type);
		const char *mt = json_string_value(json_object_get(j, "mediaType"));
		out->manifest_media_type = xstrdup(mt ? mt : OCI_MT_INDEX);
		out->manifest_size = (int64_t)b.len;
		return 0;
	}
	if (oci_manifest_from_json(j, what, &out->manifest, err) < 0)
		return -1;
	oci_digest_copy(&out->manifest_digest, d);
	out->manifest_media_type = xstrdup(out->manifest.media_type ? out->manifest.media_type : OCI_MT_MANIFEST);
	out->manifest_size = (int64_t)b.len;
	out->manifest_raw = strata_buf_detach(&b, &out->manifest_len);
	cleanup_buf struct strata_buf cb = STRATA_BUF_INIT;
	if (store_blob_read(s, &out->manifest.config.digest, STORE_JSON_MAX, &cb, err) < 0)
		return strata_error_wrap(err, "config of %s", what);
	cleanup_free char *cw = xasprintf("config %s", out->manifest.config.digest.str);
	if (oci_config_decode(cb.data, cb.len, cw, &out->config, err) < 0)
		return -1;
	out->config_raw = strata_buf_detach(&cb, &out->config_len);
	out->size = oci_manifest_content_size(&out->manifest);
	time_t t = 0;
	if (out->config.created && oci_time_parse(out->config.created, &t) == 0)
		out->created = t;
	return 0;
}

int store_image_load(struct store *s, const struct oci_digest *d, struct store_image *out,
		     struct strata_error **err)
{
	return store_image_load_platform(s, d, NULL, out, err);
}

int store_image_load_platform(struct store *s, const struct oci_digest *d, const struct oci_platform *want,
			      struct store_image *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (load(s, d, want, out, 0, err) < 0) {
		store_image_release(out);
		return -1;
	}
	return 0;
}
