/* index.c — index.json: the tags of the store. */
#include "store/internal.h"

#include <string.h>

int store_index_load(struct store *s, json_t **out, struct strata_error **err)
{
	cleanup_json json_t *j = NULL;
	if (strata_json_load_file(s->index_path, STORE_JSON_MAX, &j, err) < 0)
		return -1;
	struct oci_index x;
	if (oci_index_from_json(j, s->index_path, &x, err) < 0)
		return -1;
	oci_index_release(&x);
	*out = STRATA_STEAL(j);
	return 0;
}

int store_index_save(struct store *s, json_t *index, struct strata_error **err)
{
	size_t len;
	cleanup_free char *text = strata_json_dump(index, &len);
	return strata_atomic_write(s->index_path, text, len, 0644, err);
}

void store_entry_release(struct store_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->media_type);
	e->name = NULL;
	e->media_type = NULL;
}

void store_entries_free(struct store_entry *e, size_t n)
{
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		store_entry_release(&e[i]);
	free(e);
}

static const char *entry_name(json_t *m)
{
	return json_string_value(json_object_get(json_object_get(m, "annotations"), STORE_REF_ANNOTATION));
}

static void entry_fill(json_t *m, struct store_entry *e)
{
	const char *name = entry_name(m);
	e->name = name ? xstrdup(name) : NULL;
	e->media_type = xstrdup(json_string_value(json_object_get(m, "mediaType")));
	/* validated by store_index_load */
	oci_digest_parse(json_string_value(json_object_get(m, "digest")), &e->digest, NULL);
	e->size = (int64_t)json_integer_value(json_object_get(m, "size"));
}

int store_tag_list(struct store *s, struct store_entry **out, size_t *n, struct strata_error **err)
{
	cleanup_json json_t *j = NULL;
	if (store_index_load(s, &j, err) < 0)
		return -1;
	json_t *list = json_object_get(j, "manifests");
	size_t cnt = json_array_size(list);
	struct store_entry *e = xcalloc(cnt ? cnt : 1, sizeof(*e));
	for (size_t i = 0; i < cnt; i++)
		entry_fill(json_array_get(list, i), &e[i]);
	*out = e;
	*n = cnt;
	return 0;
}

/* The tag name of a reference: its normalised string without a digest. */
static char *tag_name(const struct oci_ref *ref)
{
	struct oci_ref r = { ref->domain, ref->path, ref->tag ? ref->tag : (char *)"latest", NULL };
	return oci_ref_string(&r);
}

int store_tag_get(struct store *s, const struct oci_ref *ref, struct store_entry *out,
		  struct strata_error **err)
{
	cleanup_json json_t *j = NULL;
	if (store_index_load(s, &j, err) < 0)
		return -1;
	cleanup_free char *name = tag_name(ref);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(j, "manifests"), i, m) {
		const char *n = entry_name(m);
		if (n && !strcmp(n, name)) {
			entry_fill(m, out);
			return 0;
		}
	}
	return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found", name);
}

/* Run fn on index.json under index.lock and save it when fn returns 1. */
static int index_update(struct store *s, int (*fn)(json_t *list, void *ctx, struct strata_error **err),
			void *ctx, struct strata_error **err)
{
	cleanup_close int lk = store_index_lock(s, err);
	if (lk < 0)
		return -1;
	cleanup_json json_t *j = NULL;
	if (store_index_load(s, &j, err) < 0)
		return -1;
	int r = fn(json_object_get(j, "manifests"), ctx, err);
	if (r < 0)
		return -1;
	if (r > 0 && store_index_save(s, j, err) < 0)
		return strata_error_wrap(err, "update '%s'", s->index_path);
	return r;
}

struct tag_ctx {
	const char *name;
	const char *media_type;
	const struct oci_digest *d;
	int64_t size;
	int removed;
};

