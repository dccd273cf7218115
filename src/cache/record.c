/*
 * record.c — the cache record model: entries, the inline cache field of an
 * image config, and the cache export artifact (see cache.h).
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <string.h>

void rcache_entry_release(struct rcache_entry *e)
{
	free(e->key);
	free(e->insn);
	free(e->diff_id);
	free(e->sources_id);
	if (e->inputs)
		json_decref(e->inputs);
	if (e->desc)
		json_decref(e->desc);
	memset(e, 0, sizeof(*e));
}

void rcache_record_add(struct rcache_record *r, const struct rcache_entry *e)
{
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	struct rcache_entry *d = &r->v[r->n++];
	*d = *e;
	d->key = xstrdup_or_null(e->key);
	d->insn = xstrdup_or_null(e->insn);
	d->diff_id = xstrdup_or_null(e->diff_id);
	d->sources_id = xstrdup_or_null(e->sources_id);
	d->inputs = e->inputs ? json_deep_copy(e->inputs) : NULL;
	d->desc = e->desc ? json_deep_copy(e->desc) : NULL;
}

void rcache_record_release(struct rcache_record *r)
{
	for (size_t i = 0; i < r->n; i++)
		rcache_entry_release(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

json_t *rcache_inputs_cap(const json_t *inputs, size_t max)
{
	if (!inputs)
		return NULL;
	json_t *c = json_deep_copy(inputs);
	json_t *files = json_object_get(c, "files");
	if (json_is_object(files) && json_object_size(files) > max) {
		json_t *kept = json_object();
		const char *k;
		json_t *v;
		size_t n = 0;
		json_object_foreach(files, k, v)
		{
			if (n++ == max)
				break;
			json_object_set(kept, k, v);
		}
		json_object_set_new(c, "files", kept);
		json_object_set_new(c, "files_truncated", json_true());
	}
	return c;
}

static bool key_valid(const char *k)
{
	return k && !strncmp(k, "sha256:", 7) && oci_digest_valid(k);
}

static json_t *step_json(const struct rcache_entry *e, int layer)
{
	json_t *s = json_object();
	json_object_set_new(s, "key", json_string(e->key));
	json_object_set_new(s, "layer", json_integer(layer));
	json_object_set_new(s, "stage", json_integer(e->stage));
	json_object_set_new(s, "pos", json_integer(e->pos));
	json_object_set_new(s, "line", json_integer(e->line));
	if (e->insn) {
		size_t n = strlen(e->insn);
		if (n > RCACHE_INSN_MAX) {
			n = RCACHE_INSN_MAX;
			while (n > 0 && ((unsigned char)e->insn[n] & 0xc0) == 0x80)
				n--; /* do not cut a UTF-8 sequence */
		}
		cleanup_free char *cut = xstrndup(e->insn, n);
		json_object_set_new(s, "insn", strata_json_text(cut)); /* names are bytes: U+FFFD for the rest */
	}
	if (e->sources_id)
		json_object_set_new(s, "sources_id", json_string(e->sources_id));
	if (e->inputs)
		json_object_set_new(s, "inputs",
				    rcache_inputs_cap(e->inputs, e->sources_id ? RCACHE_COPY_FILES_MAX : RCACHE_FILES_MAX));
	return s;
}

static int steps_json(const struct rcache_entry *e, size_t n, const int *layers, json_t **out,
		      struct strata_error **err)
{
	json_t *steps = json_array();
	for (size_t i = 0; i < n && i < RCACHE_STEPS_MAX; i++) {
		int layer = layers ? layers[i] : e[i].layer;
		if (!key_valid(e[i].key) || layer < 0) {
			json_decref(steps);
			return strata_error_makec(err, STRATA_E_INVALID, 0, "cache entry %zu: %s", i,
						  layer < 0 ? "negative layer index" : "invalid key");
		}
		json_array_append_new(steps, step_json(&e[i], layer));
	}
	json_t *o = json_object();
	json_object_set_new(o, "steps", steps);
	*out = o;
	return 0;
}

int rcache_config_set(json_t *config, const struct rcache_record *r, struct strata_error **err)
{
	if (!json_is_object(config))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "image config is not an object");
	json_t *o = NULL;
	if (steps_json(r->v, r->n, NULL, &o, err) < 0)
		return -1;
	json_object_set_new(config, RCACHE_FIELD, o);
	return 0;
}

