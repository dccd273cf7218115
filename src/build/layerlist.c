/*
 * layerlist.c — typed layers and their array (layerlist.h).
 */
#include "build/layerlist.h"

#include <string.h>

void build_layer_release(struct build_layer *l)
{
	if (!l)
		return;
	free(l->media_type);
	json_decref(l->extra);
	memset(l, 0, sizeof(*l));
}

void build_layer_copy(struct build_layer *dst, const struct build_layer *src)
{
	*dst = *src;
	dst->media_type = src->media_type ? xstrdup(src->media_type) : NULL;
	dst->extra = src->extra ? json_deep_copy(src->extra) : NULL;
}

int build_layer_from_desc(const json_t *desc, const struct oci_digest *diff_id, const char *what,
			  struct build_layer *out, struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(desc))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: the layer descriptor is not an object", what);
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	const char *dg = json_string_value(json_object_get(desc, "digest"));
	json_t *size = json_object_get(desc, "size");
	if (!mt || !*mt)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: mediaType: missing or not a string", what);
	if (!dg)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: digest: missing or not a string", what);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: size: missing or not a non-negative integer",
					  what);
	if (oci_digest_parse(dg, &out->digest, err) < 0)
		return strata_error_wrap(err, "%s: digest", what);
	out->media_type = xstrdup(mt);
	out->size = (int64_t)json_integer_value(size);
	out->diff_id = *diff_id;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)desc, k, v) {
		if (!strcmp(k, "mediaType") || !strcmp(k, "digest") || !strcmp(k, "size"))
			continue;
		if (!out->extra)
			out->extra = json_object();
		json_object_set_new(out->extra, k, json_deep_copy(v));
	}
	return 0;
}

json_t *build_layer_desc(const struct build_layer *l)
{
	json_t *d = l->extra ? json_deep_copy(l->extra) : json_object();
	json_object_set_new(d, "mediaType", json_string(l->media_type));
	json_object_set_new(d, "digest", json_string(l->digest.str));
	json_object_set_new(d, "size", json_integer((json_int_t)l->size));
	return d;
}

void build_layers_release(struct build_layers *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n; i++)
		build_layer_release(&ls->v[i]);
	free(ls->v);
	ls->v = NULL;
	ls->n = ls->cap = 0;
}

static struct build_layer *grow(struct build_layers *ls)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 8;
		ls->v = xreallocarray(ls->v, ls->cap, sizeof(*ls->v));
	}
	return &ls->v[ls->n++];
}

struct build_layer *build_layers_add(struct build_layers *ls, const struct build_layer *l)
{
	struct build_layer *x = grow(ls);
	build_layer_copy(x, l);
	return x;
}

struct build_layer *build_layers_push(struct build_layers *ls, const char *media_type, const struct oci_digest *digest,
				      int64_t size, const struct oci_digest *diff_id)
{
	struct build_layer *x = grow(ls);
	memset(x, 0, sizeof(*x));
	x->media_type = xstrdup(media_type);
	x->digest = *digest;
	x->size = size;
	x->diff_id = *diff_id;
	return x;
}

void build_layers_copy(struct build_layers *dst, const struct build_layers *src)
{
	build_layers_release(dst);
	for (size_t i = 0; i < src->n; i++)
		build_layers_add(dst, &src->v[i]);
}

ssize_t build_layers_find(const struct build_layers *ls, const char *hex)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->v[i].diff_id.hex, hex))
			return (ssize_t)i;
	return -1;
}

void build_layers_remove(struct build_layers *ls, size_t i)
{
	if (i >= ls->n)
		return;
	build_layer_release(&ls->v[i]);
	memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof(*ls->v));
	ls->n--;
}

json_t *build_layers_descs(const struct build_layers *ls)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ls->n; i++)
		json_array_append_new(a, build_layer_desc(&ls->v[i]));
	return a;
}

json_t *build_layers_diff_ids(const struct build_layers *ls)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ls->n; i++)
		json_array_append_new(a, json_string(ls->v[i].diff_id.str));
	return a;
}

void build_layers_set_rootfs(const struct build_layers *ls, json_t *config)
{
	json_t *r = json_object_get(config, "rootfs");
	if (!json_is_object(r)) {
		r = json_object();
		json_object_set_new(config, "rootfs", r);
	}
	json_object_set_new(r, "type", json_string("layers"));
	json_object_set_new(r, "diff_ids", build_layers_diff_ids(ls));
}

int build_layers_from_json(struct build_layers *ls, const json_t *descs, const json_t *diff_ids, const char *what,
			   struct strata_error **err)
{
	if (!json_is_array(descs) || !json_is_array(diff_ids))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: layers and diff_ids must be arrays", what);
	if (json_array_size(descs) != json_array_size(diff_ids))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: %zu layers but %zu diff_ids", what,
					  json_array_size(descs), json_array_size(diff_ids));
	for (size_t i = 0; i < json_array_size(descs); i++) {
		cleanup_free char *w = xasprintf("%s: layers[%zu]", what, i);
		struct oci_digest diff;
		const char *ds = json_string_value(json_array_get(diff_ids, i));
		if (!ds)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: diff_ids[%zu]: not a string", what, i);
		if (oci_digest_parse(ds, &diff, err) < 0)
			return strata_error_wrap(err, "%s: diff_ids[%zu]", what, i);
		struct build_layer l;
		if (build_layer_from_desc(json_array_get(descs, i), &diff, w, &l, err) < 0)
			return -1;
		*grow(ls) = l;
	}
	return 0;
}
