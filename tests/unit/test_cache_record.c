/*
 * test_cache_record.c — the cache record model: inline cache round trip,
 * the export artifact (mode min / max), caps, bad input, explanations,
 * --cache-to parsing.
 */
#include "tap.h"

#include <string.h>

#include "cache/cache.h"

static char *key(int n)
{
	return xasprintf("sha256:%064x", n);
}

static json_t *desc(int n)
{
	cleanup_free char *d = xasprintf("sha256:%064x", 0x1000 + n);
	return oci_descriptor_new(OCI_MT_LAYER_GZIP, d, 100 + n);
}

static char *diffid(int n)
{
	return xasprintf("sha256:%064x", 0x2000 + n);
}

/* stage 0: steps 1, 2 (layers 0, 1); stage 1: step 3 (layer 2) */
static void fill(struct rcache_record *r)
{
	for (int i = 0; i < 3; i++) {
		cleanup_free char *k = key(i + 1), *di = diffid(i);
		cleanup_json json_t *d = desc(i);
		cleanup_json json_t *in = json_pack("{s:s, s:s}", "parent", "sha256:p", "insn", "RUN x");
		struct rcache_entry e = { .key = k, .layer = i, .stage = i < 2 ? 0 : 1, .pos = i < 2 ? i : 0,
					  .line = 10 + i, .insn = (char *)"RUN x", .inputs = in, .desc = d,
					  .diff_id = di };
		rcache_record_add(r, &e);
	}
}

static void test_inline(void)
{
	struct rcache_record r = { 0 }, back = { 0 };
	fill(&r);
	cleanup_json json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[]}}", "architecture", "amd64", "os", "linux",
					     "rootfs", "type", "layers", "diff_ids");
	json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	cleanup_json json_t *layers = json_array();
	for (int i = 0; i < 3; i++) {
		cleanup_free char *di = diffid(i);
		json_array_append_new(ids, json_string(di));
		json_array_append_new(layers, desc(i));
	}
	struct strata_error *err = NULL;
	ok(rcache_config_set(cfg, &r, &err) == 0, "inline: encode");
	/* through text, as a registry would carry it */
	size_t len = 0;
	cleanup_free char *txt = strata_json_dump(cfg, &len);
	cleanup_json json_t *cfg2 = NULL;
	ok(strata_json_parse(txt, len, "config", &cfg2, &err) == 0, "inline: reparse");
	is_int(rcache_config_get(cfg2, layers, &back, &err), 1, "inline: decode finds the field");
	is_int(back.n, 3, "inline: 3 steps");
	for (size_t i = 0; i < back.n && i < 3; i++) {
		is_str(back.v[i].key, r.v[i].key, "inline: key %zu", i);
		is_int(back.v[i].layer, (int)i, "inline: layer %zu", i);
		is_int(back.v[i].stage, r.v[i].stage, "inline: stage %zu", i);
		is_int(back.v[i].pos, r.v[i].pos, "inline: pos %zu", i);
		is_int(back.v[i].line, 10 + (int)i, "inline: line %zu", i);
		is_str(back.v[i].insn, "RUN x", "inline: insn %zu", i);
		is_str(back.v[i].diff_id, r.v[i].diff_id, "inline: diff_id %zu", i);
		ok(json_equal(back.v[i].desc, r.v[i].desc), "inline: desc %zu", i);
		ok(json_equal(back.v[i].inputs, r.v[i].inputs), "inline: inputs %zu", i);
	}
	rcache_record_release(&back);

	/* no field: 0, nothing */
	cleanup_json json_t *plain = json_pack("{s:s}", "os", "linux");
	is_int(rcache_config_get(plain, NULL, &back, &err), 0, "inline: no field -> 0");
	is_int(back.n, 0, "inline: no entries");

	/* a manifest layer that is not a descriptor */
	cleanup_json json_t *badlayers = json_deep_copy(layers);
	json_array_set_new(badlayers, 1, json_string("x"));
	is_int(rcache_config_get(cfg2, badlayers, &back, &err), -1, "inline: bad layer descriptor rejected");
	if (err) {
		cleanup_free char *m = strata_error_string(err);
		ok(strstr(m, "steps[1]: layer 1 has no valid descriptor") != NULL, "inline: names it (%s)", m);
		strata_error_clear(&err);
	}
	/* out of range layer index */
	json_t *steps = json_object_get(json_object_get(cfg2, RCACHE_FIELD), "steps");
	json_object_set_new(json_array_get(steps, 1), "layer", json_integer(9));
	is_int(rcache_config_get(cfg2, layers, &back, &err), -1, "inline: layer out of range rejected");
	if (err) {
		cleanup_free char *m = strata_error_string(err);
		ok(strstr(m, "strata.cache.v1.steps[1]: layer 9 out of range (the image has 3)") != NULL,
		   "inline: error names the step (%s)", m);
		strata_error_clear(&err);
	}
	json_object_set_new(json_array_get(steps, 1), "key", json_string("md5:xx"));
	json_object_set_new(json_array_get(steps, 1), "layer", json_integer(1));
	is_int(rcache_config_get(cfg2, layers, &back, &err), -1, "inline: bad key rejected");
	strata_error_clear(&err);
	json_object_set_new(cfg2, RCACHE_FIELD, json_string("x"));
	is_int(rcache_config_get(cfg2, layers, &back, &err), -1, "inline: non-object field rejected");
	strata_error_clear(&err);

	/* a bad entry is refused on encode */
	free(r.v[0].key);
	r.v[0].key = xstrdup("nope");
	is_int(rcache_config_set(cfg, &r, &err), -1, "inline: encode refuses a bad key");
	strata_error_clear(&err);
	rcache_record_release(&r);
}

