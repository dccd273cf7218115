/*
 * mount_record.c — cache mounts in the cache artifact: the model, the
 * "mounts" array of the artifact config (encode / decode), the
 * cache-mounts= and max-mount-size= options (see cache.h).
 */
#include "cache/cache.h"
#include "cache/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void rcache_mount_release(struct rcache_mount *m)
{
	free(m->id);
	free(m->target);
	free(m->sharing);
	for (size_t i = 0; i < m->n_parts; i++) {
		free(m->parts[i].path);
		free(m->parts[i].diff_id);
		if (m->parts[i].desc)
			json_decref(m->parts[i].desc);
	}
	free(m->parts);
	memset(m, 0, sizeof(*m));
}

void rcache_mount_copy(struct rcache_mount *dst, const struct rcache_mount *src)
{
	*dst = *src;
	dst->id = xstrdup_or_null(src->id);
	dst->target = xstrdup_or_null(src->target);
	dst->sharing = xstrdup_or_null(src->sharing);
	dst->parts = src->n_parts ? xcalloc(src->n_parts, sizeof(*dst->parts)) : NULL;
	for (size_t i = 0; i < src->n_parts; i++) {
		dst->parts[i].path = xstrdup_or_null(src->parts[i].path);
		dst->parts[i].diff_id = xstrdup_or_null(src->parts[i].diff_id);
		dst->parts[i].desc = src->parts[i].desc ? json_deep_copy(src->parts[i].desc) : NULL;
	}
}

static bool sharing_valid(const char *s)
{
	return s && (!strcmp(s, "shared") || !strcmp(s, "private") || !strcmp(s, "locked"));
}

/* a uid or gid: -1 (unset) or an id a chown can take ((uid_t)-1 means "unchanged") */
static bool owner_valid(int64_t id)
{
	return id >= -1 && id < (int64_t)UINT32_MAX;
}

/* a part path: ".", "NAME", "NAME/SUB" or "NAME/#K"; never absolute, no "..", no empty component */
static bool part_path_valid(const char *p)
{
	if (!p || !*p)
		return false;
	if (!strcmp(p, "."))
		return true;
	if (p[0] == '/' || strlen(p) > 4096)
		return false;
	int comps = 0;
	for (const char *c = p; *c;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		comps++;
		c += len + (end ? 1 : 0);
		if (end && !*c)
			return false;
	}
	return comps <= 2;
}

int rcache_mounts_json(const struct rcache_mount *m, size_t nm, json_t *layers, json_t *diff_ids, json_t **out,
		       struct strata_error **err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < nm && i < RCACHE_MOUNTS_MAX; i++) {
		if (!m[i].id || !*m[i].id || !m[i].target || !sharing_valid(m[i].sharing)) {
			json_decref(arr);
			return strata_error_makec(err, STRATA_E_INVALID, 0, "cache mount %zu: no id, target or sharing", i);
		}
		char created[64];
		oci_time_format((time_t)m[i].created, created, sizeof(created));
		json_t *parts = json_array();
		for (size_t k = 0; k < m[i].n_parts; k++) {
			const struct rcache_mount_part *p = &m[i].parts[k];
			const char *dg = json_string_value(json_object_get(p->desc, "digest"));
			const char *mt = json_string_value(json_object_get(p->desc, "mediaType"));
			json_t *size = json_object_get(p->desc, "size");
			if (!part_path_valid(p->path) || !dg || !oci_digest_valid(dg) || !mt || !json_is_integer(size) ||
			    !p->diff_id || !oci_digest_valid(p->diff_id)) {
				json_decref(parts);
				json_decref(arr);
				return strata_error_makec(err, STRATA_E_INVALID, 0,
							  "cache mount '%s': part %zu has no valid path, descriptor or diff_id",
							  m[i].id, k);
			}
			int at = rcache_layer_add(layers, diff_ids, mt, dg, json_integer_value(size), p->diff_id, m[i].id);
			json_array_append_new(parts, json_pack("{s:s,s:i}", "path", p->path, "layer", at));
		}
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:I,s:s,s:o}", "id", m[i].id, "target",
						     m[i].target, "sharing", m[i].sharing, "uid", (json_int_t)m[i].uid,
						     "gid", (json_int_t)m[i].gid, "mode", m[i].mode, "size",
						     (json_int_t)m[i].size, "created", created, "parts", parts));
	}
	*out = arr;
	return 0;
}

