/*
 * explain.c — one-line explanations of cache misses (see cache.h).
 */
#include "cache/cache.h"

#include <string.h>

#include "cache/internal.h"

/* The first name whose value differs between two objects (either side), or NULL. */
static const char *object_diff(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)b, k, v)
	{
		if (!json_equal(v, json_object_get(a, k)))
			return k;
	}
	json_object_foreach((json_t *)a, k, v)
	{
		if (!json_object_get(b, k))
			return k;
	}
	return NULL;
}

/* "K=V" arrays: the first variable name that differs (old_args: the build
 * args older inputs also listed in a's env, ignored there). */
static char *env_diff(const json_t *a, const json_t *b, const json_t *old_args)
{
	cleanup_json json_t *oa = json_object(), *ob = json_object();
	const json_t *arrs[2] = { a, b };
	json_t *objs[2] = { oa, ob };
	for (int s = 0; s < 2; s++) {
		size_t i;
		json_t *v;
		json_array_foreach((json_t *)arrs[s], i, v)
		{
			const char *kv = json_string_value(v);
			if (!kv)
				continue;
			const char *eq = strchr(kv, '=');
			cleanup_free char *k = eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
			json_object_set_new(objs[s], k, json_string(eq ? eq + 1 : ""));
		}
	}
	const char *ak;
	json_t *av;
	json_object_foreach((json_t *)old_args, ak, av)
		if (json_equal(json_object_get(oa, ak), av) && !json_object_get(ob, ak))
			json_object_del(oa, ak);
	const char *k = object_diff(oa, ob);
	return k ? xstrdup(k) : NULL;
}

static const char *config_name(const char *k)
{
	if (!strcmp(k, "workdir"))
		return "WORKDIR";
	if (!strcmp(k, "user"))
		return "USER";
	if (!strcmp(k, "shell"))
		return "SHELL";
	if (!strcmp(k, "network"))
		return "network";
	return k;
}

static bool same(const json_t *a, const json_t *b, const char *k)
{
	json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
	if (!x && !y)
		return true;
	return x && y && json_equal(x, y);
}

char *rcache_inputs_diff(const json_t *prev, const json_t *now, bool parent_missed)
{
	if (parent_missed)
		return xstrdup("parent step missed");
	if (!prev)
		return xstrdup("no cache entry");
	if (!same(prev, now, "insn"))
		return xstrdup("instruction changed");
	if (!same(prev, now, "platform"))
		return xstrdup("platform changed");
	/* older inputs kept build-arg values in clear, in "args" and in "env" */
	const json_t *old_args = json_object_get(prev, "build_args") ? NULL : json_object_get(prev, "args");
	cleanup_json json_t *old_digests = old_args ? strata_json_digest_values(old_args) : NULL;
	const json_t *pa = old_digests ? old_digests : json_object_get(prev, "build_args");
	const json_t *na = json_object_get(now, "build_args");
	if (!((!pa && !na) || (pa && na && json_equal((json_t *)pa, (json_t *)na)))) {
		const char *k = object_diff(pa, na);
		return k ? xasprintf("build arg %s changed", k) : xstrdup("build args changed");
	}
	cleanup_free char *ek = env_diff(json_object_get(prev, "env"), json_object_get(now, "env"), old_args);
	if (ek)
		return xasprintf("env %s changed", ek);
	if (!old_args && !same(prev, now, "env"))
		return xstrdup("env changed");
	if (!same(prev, now, "config")) {
		const char *k = object_diff(json_object_get(prev, "config"), json_object_get(now, "config"));
		return k ? xasprintf("%s changed", config_name(k)) : xstrdup("config changed");
	}
	if (!same(prev, now, "sources")) {
		json_t *pf = json_object_get(prev, "files"), *nf = json_object_get(now, "files");
		bool truncated = json_is_true(json_object_get(prev, "files_truncated"));
		if (json_is_object(pf) && json_is_object(nf)) {
			const char *k;
			json_t *v;
			json_object_foreach(nf, k, v)
			{
				json_t *o = json_object_get(pf, k);
				if (o && !json_equal(o, v))
					return xasprintf("%s changed", k);
				if (!o && !truncated)
					return xasprintf("%s added", k);
			}
			json_object_foreach(pf, k, v)
			{
				if (!json_object_get(nf, k))
					return xasprintf("%s removed", k);
			}
		}
		return xstrdup("sources changed");
	}
	if (!same(prev, now, "mounts"))
		return xstrdup("RUN --mount changed");
	if (!same(prev, now, "parent"))
		return xstrdup("base changed");
	return xstrdup("inputs changed");
}

char *rcache_explain(const struct rcache_table *t, int stage, int pos, const json_t *inputs, bool parent_missed)
{
	const struct rcache_entry *best = NULL;
	const struct rcache_source *bsrc = NULL;
	if (t) {
		for (size_t i = 0; i < t->all.n; i++) {
			const struct rcache_entry *e = &t->all.v[i];
			if (e->stage != stage || e->pos != pos)
				continue;
			const struct rcache_source *s = NULL;
			for (size_t j = 0; j < t->n_src; j++)
				if (t->src[j]->ref == e->source)
					s = t->src[j];
			if (!best || (s && bsrc && s->created > bsrc->created)) {
				best = e;
				bsrc = s;
			}
		}
	}
	if (!best)
		return xstrdup(parent_missed ? "parent step missed" : "no cache entry");
	cleanup_free char *why = rcache_inputs_diff(best->inputs, inputs, parent_missed);
	if (!best->inputs && !parent_missed) {
		free(why);
		why = xstrdup("inputs changed");
	}
	return xasprintf("%s (cache: %s)", why, best->source ? best->source : "?");
}