static void test_artifact(bool max)
{
	struct rcache_record r = { 0 }, back = { 0 };
	fill(&r);
	/* a duplicate layer (step 4 reuses layer 0) is listed once */
	cleanup_free char *k4 = key(4), *di0 = diffid(0);
	cleanup_json json_t *d0 = desc(0);
	struct rcache_entry e4 = { .key = k4, .layer = 0, .stage = 1, .pos = 1, .desc = d0, .diff_id = di0 };
	rcache_record_add(&r, &e4);
	struct strata_error *err = NULL;
	cleanup_free char *cfg = NULL, *man = NULL;
	size_t clen = 0, mlen = 0;
	ok(rcache_artifact_encode(r.v, r.n, max, 1, &cfg, &clen, &man, &mlen, &err) == 0, "artifact %s: encode",
	   max ? "max" : "min");
	cleanup_json json_t *mj = NULL, *cj = NULL;
	ok(strata_json_parse(man, mlen, "m", &mj, &err) == 0 && strata_json_parse(cfg, clen, "c", &cj, &err) == 0,
	   "artifact: parses");
	is_str(json_string_value(json_object_get(mj, "artifactType")), RCACHE_ARTIFACT_TYPE, "artifact: artifactType");
	is_str(json_string_value(json_object_get(json_object_get(mj, "config"), "mediaType")), RCACHE_CONFIG_MT,
	       "artifact: config media type");
	is_str(json_string_value(json_object_get(mj, "mediaType")), OCI_MT_MANIFEST, "artifact: an image manifest");
	struct oci_digest cd;
	oci_digest_of(&cd, cfg, clen);
	is_str(json_string_value(json_object_get(json_object_get(mj, "config"), "digest")), cd.str,
	       "artifact: config digest");
	ok(rcache_is_artifact(mj), "artifact: recognised");
	is_int(json_array_size(json_object_get(mj, "layers")), max ? 3 : 2, "artifact: distinct layers");
	/* the manifest decodes with the oci model */
	struct oci_manifest om;
	ok(oci_manifest_decode(man, mlen, "m", &om, &err) == 0, "artifact: valid OCI manifest");
	oci_manifest_release(&om);
	ok(rcache_artifact_decode(mj, cj, &back, &err) == 0, "artifact: decode");
	is_int(back.n, max ? 4 : 2, "artifact: entries kept");
	for (size_t i = 0; i < back.n; i++) {
		const struct rcache_entry *o = NULL;
		for (size_t j = 0; j < r.n; j++)
			if (!strcmp(r.v[j].key, back.v[i].key))
				o = &r.v[j];
		ok(o && json_equal(o->desc, back.v[i].desc) && !strcmp(o->diff_id, back.v[i].diff_id) &&
			   o->stage == back.v[i].stage && o->pos == back.v[i].pos,
		   "artifact: entry %zu round trip", i);
		if (!max)
			is_int(back.v[i].stage, 1, "artifact min: final stage only");
	}
	rcache_record_release(&back);
	/* mismatched layers / diff_ids */
	json_array_append_new(json_object_get(cj, "diff_ids"), json_string(di0));
	is_int(rcache_artifact_decode(mj, cj, &back, &err), -1, "artifact: diff_ids count checked");
	strata_error_clear(&err);
	/* an entry without a descriptor cannot be exported */
	json_decref(r.v[0].desc);
	r.v[0].desc = NULL;
	is_int(rcache_artifact_encode(r.v, r.n, true, 1, &cfg, &clen, &man, &mlen, &err), -1,
	       "artifact: entry without descriptor refused");
	strata_error_clear(&err);
	rcache_record_release(&r);
}