static int remove_name(json_t *list, const char *name)
{
	int removed = 0;
	for (size_t i = 0; i < json_array_size(list);) {
		const char *n = entry_name(json_array_get(list, i));
		if (n && !strcmp(n, name)) {
			json_array_remove(list, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}

static int do_tag_set(json_t *list, void *ctx, struct strata_error **err)
{
	(void)err;
	struct tag_ctx *t = ctx;
	remove_name(list, t->name);
	/* an untagged entry of the same digest is replaced by the tag */
	for (size_t i = 0; i < json_array_size(list);) {
		json_t *m = json_array_get(list, i);
		if (!entry_name(m) && !strcmp(json_string_value(json_object_get(m, "digest")), t->d->str))
			json_array_remove(list, i);
		else
			i++;
	}
	json_t *e = oci_descriptor_new(t->media_type, t->d->str, t->size);
	json_object_set_new(e, "annotations", json_pack("{s:s}", STORE_REF_ANNOTATION, t->name));
	json_array_append_new(list, e);
	return 1;
}

int store_tag_set(struct store *s, const struct oci_ref *ref, const char *media_type,
		  const struct oci_digest *d, int64_t size, struct strata_error **err)
{
	if (!oci_mt_is_manifest(media_type) && !oci_mt_is_index(media_type))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "cannot tag '%s': media type '%s' is not a manifest or index",
					  d->str, media_type);
	if (!store_blob_exists(s, d))
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "cannot tag: manifest '%s' is not in the store",
					  d->str);
	cleanup_free char *name = tag_name(ref);
	struct tag_ctx t = { name, media_type, d, size, 0 };
	return index_update(s, do_tag_set, &t, err) < 0 ? -1 : 0;
}

static int do_tag_remove(json_t *list, void *ctx, struct strata_error **err)
{
	struct tag_ctx *t = ctx;
	t->removed = remove_name(list, t->name);
	if (!t->removed)
		return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "no such tag '%s'", t->name);
	return 1;
}

int store_tag_remove(struct store *s, const struct oci_ref *ref, struct strata_error **err)
{
	cleanup_free char *name = tag_name(ref);
	struct tag_ctx t = { name, NULL, NULL, 0, 0 };
	return index_update(s, do_tag_remove, &t, err) < 0 ? -1 : 0;
}

static int do_add_untagged(json_t *list, void *ctx, struct strata_error **err)
{
	(void)err;
	struct tag_ctx *t = ctx;
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		if (!strcmp(json_string_value(json_object_get(m, "digest")), t->d->str))
			return 0;
	}
	json_array_append_new(list, oci_descriptor_new(t->media_type, t->d->str, t->size));
	return 1;
}

int store_index_add_untagged(struct store *s, const char *media_type, const struct oci_digest *d,
			     int64_t size, struct strata_error **err)
{
	struct tag_ctx t = { NULL, media_type, d, size, 0 };
	return index_update(s, do_add_untagged, &t, err) < 0 ? -1 : 0;
}

static int do_remove_digest(json_t *list, void *ctx, struct strata_error **err)
{
	(void)err;
	struct tag_ctx *t = ctx;
	for (size_t i = 0; i < json_array_size(list);) {
		if (!strcmp(json_string_value(json_object_get(json_array_get(list, i), "digest")), t->d->str)) {
			json_array_remove(list, i);
			t->removed++;
		} else {
			i++;
		}
	}
	return t->removed > 0;
}

static int do_remove_untagged(json_t *list, void *ctx, struct strata_error **err)
{
	(void)err;
	struct tag_ctx *t = ctx;
	for (size_t i = 0; i < json_array_size(list);) {
		json_t *m = json_array_get(list, i);
		if (!entry_name(m) && !strcmp(json_string_value(json_object_get(m, "digest")), t->d->str)) {
			json_array_remove(list, i);
			t->removed++;
		} else {
			i++;
		}
	}
	return t->removed > 0;
}

int store_index_remove_untagged(struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	struct tag_ctx t = { NULL, NULL, d, 0, 0 };
	if (index_update(s, do_remove_untagged, &t, err) < 0)
		return -1;
	return t.removed;
}

int store_index_remove_digest(struct store *s, const struct oci_digest *d, struct strata_error **err)
{
	struct tag_ctx t = { NULL, NULL, d, 0, 0 };
	if (index_update(s, do_remove_digest, &t, err) < 0)
		return -1;
	return t.removed;
}
