/*
 * describe.c — `strata cache ls`: what a cache source holds (steps, layers,
 * cache mounts, sizes and times) as one JSON document (see cache.h).
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <string.h>

static json_t *layer_of(json_t *layers, const json_t *desc, const char *used_by)
{
	const char *dg = json_string_value(json_object_get(desc, "digest"));
	json_t *l = rcache_layer_find(layers, dg, NULL);
	if (l)
		return l;
	l = json_pack("{s:s,s:I,s:s,s:s}", "digest", dg, "size", json_integer_value(json_object_get(desc, "size")),
		      "mediaType", json_string_value(json_object_get(desc, "mediaType")), "used_by", used_by);
	json_array_append_new(layers, l);
	return l;
}

int rcache_source_describe(struct regclient *c, const char *spec, json_t **out, struct strata_error **err)
{
	struct rcache_spec sp;
	if (rcache_spec_parse(spec, false, &sp, err) < 0)
		return -1;
	struct rcache_table *t = rcache_table_new();
	struct rcache_import_result res;
	int r = sp.type == RCACHE_SPEC_LOCAL ? rcache_layout_import(t, sp.ref, spec, &res)
					     : rcache_import(t, c, sp.ref, NULL, &res, err);
	rcache_spec_release(&sp);
	if (r < 0) {
		rcache_table_free(t);
		return -1;
	}
	if (res.status == RCACHE_SOURCE_FAILED) {
		/* the warning line without its "warning: --cache-from " prefix */
		const char *m = res.message;
		const char *p = strstr(m, "--cache-from ");
		int rc = strata_error_makec(err, STRATA_E_NOTFOUND, 0, "%s", p ? p + 13 : m);
		rcache_import_result_release(&res);
		rcache_table_free(t);
		return rc;
	}
	json_t *o = json_object();
	json_object_set_new(o, "source", json_string(spec));
	json_object_set_new(o, "kind", json_string(res.status == RCACHE_SOURCE_OK ? res.kind : "image without strata cache metadata"));
	time_t created = t->n_src ? t->src[0]->created : 0;
	if (created) {
		char buf[64];
		oci_time_format(created, buf, sizeof(buf));
		json_object_set_new(o, "created", json_string(buf));
	} else {
		json_object_set_new(o, "created", json_null());
	}
	json_t *steps = json_array(), *layers = json_array(), *mounts = json_array();
	size_t n = 0;
	const struct rcache_entry *e = rcache_table_entries(t, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *l = layer_of(layers, e[i].desc, "step");
		json_array_append_new(steps, json_pack("{s:s,s:i,s:i,s:i,s:s?,s:O,s:O}", "key", e[i].key, "stage",
						       e[i].stage, "pos", e[i].pos, "line", e[i].line, "insn", e[i].insn,
						       "layer", json_object_get(l, "digest"), "size",
						       json_object_get(l, "size")));
	}
	for (size_t i = 0; i < t->n_mounts; i++) {
		const struct rcache_mount *m = &t->mounts[i];
		json_t *parts = json_array();
		json_int_t blob_bytes = 0;
		for (size_t k = 0; k < m->n_parts; k++) {
			json_t *l = layer_of(layers, m->parts[k].desc, "mount");
			blob_bytes += json_integer_value(json_object_get(l, "size"));
			json_array_append_new(parts, json_pack("{s:s,s:O,s:O}", "path", m->parts[k].path, "digest",
							       json_object_get(l, "digest"), "size",
							       json_object_get(l, "size")));
		}
		char made[64];
		oci_time_format((time_t)m->created, made, sizeof(made));
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:I,s:I,s:s,s:o}", "id", m->id,
							"target", m->target, "sharing", m->sharing, "uid",
							(json_int_t)m->uid, "gid", (json_int_t)m->gid, "mode", m->mode,
							"size", (json_int_t)m->size, "blob_bytes", blob_bytes, "created",
							made, "parts", parts));
	}
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "mounts", mounts);
	rcache_import_result_release(&res);
	rcache_table_free(t);
	*out = o;
	return 0;
}