/* Decode the steps of a "strata.cache.v1" object; layer indexes checked against n_layers. */
static int decode_steps(const json_t *field, const char *what, const json_t *layers, const json_t *diff_ids,
			struct rcache_record *out, struct strata_error **err)
{
	json_t *steps = NULL;
	if (!json_is_object(field))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: field '%s' must be an object", what,
					  RCACHE_FIELD);
	if (strata_json_get_array(field, "steps", true, what, &steps, err) < 0)
		return -1;
	size_t n_layers = json_array_size(diff_ids);
	if (layers && json_array_size(layers) < n_layers)
		n_layers = json_array_size(layers);
	size_t i;
	json_t *s;
	json_array_foreach(steps, i, s)
	{
		const char *key = NULL, *insn = NULL, *sources_id = NULL;
		int64_t layer = -1, stage = 0, pos = 0, line = 0;
		json_t *inputs = json_object_get(s, "inputs");
		cleanup_free char *w = xasprintf("%s: %s.steps[%zu]", what, RCACHE_FIELD, i);
		if (!json_is_object(s))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: not an object", w);
		if (strata_json_get_string(s, "key", true, w, &key, err) < 0 ||
		    strata_json_get_int(s, "layer", true, w, &layer, err) < 0 ||
		    strata_json_get_int(s, "stage", false, w, &stage, err) < 0 ||
		    strata_json_get_int(s, "pos", false, w, &pos, err) < 0 ||
		    strata_json_get_int(s, "line", false, w, &line, err) < 0 ||
		    strata_json_get_string(s, "insn", false, w, &insn, err) < 0 ||
		    strata_json_get_string(s, "sources_id", false, w, &sources_id, err) < 0)
			return -1;
		if (!key_valid(key))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid key '%s'", w, key);
		if (sources_id && !key_valid(sources_id))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid sources_id '%s'", w, sources_id);
		if (layer < 0 || (size_t)layer >= n_layers)
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "%s: layer %lld out of range (the image has %zu)", w,
						  (long long)layer, n_layers);
		if (inputs && !json_is_object(inputs))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: 'inputs' must be an object", w);
		json_t *d = layers ? json_array_get(layers, (size_t)layer) : NULL;
		const char *ddg = json_string_value(json_object_get(d, "digest"));
		if (layers && (!ddg || !oci_digest_valid(ddg) || !json_is_string(json_object_get(d, "mediaType")) ||
			       json_integer_value(json_object_get(d, "size")) < 0 ||
			       !json_is_integer(json_object_get(d, "size"))))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: layer %lld has no valid descriptor", w,
						  (long long)layer);
		const char *diff_id = json_string_value(json_array_get(diff_ids, (size_t)layer));
		if (!diff_id || !oci_digest_valid(diff_id))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid diff_id of layer %lld", w,
						  (long long)layer);
		struct rcache_entry e = {
			.key = (char *)key,
			.layer = (int)layer,
			.stage = (int)stage,
			.pos = (int)pos,
			.line = (int)line,
			.insn = (char *)insn,
			.inputs = inputs,
			.desc = d,
			.diff_id = (char *)diff_id,
			.sources_id = (char *)sources_id,
		};
		rcache_record_add(out, &e);
	}
	return 0;
}

int rcache_config_get(const json_t *config, const json_t *layers, struct rcache_record *out,
		      struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	json_t *field = json_object_get(config, RCACHE_FIELD);
	if (!field)
		return 0;
	json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "image config: rootfs.diff_ids missing");
	if (decode_steps(field, "image config", layers, diff_ids, out, err) < 0) {
		rcache_record_release(out);
		return -1;
	}
	return 1;
}

json_t *rcache_layer_find(json_t *layers, const char *dg, size_t *at)
{
	size_t j;
	json_t *l;
	json_array_foreach(layers, j, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest"));
		if (d && !strcmp(d, dg)) {
			if (at)
				*at = j;
			return l;
		}
	}
	return NULL;
}

int rcache_layer_add(json_t *layers, json_t *diff_ids, const char *mt, const char *dg, json_int_t size,
		     const char *diff_id, const char *mount_id)
{
	size_t at;
	if (rcache_layer_find(layers, dg, &at))
		return (int)at;
	json_t *d = oci_descriptor_new(mt, dg, size);
	if (mount_id)
		json_object_set_new(d, "annotations", json_pack("{s:s}", "org.strata.cache.mount", mount_id));
	json_array_append_new(layers, d);
	json_array_append_new(diff_ids, json_string(diff_id));
	return (int)json_array_size(layers) - 1;
}

