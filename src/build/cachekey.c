/*
 * cachekey.c — step cache keys from canonical JSON inputs, and the one-line
 * explanation of a miss.
 */
#include "build/build.h"

#include <string.h>

void build_cache_key(const json_t *inputs, char key[72])
{
	cleanup_json json_t *doc = json_is_object(inputs) ? json_copy((json_t *)inputs) : json_object();
	json_object_set_new(doc, "v", json_integer(BUILD_CACHE_KEY_VERSION));
	cleanup_free char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	char hex[65];
	strata_sha256_hex(s, strlen(s), hex);
	snprintf(key, 72, "sha256:%s", hex);
}

static bool same(const json_t *a, const json_t *b)
{
	if (!a && !b)
		return true;
	if (!a || !b)
		return false;
	return json_equal((json_t *)a, (json_t *)b);
}

/* first difference between two objects of strings: "<what> NAME changed/added/removed" */
static char *diff_object(const json_t *prev, const json_t *now, const char *what)
{
	const char *k;
	json_t *v;
	/* iterate in sorted order so the message is stable */
	cleanup_json json_t *keys = json_array();
	json_object_foreach((json_t *)now, k, v) json_array_append_new(keys, json_string(k));
	json_object_foreach((json_t *)prev, k, v) if (!json_object_get(now, k)) json_array_append_new(keys, json_string(k));
	const char *best = NULL;
	const char *how = NULL;
	size_t i;
	json_t *kv;
	json_array_foreach(keys, i, kv) {
		const char *name = json_string_value(kv);
		json_t *a = json_object_get(prev, name), *b = json_object_get(now, name);
		if (same(a, b))
			continue;
		if (!best || strcmp(name, best) < 0) {
			best = name;
			how = !a ? "added" : !b ? "removed" : "changed";
		}
	}
	if (!best)
		return NULL;
	return what[0] ? xasprintf("%s %s %s", what, best, how) : xasprintf("%s %s", best, how);
}

/* env arrays: compare as objects K -> V */
static json_t *env_object(const json_t *arr)
{
	json_t *o = json_object();
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)arr, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		const char *eq = strchr(s, '=');
		cleanup_free char *k = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
		json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

char *build_cache_explain(const json_t *prev, const json_t *now, bool parent_missed)
{
	if (parent_missed)
		return xstrdup("parent step missed");
	if (!prev)
		return xstrdup("no cache entry");
	if (!same(json_object_get(prev, "parent"), json_object_get(now, "parent")))
		return xstrdup("parent step changed");
	if (!same(json_object_get(prev, "insn"), json_object_get(now, "insn")))
		return xstrdup("instruction changed");
	/* older inputs kept build-arg values in clear, in "args" and in "env" */
	const json_t *old_args = json_object_get(prev, "build_args") ? NULL : json_object_get(prev, "args");
	cleanup_json json_t *old_digests = old_args ? strata_json_digest_values(old_args) : NULL;
	json_t *pa = old_digests ? old_digests : json_object_get(prev, "build_args");
	json_t *na = json_object_get(now, "build_args");
	if (!same(pa, na)) {
		cleanup_json json_t *e1 = pa ? json_incref(pa) : json_object();
		cleanup_json json_t *e2 = na ? json_incref(na) : json_object();
		char *m = diff_object(e1, e2, "build arg");
		if (m)
			return m;
	}
	cleanup_json json_t *e1 = env_object(json_object_get(prev, "env"));
	cleanup_json json_t *e2 = env_object(json_object_get(now, "env"));
	const char *ak;
	json_t *av;
	json_object_foreach((json_t *)old_args, ak, av)
		if (json_equal(json_object_get(e1, ak), av) && !json_object_get(e2, ak))
			json_object_del(e1, ak);
	if (!same(e1, e2)) {
		char *m = diff_object(e1, e2, "env");
		return m ? m : xstrdup("env changed");
	}
	json_t *pc = json_object_get(prev, "config"), *nc = json_object_get(now, "config");
	if (!same(pc, nc)) {
		static const char *const names[][2] = { { "workdir", "WORKDIR" }, { "user", "USER" },
							{ "shell", "SHELL" }, { "network", "network" } };
		for (size_t i = 0; i < STRATA_ARRAY_SIZE(names); i++)
			if (!same(json_object_get(pc, names[i][0]), json_object_get(nc, names[i][0])))
				return xasprintf("%s changed", names[i][1]);
		return xstrdup("config changed");
	}
	if (!same(json_object_get(prev, "mounts"), json_object_get(now, "mounts")))
		return xstrdup("mounts changed");
	json_t *pf = json_object_get(prev, "files"), *nf = json_object_get(now, "files");
	if (!same(json_object_get(prev, "sources"), json_object_get(now, "sources"))) {
		if (pf && nf) {
			char *m = diff_object(pf, nf, "");
			if (m)
				return m;
		}
		return xstrdup("sources changed");
	}
	return xstrdup("no cache entry");
}