static void test_cap(void)
{
	cleanup_json json_t *files = json_object();
	for (int i = 0; i < RCACHE_FILES_MAX + 50; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%04d", i);
		json_object_set_new(files, p, json_string("sha256:x"));
	}
	cleanup_json json_t *in = json_pack("{s:s, s:O}", "insn", "COPY . /", "files", files);
	cleanup_json json_t *c = rcache_inputs_cap(in, RCACHE_FILES_MAX);
	is_int(json_object_size(json_object_get(c, "files")), RCACHE_FILES_MAX, "cap: files capped");
	ok(json_is_true(json_object_get(c, "files_truncated")), "cap: marked truncated");
	/* a long instruction is truncated in the record */
	struct rcache_record r = { 0 };
	cleanup_free char *k = key(1);
	char *longinsn = xmalloc(4000);
	memset(longinsn, 'a', 3999);
	longinsn[3999] = 0;
	struct rcache_entry e = { .key = k, .insn = longinsn };
	rcache_record_add(&r, &e);
	free(longinsn);
	cleanup_json json_t *cfg = json_object();
	struct strata_error *err = NULL;
	ok(rcache_config_set(cfg, &r, &err) == 0, "cap: encode");
	const char *insn = json_string_value(
		json_object_get(json_array_get(json_object_get(json_object_get(cfg, RCACHE_FIELD), "steps"), 0), "insn"));
	is_int(insn ? strlen(insn) : 0, RCACHE_INSN_MAX, "cap: instruction truncated");
	rcache_record_release(&r);
}

static void test_explain(void)
{
	cleanup_json json_t *prev = json_pack("{s:s, s:s, s:{s:s}, s:[s], s:{s:s}, s:s, s:{s:s, s:s}}", "parent", "p",
					      "insn", "COPY . /", "build_args", "VERSION", "sha256:1.0", "env", "PATH=/bin",
					      "config", "workdir", "/", "sources", "s1", "files", "a.c", "d1", "b.c",
					      "d2");
	cleanup_json json_t *now = json_deep_copy(prev);
	cleanup_free char *m0 = rcache_inputs_diff(NULL, now, false);
	is_str(m0, "no cache entry", "explain: no entry");
	cleanup_free char *m1 = rcache_inputs_diff(prev, now, true);
	is_str(m1, "parent step missed", "explain: parent");
	json_object_set_new(now, "build_args", json_pack("{s:s}", "VERSION", "sha256:1.1"));
	cleanup_free char *m2 = rcache_inputs_diff(prev, now, false);
	is_str(m2, "build arg VERSION changed", "explain: arg");
	json_object_set(now, "build_args", json_object_get(prev, "build_args"));
	json_object_set_new(now, "env", json_pack("[s]", "PATH=/usr/bin"));
	cleanup_free char *m3 = rcache_inputs_diff(prev, now, false);
	is_str(m3, "env PATH changed", "explain: env");
	json_object_set(now, "env", json_object_get(prev, "env"));
	json_object_set_new(now, "config", json_pack("{s:s}", "workdir", "/src"));
	cleanup_free char *m4 = rcache_inputs_diff(prev, now, false);
	is_str(m4, "WORKDIR changed", "explain: workdir");
	json_object_set(now, "config", json_object_get(prev, "config"));
	json_object_set_new(now, "sources", json_string("s2"));
	json_object_set_new(now, "files", json_pack("{s:s, s:s}", "a.c", "d1", "b.c", "d3"));
	cleanup_free char *m5 = rcache_inputs_diff(prev, now, false);
	is_str(m5, "b.c changed", "explain: file changed");
	json_object_set_new(now, "files", json_pack("{s:s, s:s, s:s}", "a.c", "d1", "b.c", "d2", "c.c", "d4"));
	cleanup_free char *m6 = rcache_inputs_diff(prev, now, false);
	is_str(m6, "c.c added", "explain: file added");
	json_object_set_new(now, "files", json_pack("{s:s}", "a.c", "d1"));
	cleanup_free char *m7 = rcache_inputs_diff(prev, now, false);
	is_str(m7, "b.c removed", "explain: file removed");
	json_object_set_new(now, "insn", json_string("COPY . /x"));
	cleanup_free char *m8 = rcache_inputs_diff(prev, now, false);
	is_str(m8, "instruction changed", "explain: instruction");
	cleanup_json json_t *base = json_deep_copy(prev);
	json_object_set_new(base, "parent", json_string("q"));
	cleanup_free char *m9 = rcache_inputs_diff(prev, base, false);
	is_str(m9, "base changed", "explain: parent key differs");
	cleanup_json json_t *plat = json_deep_copy(prev);
	json_object_set_new(plat, "platform", json_string("arm64"));
	cleanup_free char *m11 = rcache_inputs_diff(prev, plat, false);
	is_str(m11, "platform changed", "explain: platform");
	/* older inputs: build-arg values in clear in "args" and in "env" */
	cleanup_json json_t *old = json_pack("{s:s, s:{s:s}, s:[s,s]}", "insn", "RUN make", "args", "V", "1", "env",
					     "PATH=/bin", "V=1");
	cleanup_json json_t *cur = json_pack(
		"{s:s, s:{s:s}, s:[s]}", "insn", "RUN make", "build_args", "V",
		"sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b", "env", "PATH=/bin");
	cleanup_free char *m12 = rcache_inputs_diff(old, cur, false);
	ok(strncmp(m12, "build arg", 9) && strncmp(m12, "env", 3), "explain: older inputs read (%s)", m12);
	json_object_set_new(json_object_get(old, "args"), "V", json_string("2"));
	cleanup_free char *m13 = rcache_inputs_diff(old, cur, false);
	is_str(m13, "build arg V changed", "explain: older inputs, arg changed");
	cleanup_free char *m10 = rcache_explain(NULL, 0, 0, now, false);
	is_str(m10, "no cache entry", "explain: no table");
}

