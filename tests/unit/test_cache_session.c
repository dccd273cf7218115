/*
 * test_cache_session.c — the engine's handle: recording a build's layer
 * steps, the inline cache of the final image (ancestor stages included, by
 * layer identity), remote notes for hits, NULL sessions.
 */
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

static char *hex(const char *pfx, int n)
{
	return xasprintf("%s%064x", pfx, n);
}

int main(void)
{
	char tmpl[] = "/tmp/strata-test-cache-session.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	struct strata_error *err = NULL;
	struct store *s = NULL;
	struct regclient_opts o = { 0 };
	struct regclient *c = NULL;
	ok(store_open(tmpl, &s, &err) == 0 && regclient_new(&o, &c, &err) == 0, "store and client");

	/* NULL session: no hits, plain explanations */
	ok(rcache_session_lookup(NULL, "sha256:x") == NULL, "NULL session: no hit");
	cleanup_free char *why = rcache_session_explain(NULL, 0, 0, NULL, false);
	is_str(why, "no cache entry", "NULL session: no cache entry");

	rcache_session_add(NULL, NULL);
	ok(rcache_session_inline(NULL, NULL, NULL, &err) == 0 && rcache_session_note_remote(NULL, &err) == 0,
	   "NULL session: inline and notes are no-ops");
	struct rcache_session *x = NULL;
	ok(rcache_session_open(c, s, NULL, 0, NULL, &x, &err) == 0, "open with no source");
	size_t n = 9;
	rcache_session_lines(x, &n);
	is_int(n, 0, "no lines");
	const char *bad[] = { "Bad Ref" };
	struct rcache_session *y = NULL;
	is_int(rcache_session_open(c, s, bad, 1, NULL, &y, &err), -1, "bad reference: usage error");
	ok(err && strata_error_code(err) == STRATA_E_USAGE, "STRATA_E_USAGE");
	strata_error_clear(&err);

	/* stage 0 builds layers 0, 1; stage 1 (FROM stage 0) adds layer 2; stage 2 (scratch) layer 0' */
	cleanup_json json_t *final_layers = json_array();
	for (int i = 0; i < 4; i++) {
		cleanup_free char *k = hex("sha256:", i + 1), *dg = hex("sha256:", 0x100 + i),
				  *di = hex("sha256:", 0x200 + i);
		cleanup_json json_t *d = oci_descriptor_new(OCI_MT_LAYER_GZIP, dg, 10 + i);
		struct rcache_entry e = { .key = k, .layer = i < 3 ? i : 0, .stage = i < 2 ? 0 : i == 2 ? 1 : 2,
					  .pos = i, .desc = d, .diff_id = di };
		if (i == 1) { /* a hit from a registry */
			e.host = "127.0.0.1:5000";
			e.repo = "app";
		}
		rcache_session_add(x, &e);
		if (i < 3)
			json_array_append(final_layers, d);
	}
	cleanup_json json_t *cfg = json_object();
	ok(rcache_session_inline(x, cfg, final_layers, &err) == 0, "inline");
	json_t *steps = json_object_get(json_object_get(cfg, RCACHE_FIELD), "steps");
	is_int(json_array_size(steps), 3, "inline: the final image's chain (stages 0 and 1), not stage 2");
	is_int(json_integer_value(json_object_get(json_array_get(steps, 2), "stage")), 1, "inline: last is stage 1");

	ok(rcache_session_note_remote(x, &err) == 0, "note remote");
	char *h = NULL, *r = NULL;
	cleanup_free char *l1 = hex("sha256:", 0x101), *l0 = hex("sha256:", 0x100);
	is_int(store_blobloc_lookup(s, l1, &h, &r, NULL, &err), 1, "the hit's layer is recorded");
	is_str(h, "127.0.0.1:5000", "host");
	is_str(r, "app", "repo");
	free(h);
	free(r);
	is_int(store_blobloc_lookup(s, l0, &h, &r, NULL, &err), 0, "a built layer is not remote");

	struct rcache_push_result pr;
	is_int(rcache_session_export(x, "r.io/a:c,mode=bad", final_layers, &pr, &err), -1, "export: bad spec");
	strata_error_clear(&err);

	rcache_session_free(x);
	rcache_session_free(NULL);
	regclient_free(c);
	store_close(s);
	strata_rm_rf(tmpl, NULL);
	return done_testing();
}
