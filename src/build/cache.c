/*
 * cache.c — the local cache index: a directory of small JSON files under
 * <root>/build/cache, each written atomically (temp + rename), so readers
 * never see a torn entry and concurrent builds need no lock (the last
 * writer of a key wins; both values are valid).
 *
 *   keys/<hex>    {"layer": <descriptor>, "diff_id": "sha256:..."}  read on every lookup
 *   inputs/<hex>  the inputs that made <hex> read only to explain a miss
 *   last/<hex>    "<key>": the key the previous build of a step made
 */
#include "build/build_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* dir/<name>: a key's files are named by its encoded part, a step's "last" by its id */
static char *path_of(const char *root, const char *dir, const char *name)
{
	return xasprintf("%s/build/cache/%s/%s", root, dir, name);
}

json_t *cache_lookup(const char *root, const struct oci_digest *key)
{
	cleanup_free char *p = path_of(root, "keys", key->hex);
	json_t *j = NULL;
	if (strata_json_load_file(p, 1 << 16, &j, NULL) < 0)
		return NULL;
	return j;
}

static int write_json(const char *root, const char *dir, const char *name, const json_t *j, struct strata_error **err)
{
	cleanup_free char *d = xasprintf("%s/build/cache/%s", root, dir);
	if (strata_mkdir_p(d, 0700, err) < 0)
		return -1;
	cleanup_free char *p = path_of(root, dir, name);
	cleanup_free char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	return strata_atomic_write(p, s, strlen(s), 0600, err);
}

int cache_put(const char *root, const struct oci_digest *key, const json_t *entry, const json_t *inputs,
	      struct strata_error **err)
{
	if (write_json(root, "inputs", key->hex, inputs, err) < 0 || write_json(root, "keys", key->hex, entry, err) < 0)
		return strata_error_wrap(err, "cache index");
	return 0;
}

void cache_make_private(const char *root)
{
	static const char *const dirs[] = { "cache", "cache/keys", "cache/last", "cache/inputs" };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(dirs); i++) {
		cleanup_free char *d = xasprintf("%s/build/%s", root, dirs[i]);
		if (strata_dir_make_private(d) != 1)
			continue;
		/* tightened now: an older strata wrote its files 0644 */
		DIR *dir = opendir(d);
		struct dirent *de;
		while (dir && (de = readdir(dir)))
			if (de->d_type == DT_REG)
				fchmodat(dirfd(dir), de->d_name, 0600, 0);
		if (dir)
			closedir(dir);
	}
}

json_t *cache_inputs_get(const char *root, const struct oci_digest *key)
{
	cleanup_free char *p = path_of(root, "inputs", key->hex);
	json_t *j = NULL;
	if (strata_json_load_file(p, 256u << 20, &j, NULL) < 0)
		return NULL;
	return j;
}

int cache_last_get(const char *root, const char *stepid, struct oci_digest *key)
{
	cleanup_free char *p = path_of(root, "last", stepid);
	cleanup_json json_t *j = NULL;
	if (strata_json_load_file(p, 4096, &j, NULL) < 0)
		return -1;
	const char *s = json_string_value(json_object_get(j, "key"));
	return s && oci_digest_parse(s, key, NULL) == 0 ? 0 : -1;
}

int cache_last_set(const char *root, const char *stepid, const struct oci_digest *key, struct strata_error **err)
{
	/* a no-op rebuild writes nothing (each write is an fsync) */
	struct oci_digest cur;
	if (cache_last_get(root, stepid, &cur) == 0 && !strcmp(cur.str, key->str))
		return 0;
	cleanup_json json_t *j = json_pack("{s:s}", "key", key->str);
	return write_json(root, "last", stepid, j, err);
}
