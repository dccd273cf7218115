/*
 * fuzz_cache_metadata — libFuzzer harness for the cache metadata decoders,
 * which read configs and manifests from registries (untrusted): the input
 * is split at the first NUL into a manifest and a config; both decoders
 * run, and whatever decodes is encoded again (inline and as an artifact,
 * with the artifact's cache mounts) and decoded back. Build with `make fuzz`; run e.g.
 *   build-fuzz/fuzz_cache_metadata -max_total_time=600 fuzz/corpus/cache_metadata
 */
#include "cache/cache.h"

#include <stdint.h>
#include <string.h>

static void roundtrip(const struct rcache_record *r, json_t *cfg, json_t *layers)
{
	struct strata_error *err = NULL;
	char *c = NULL, *m = NULL;
	size_t cl = 0, ml = 0;
	if (rcache_artifact_encode(r->v, r->n, true, 0, &c, &cl, &m, &ml, &err) == 0) {
		json_t *mj = NULL, *cj = NULL;
		struct rcache_record back = { 0 };
		if (strata_json_parse(m, ml, "m", &mj, &err) == 0 && strata_json_parse(c, cl, "c", &cj, &err) == 0 &&
		    rcache_artifact_decode(mj, cj, &back, &err) == 0 && back.n > r->n)
			__builtin_trap();
		rcache_record_release(&back);
		if (mj)
			json_decref(mj);
		if (cj)
			json_decref(cj);
		free(c);
		free(m);
	}
	strata_error_clear(&err);
	json_t *copy = json_deep_copy(cfg);
	if (rcache_config_set(copy, r, &err) == 0) {
		struct rcache_record back = { 0 };
		if (rcache_config_get(copy, layers, &back, &err) == 1 && back.n != r->n)
			__builtin_trap();
		rcache_record_release(&back);
	}
	strata_error_clear(&err);
	json_decref(copy);
}

/* decoded mounts always encode again, and decode back to as many */
static void roundtrip_mounts(const struct rcache_record *r, const struct rcache_mount *mv, size_t nm)
{
	struct strata_error *err = NULL;
	char *c = NULL, *m = NULL;
	size_t cl = 0, ml = 0;
	if (rcache_artifact_encode_mounts(r->v, r->n, true, 0, mv, nm, &c, &cl, &m, &ml, &err) < 0)
		__builtin_trap();
	json_t *mj = NULL, *cj = NULL;
	struct rcache_mount *back = NULL;
	size_t nb = 0;
	if (strata_json_parse(m, ml, "m", &mj, &err) < 0 || strata_json_parse(c, cl, "c", &cj, &err) < 0 ||
	    rcache_artifact_mounts(mj, cj, &back, &nb, &err) < 0 || nb != nm)
		__builtin_trap();
	for (size_t i = 0; i < nb; i++)
		rcache_mount_release(&back[i]);
	free(back);
	json_decref(mj);
	json_decref(cj);
	free(c);
	free(m);
	strata_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	const char *p = (const char *)data;
	const char *nul = memchr(p, 0, size);
	size_t mlen = nul ? (size_t)(nul - p) : size;
	const char *cfg = nul ? nul + 1 : "";
	size_t clen = nul ? size - mlen - 1 : 0;
	struct strata_error *err = NULL;
	json_t *mj = NULL, *cj = NULL;
	if (strata_json_parse(p, mlen, "manifest", &mj, &err) < 0)
		mj = json_object();
	strata_error_clear(&err);
	if (strata_json_parse(cfg, clen, "config", &cj, &err) < 0)
		cj = json_object();
	strata_error_clear(&err);
	struct rcache_record r = { 0 };
	if (rcache_is_artifact(mj) && rcache_artifact_decode(mj, cj, &r, &err) == 0) {
		roundtrip(&r, cj, json_object_get(mj, "layers"));
		struct rcache_mount *mv = NULL;
		size_t nm = 0;
		if (rcache_artifact_mounts(mj, cj, &mv, &nm, &err) == 0)
			roundtrip_mounts(&r, mv, nm);
		for (size_t i = 0; i < nm; i++)
			rcache_mount_release(&mv[i]);
		free(mv);
	}
	rcache_record_release(&r);
	strata_error_clear(&err);
	if (rcache_config_get(cj, json_object_get(mj, "layers"), &r, &err) == 1) {
		roundtrip(&r, cj, json_object_get(mj, "layers"));
		for (size_t i = 0; i < r.n; i++) {
			char *why = rcache_inputs_diff(r.v[0].inputs, r.v[i].inputs, false);
			free(why);
		}
	}
	rcache_record_release(&r);
	strata_error_clear(&err);
	json_decref(mj);
	json_decref(cj);
	return 0;
}