int rcache_artifact_encode(const struct rcache_entry *e, size_t n, bool mode_max, int final_stage,
			   char **config, size_t *config_len, char **manifest, size_t *manifest_len,
			   struct strata_error **err)
{
	return rcache_artifact_encode_mounts(e, n, mode_max, final_stage, NULL, 0, config, config_len, manifest,
					     manifest_len, err);
}

int rcache_artifact_encode_mounts(const struct rcache_entry *e, size_t n, bool mode_max, int final_stage,
				  const struct rcache_mount *mounts, size_t nm, char **config, size_t *config_len,
				  char **manifest, size_t *manifest_len, struct strata_error **err)
{
	cleanup_json json_t *layers = json_array();
	cleanup_json json_t *diff_ids = json_array();
	struct rcache_record kept = { 0 };
	cleanup_free int *idx = xcalloc(n ? n : 1, sizeof(int));
	size_t nk = 0;
	for (size_t i = 0; i < n; i++) {
		if (!mode_max && e[i].stage != final_stage)
			continue;
		const char *dg = json_string_value(json_object_get(e[i].desc, "digest"));
		const char *mt = json_string_value(json_object_get(e[i].desc, "mediaType"));
		json_t *size = json_object_get(e[i].desc, "size");
		if (!dg || !oci_digest_valid(dg) || !mt || !json_is_integer(size) || !e[i].diff_id ||
		    !oci_digest_valid(e[i].diff_id)) {
			rcache_record_release(&kept);
			return strata_error_makec(err, STRATA_E_INVALID, 0,
						  "cache entry %zu: no valid layer descriptor or diff_id", i);
		}
		bool dup_key = false;
		for (size_t k = 0; k < kept.n; k++)
			if (!strcmp(kept.v[k].key, e[i].key))
				dup_key = true;
		if (dup_key)
			continue;
		idx[nk++] = rcache_layer_add(layers, diff_ids, mt, dg, json_integer_value(size), e[i].diff_id, NULL);
		rcache_record_add(&kept, &e[i]);
	}
	json_t *field = NULL;
	int r = steps_json(kept.v, kept.n, idx, &field, err);
	rcache_record_release(&kept);
	if (r < 0)
		return -1;
	if (nm) {
		json_t *mj = NULL;
		if (rcache_mounts_json(mounts, nm, layers, diff_ids, &mj, err) < 0) {
			json_decref(field);
			return -1;
		}
		json_object_set_new(field, "mounts", mj);
	}
	/* no timestamp: exporting the same entries twice gives the same digest */
	cleanup_json json_t *cfg = json_object();
	json_object_set(cfg, "diff_ids", diff_ids);
	json_object_set_new(cfg, RCACHE_FIELD, field);
	cleanup_free char *cdata = strata_json_dump(cfg, config_len);
	struct oci_digest cd;
	oci_digest_of(&cd, cdata, *config_len);
	json_t *m = oci_manifest_new(oci_descriptor_new(RCACHE_CONFIG_MT, cd.str, (int64_t)*config_len),
				     json_incref(layers));
	json_object_set_new(m, "artifactType", json_string(RCACHE_ARTIFACT_TYPE));
	*manifest = strata_json_dump(m, manifest_len);
	json_decref(m);
	*config = STRATA_STEAL(cdata);
	return 0;
}

bool rcache_is_artifact(const json_t *manifest)
{
	const char *at = json_string_value(json_object_get(manifest, "artifactType"));
	const char *cmt = json_string_value(json_object_get(json_object_get(manifest, "config"), "mediaType"));
	return (at && !strcmp(at, RCACHE_ARTIFACT_TYPE)) || (cmt && !strcmp(cmt, RCACHE_CONFIG_MT));
}

int rcache_artifact_decode(const json_t *manifest, const json_t *config, struct rcache_record *out,
			   struct strata_error **err)
{
	memset(out, 0, sizeof(*out));
	json_t *layers = json_object_get(manifest, "layers");
	json_t *diff_ids = json_object_get(config, "diff_ids");
	json_t *field = json_object_get(config, RCACHE_FIELD);
	if (!json_is_array(layers) || !json_is_array(diff_ids) || !field)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "cache artifact: %s missing",
					  !json_is_array(layers)     ? "manifest layers"
					  : !json_is_array(diff_ids) ? "config diff_ids"
								     : "config field '" RCACHE_FIELD "'");
	if (json_array_size(layers) != json_array_size(diff_ids))
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "cache artifact: %zu layers but %zu diff_ids", json_array_size(layers),
					  json_array_size(diff_ids));
	if (decode_steps(field, "cache artifact config", layers, diff_ids, out, err) < 0) {
		rcache_record_release(out);
		return -1;
	}
	return 0;
}