static void test_cache_to(void)
{
	struct strata_error *err = NULL;
	char *ref = NULL;
	bool max = true;
	ok(rcache_parse_cache_to("127.0.0.1:5000/app:cache", &ref, &max, &err) == 0 && !max, "cache-to: plain");
	is_str(ref, "127.0.0.1:5000/app:cache", "cache-to: ref");
	free(ref);
	ok(rcache_parse_cache_to("127.0.0.1:5000/app:cache,mode=max", &ref, &max, &err) == 0 && max,
	   "cache-to: mode=max");
	free(ref);
	ok(rcache_parse_cache_to("type=registry,ref=r.io/a:c,mode=min", &ref, &max, &err) == 0 && !max,
	   "cache-to: buildx form");
	is_str(ref, "r.io/a:c", "cache-to: buildx ref");
	free(ref);
	is_int(rcache_parse_cache_to("r.io/a:c,mode=huge", &ref, &max, &err), -1, "cache-to: bad mode");
	ok(err && strata_error_code(err) == STRATA_E_USAGE, "cache-to: usage error");
	strata_error_clear(&err);
	is_int(rcache_parse_cache_to("mode=max", &ref, &max, &err), -1, "cache-to: no ref");
	strata_error_clear(&err);
	is_int(rcache_parse_cache_to("Bad Ref", &ref, &max, &err), -1, "cache-to: invalid ref");
	strata_error_clear(&err);
}

/* COPY --from: the source set's id round-trips, its files are kept up to
 * RCACHE_COPY_FILES_MAX, a bad id is refused */
static void test_sources_id(void)
{
	cleanup_json json_t *files = json_object();
	for (int i = 0; i < RCACHE_FILES_MAX + 10; i++) {
		char p[32];
		snprintf(p, sizeof(p), "f%04d", i);
		json_object_set_new(files, p, json_string("0123456789abcdef"));
	}
	cleanup_free char *k = key(7), *sid = key(0x77), *di = diffid(0);
	cleanup_json json_t *d = desc(0);
	cleanup_json json_t *in = json_pack("{s:s, s:s, s:O}", "insn", "COPY --from=b /x /x", "sources",
					    "aa00000000000000000000000000000000000000000000000000000000000000", "files",
					    files);
	struct rcache_record r = { 0 }, back = { 0 };
	struct rcache_entry e = { .key = k, .layer = 0, .inputs = in, .desc = d, .diff_id = di, .sources_id = sid };
	rcache_record_add(&r, &e);
	cleanup_json json_t *cfg = json_pack("{s:{s:[s]}}", "rootfs", "diff_ids", di);
	struct strata_error *err = NULL;
	ok(rcache_config_set(cfg, &r, &err) == 0, "sources_id: encode");
	cleanup_json json_t *layers = json_pack("[O]", d);
	is_int(rcache_config_get(cfg, layers, &back, &err), 1, "sources_id: decode");
	ok(back.n == 1 && back.v[0].sources_id && !strcmp(back.v[0].sources_id, sid), "sources_id: round trip");
	is_int(json_object_size(json_object_get(back.v[0].inputs, "files")), RCACHE_FILES_MAX + 10,
	       "sources_id: files kept whole below RCACHE_COPY_FILES_MAX");
	rcache_record_release(&back);
	json_t *step = json_array_get(json_object_get(json_object_get(cfg, RCACHE_FIELD), "steps"), 0);
	json_object_set_new(step, "sources_id", json_string("sha256:nothex"));
	is_int(rcache_config_get(cfg, layers, &back, &err), -1, "sources_id: a bad id is refused");
	cleanup_free char *m = strata_error_string(err);
	ok(strstr(m, "steps[0]: invalid sources_id"), "sources_id: the error names the field (%s)", m);
	strata_error_clear(&err);
	rcache_record_release(&r);
}

int main(void)
{
	test_inline();
	test_artifact(true);
	test_artifact(false);
	test_cap();
	test_sources_id();
	test_explain();
	test_cache_to();
	return done_testing();
}