int rcache_artifact_mounts(const json_t *manifest, const json_t *config, struct rcache_mount **out, size_t *n,
			   struct strata_error **err)
{
	*out = NULL;
	*n = 0;
	json_t *arr = json_object_get(json_object_get(config, RCACHE_FIELD), "mounts");
	if (!arr)
		return 0; /* an older strata's artifact, or no cache mount */
	json_t *layers = json_object_get(manifest, "layers");
	json_t *diff_ids = json_object_get(config, "diff_ids");
	if (!json_is_array(arr))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "cache artifact config: %s.mounts must be an array",
					  RCACHE_FIELD);
	size_t i;
	json_t *o;
	struct rcache_mount *v = NULL;
	size_t nv = 0;
	json_array_foreach(arr, i, o)
	{
		cleanup_free char *w = xasprintf("cache artifact config: %s.mounts[%zu]", RCACHE_FIELD, i);
		const char *id = NULL, *target = NULL, *sharing = NULL, *created = NULL;
		int64_t uid = -1, gid = -1, mode = -1, size = 0;
		json_t *parts = NULL;
		if (i >= RCACHE_MOUNTS_MAX) {
			strata_error_makec(err, STRATA_E_INVALID, 0, "%s: more than %d mounts", w, RCACHE_MOUNTS_MAX);
			goto fail;
		}
		if (!json_is_object(o)) {
			strata_error_makec(err, STRATA_E_INVALID, 0, "%s: not an object", w);
			goto fail;
		}
		if (strata_json_get_string(o, "id", true, w, &id, err) < 0 ||
		    strata_json_get_string(o, "target", true, w, &target, err) < 0 ||
		    strata_json_get_string(o, "sharing", true, w, &sharing, err) < 0 ||
		    strata_json_get_int(o, "uid", false, w, &uid, err) < 0 ||
		    strata_json_get_int(o, "gid", false, w, &gid, err) < 0 ||
		    strata_json_get_int(o, "mode", false, w, &mode, err) < 0 ||
		    strata_json_get_int(o, "size", false, w, &size, err) < 0 ||
		    strata_json_get_string(o, "created", false, w, &created, err) < 0 ||
		    strata_json_get_array(o, "parts", true, w, &parts, err) < 0)
			goto fail;
		time_t ct = 0;
		const char *bad = !*id				      ? "id"
				  : target[0] != '/'		      ? "target (not an absolute path)"
				  : !sharing_valid(sharing)	      ? "sharing"
				  : size < 0			      ? "size"
				  : !owner_valid(uid)		      ? "uid"
				  : !owner_valid(gid)		      ? "gid"
				  : mode > 07777 || mode < -1	      ? "mode"
				  : created && oci_time_parse(created, &ct) < 0 ? "created"
										: NULL;
		if (bad) {
			strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid %s", w, bad);
			goto fail;
		}
		if (json_array_size(parts) > RCACHE_MOUNT_PARTS_MAX) {
			strata_error_makec(err, STRATA_E_INVALID, 0, "%s: more than %d parts", w, RCACHE_MOUNT_PARTS_MAX);
			goto fail;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		struct rcache_mount *m = &v[nv++];
		memset(m, 0, sizeof(*m));
		m->id = xstrdup(id);
		m->target = xstrdup(target);
		m->sharing = xstrdup(sharing);
		m->uid = uid;
		m->gid = gid;
		m->mode = (int)mode;
		m->size = (uint64_t)size;
		m->created = (int64_t)ct;
		m->parts = xcalloc(json_array_size(parts) + 1, sizeof(*m->parts));
		size_t k;
		json_t *p;
		json_array_foreach(parts, k, p)
		{
			cleanup_free char *pw = xasprintf("%s.parts[%zu]", w, k);
			const char *path = NULL;
			int64_t layer = -1;
			if (!json_is_object(p)) {
				strata_error_makec(err, STRATA_E_INVALID, 0, "%s: not an object", pw);
				goto fail;
			}
			if (strata_json_get_string(p, "path", true, pw, &path, err) < 0 ||
			    strata_json_get_int(p, "layer", true, pw, &layer, err) < 0)
				goto fail;
			if (!part_path_valid(path)) {
				strata_error_makec(err, STRATA_E_INVALID, 0, "%s: invalid path '%s'", pw, path);
				goto fail;
			}
			json_t *d = layer >= 0 ? json_array_get(layers, (size_t)layer) : NULL;
			const char *dg = json_string_value(json_object_get(d, "digest"));
			const char *di = json_string_value(json_array_get(diff_ids, (size_t)(layer >= 0 ? layer : 0)));
			if (!d || !dg || !oci_digest_valid(dg) || !json_is_string(json_object_get(d, "mediaType")) ||
			    !json_is_integer(json_object_get(d, "size")) || layer < 0 || !di || !oci_digest_valid(di)) {
				strata_error_makec(err, STRATA_E_INVALID, 0, "%s: layer %lld out of range or invalid", pw,
						   (long long)layer);
				goto fail;
			}
			m->parts[m->n_parts].path = xstrdup(path);
			m->parts[m->n_parts].desc = oci_descriptor_new(
				json_string_value(json_object_get(d, "mediaType")), dg,
				json_integer_value(json_object_get(d, "size")));
			m->parts[m->n_parts].diff_id = xstrdup(di);
			m->n_parts++;
		}
	}
	*out = v;
	*n = nv;
	return 0;
fail:
	for (size_t k = 0; k < nv; k++)
		rcache_mount_release(&v[k]);
	free(v);
	return -1;
}

int rcache_parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || v < 0)
		return -1;
	uint64_t mul = 1;
	char unit = (char)tolower((unsigned char)*end);
	if (*end) {
		if (unit == 'b' && !end[1])
			mul = 1;
		else if (unit == 'k')
			mul = 1ull << 10;
		else if (unit == 'm')
			mul = 1ull << 20;
		else if (unit == 'g')
			mul = 1ull << 30;
		else if (unit == 't')
			mul = 1ull << 40;
		else
			return -1;
		const char *rest = end + 1;
		if (unit != 'b' && *rest && strcasecmp(rest, "b") && strcasecmp(rest, "ib"))
			return -1;
	}
	if (v * (double)mul > 1.8e19)
		return -1;
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

bool rcache_spec_wants_mount(const struct rcache_spec *sp, const char *id)
{
	if (!sp->cache_mounts)
		return sp->mode_max;
	if (!strcmp(sp->cache_mounts, "all"))
		return true;
	if (!strcmp(sp->cache_mounts, "none"))
		return false;
	size_t n = strlen(id);
	for (const char *c = sp->cache_mounts; *c;) {
		const char *end = strchr(c, '+');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (len == n && !strncmp(c, id, n))
			return true;
		c += len + (end ? 1 : 0);
	}
	return false;
}
