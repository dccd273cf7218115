/*
 * image.c — interim image records (config + snapshot chain) and tags, until
 * images are written to the store as OCI manifests and layers.
 *
 *   build/images/<hex>.json  {"config": <OCI config>, "snapshots": [ids, bottom first]}
 *   build/tags.json          {"<normalised ref>": "sha256:<hex>"}, rewritten under build/lock
 * The image id is sha256 of the compact, key-sorted record.
 */
#include "build/build_internal.h"
#include "oci/reference.h"

#include <ctype.h>
#include <string.h>
#include <sys/file.h>

#define RECORD_MAX (64u << 20)

int image_record_write(const char *root, json_t *config, json_t *snapshots, char id[72], struct strata_error **err)
{
	cleanup_json json_t *rec = json_pack("{s:O,s:O}", "config", config, "snapshots", snapshots);
	cleanup_free char *s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	char hex[65];
	strata_sha256_hex(s, strlen(s), hex);
	snprintf(id, 72, "sha256:%s", hex);
	cleanup_free char *dir = xasprintf("%s/build/images", root);
	cleanup_free char *p = xasprintf("%s/%s.json", dir, hex);
	if (strata_path_exists(p))
		return 0;
	if (strata_mkdir_p(dir, 0755, err) < 0 || strata_atomic_write(p, s, strlen(s), 0644, err) < 0)
		return strata_error_wrap(err, "write image record");
	return 0;
}

static char *normalise(const char *ref, struct strata_error **err)
{
	struct oci_ref r = OCI_REF_INIT;
	if (oci_ref_parse(ref, &r, err) < 0)
		return NULL;
	char *s = oci_ref_string(&r);
	oci_ref_release(&r);
	return s;
}

int image_tag(const char *root, const char *ref, const char *id, struct strata_error **err)
{
	cleanup_free char *name = normalise(ref, err);
	if (!name)
		return -1;
	cleanup_free char *dir = xasprintf("%s/build", root);
	cleanup_free char *lockp = xasprintf("%s/lock", dir);
	cleanup_free char *tags = xasprintf("%s/tags.json", dir);
	if (strata_mkdir_p(dir, 0755, err) < 0)
		return -1;
	cleanup_close int lk = strata_lock_file(lockp, true, err);
	if (lk < 0)
		return -1;
	json_t *j = NULL;
	if (!strata_path_exists(tags))
		j = json_object();
	else if (strata_json_load_file(tags, RECORD_MAX, &j, err) < 0)
		return strata_error_wrap(err, "tags");
	cleanup_json json_t *jj = j;
	const char *cur = json_string_value(json_object_get(jj, name));
	if (cur && !strcmp(cur, id))
		return 0;
	json_object_set_new(jj, name, json_string(id));
	cleanup_free char *s = json_dumps(jj, JSON_INDENT(1) | JSON_SORT_KEYS);
	return strata_atomic_write(tags, s, strlen(s), 0644, err);
}

void build_image_free(struct build_image *img)
{
	if (!img)
		return;
	free(img->id);
	json_decref(img->config);
	for (size_t i = 0; i < img->nsnapshots; i++)
		free(img->snapshots[i]);
	free(img->snapshots);
	free(img);
}

static bool is_hex(const char *s, size_t min)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n >= min && n <= 64;
}

int build_image_lookup(const char *root, const char *ref, struct build_image **out, struct strata_error **err)
{
	cleanup_free char *hex = NULL;
	const char *h = !strncmp(ref, "sha256:", 7) ? ref + 7 : ref;
	if (is_hex(h, 12)) {
		cleanup_free char *dir = xasprintf("%s/build/images", root);
		cleanup_closedir DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strncmp(de->d_name, h, strlen(h)) && strstr(de->d_name, ".json")) {
				if (hex)
					return strata_error_makec(err, STRATA_E_INVALID, 0, "image id '%s' is ambiguous", ref);
				hex = xstrndup(de->d_name, 64);
			}
		}
	}
	if (!hex) {
		struct strata_error *perr = NULL;
		cleanup_free char *name = normalise(ref, &perr);
		if (!name) {
			strata_error_free(perr);
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found in the local store", ref);
		}
		cleanup_free char *tags = xasprintf("%s/build/tags.json", root);
		cleanup_json json_t *j = NULL;
		const char *id = NULL;
		if (strata_path_exists(tags) && strata_json_load_file(tags, RECORD_MAX, &j, err) < 0)
			return strata_error_wrap(err, "tags");
		id = json_string_value(json_object_get(j, name));
		if (!id || strlen(id) != 71)
			return strata_error_makec(err, STRATA_E_NOTFOUND, 0, "image '%s' not found in the local store", ref);
		hex = xstrdup(id + 7);
	}
	cleanup_free char *p = xasprintf("%s/build/images/%s.json", root, hex);
	cleanup_json json_t *rec = NULL;
	if (strata_json_load_file(p, RECORD_MAX, &rec, err) < 0)
		return strata_error_wrap(err, "image '%s'", ref);
	json_t *cfg = json_object_get(rec, "config"), *snaps = json_object_get(rec, "snapshots");
	if (!json_is_object(cfg) || !json_is_array(snaps))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "image record '%s' is malformed", p);
	struct build_image *img = xcalloc(1, sizeof(*img));
	img->id = xasprintf("sha256:%s", hex);
	img->config = json_incref(cfg);
	img->snapshots = xcalloc(json_array_size(snaps) + 1, sizeof(char *));
	size_t i;
	json_t *v;
	json_array_foreach(snaps, i, v) {
		const char *s = json_string_value(v);
		if (!s || strchr(s, '/')) {
			build_image_free(img);
			return strata_error_makec(err, STRATA_E_INVALID, 0, "image record '%s' is malformed", p);
		}
		img->snapshots[img->nsnapshots++] = xasprintf("%s/build/snapshots/%s", root, s);
	}
	*out = img;
	return 0;
}
