/*
 * test_cache_remote.c — the remote blob record, and a store holding an
 * image whose layers are only remote: it loads, lists and survives prune.
 */
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

int main(void)
{
	char tmpl[] = "/tmp/strata-test-cache-remote.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	struct strata_error *err = NULL;
	struct store *s = NULL;
	ok(store_open(tmpl, &s, &err) == 0, "store opens");

	/* an image: config stored, two layers absent */
	cleanup_free char *l1 = xasprintf("sha256:%064x", 0xa1), *l2 = xasprintf("sha256:%064x", 0xa2);
	cleanup_json json_t *cfg = json_pack("{s:s, s:s, s:{s:s, s:[s, s]}}", "architecture", "amd64", "os", "linux",
					     "rootfs", "type", "layers", "diff_ids", l1, l2);
	size_t clen = 0;
	cleanup_free char *craw = strata_json_dump(cfg, &clen);
	struct oci_digest cd, md;
	ok(store_blob_put(s, craw, clen, NULL, &cd, &err) == 0, "config stored");
	json_t *layers = json_pack("[o, o]", oci_descriptor_new(OCI_MT_LAYER_GZIP, l1, 1000),
				   oci_descriptor_new(OCI_MT_LAYER_GZIP, l2, 2000));
	cleanup_json json_t *man = oci_manifest_new(oci_descriptor_new(OCI_MT_CONFIG, cd.str, (int64_t)clen), layers);
	size_t mlen = 0;
	cleanup_free char *mraw = strata_json_dump(man, &mlen);
	ok(store_blob_put(s, mraw, mlen, NULL, &md, &err) == 0, "manifest stored");
	cleanup_ref struct oci_ref ref = OCI_REF_INIT;
	ok(oci_ref_parse("local/app:hit", &ref, &err) == 0 &&
		   store_tag_set(s, &ref, OCI_MT_MANIFEST, &md, (int64_t)mlen, &err) == 0,
	   "tagged");
	ok(store_blobloc_note(s, l1, 1000, "127.0.0.1:5000", "app", &err) == 0, "note l1");
	ok(store_blobloc_note(s, l2, 2000, "127.0.0.1:5000", "app", &err) == 0, "note l2");
	ok(store_blobloc_note(s, l2, 2000, "127.0.0.1:5000", "app", &err) == 0, "note again: no-op");

	char *host = NULL, *repo = NULL;
	int64_t size = 0;
	is_int(store_blobloc_lookup(s, l2, &host, &repo, &size, &err), 1, "lookup finds l2");
	is_str(host, "127.0.0.1:5000", "lookup host");
	is_str(repo, "app", "lookup repo");
	is_int(size, 2000, "lookup size");
	free(host);
	free(repo);
	cleanup_free char *l3 = xasprintf("sha256:%064x", 0xa3);
	is_int(store_blobloc_lookup(s, l3, &host, &repo, NULL, &err), 0, "unknown blob: 0");
	is_int(store_blobloc_note(s, "nope", 1, "h", "r", &err), -1, "note refuses a bad digest");
	strata_error_clear(&err);

	/* the store still works with absent layers */
	struct store_entry ent = { 0 };
	ok(store_resolve(s, "local/app:hit", &ent, &err) == 0, "resolve");
	struct store_image img = { 0 };
	ok(store_image_load(s, &ent.digest, &img, &err) == 0, "image with remote layers loads");
	is_int(img.manifest.n_layers, 2, "two layers listed");
	ok(!store_blob_exists(s, &img.manifest.layers[0].digest), "layer absent locally");
	store_image_release(&img);
	free(ent.name);
	free(ent.media_type);
	struct store_prune_result pr = { 0 };
	ok(store_prune(s, false, &pr, &err) == 0, "prune succeeds");
	is_int(pr.n_removed, 0, "prune keeps manifest and config");
	store_prune_result_release(&pr);
	ok(store_blob_exists(s, &cd), "config kept");

	/* fetching a blob known nowhere */
	struct regclient_opts o = { 0 };
	struct regclient *c = NULL;
	ok(regclient_new(&o, &c, &err) == 0, "client");
	is_int(rcache_fetch_blob(c, s, l3, 10, NULL, NULL, &err), -1, "fetch of an unknown blob fails");
	ok(err && strata_error_code(err) == STRATA_E_NOTFOUND, "NOTFOUND");
	strata_error_clear(&err);
	is_int(rcache_fetch_blob(c, s, cd.str, (int64_t)clen, NULL, NULL, &err), 0, "present blob: nothing to do");
	regclient_free(c);

	/* a corrupt record is an error naming the file */
	cleanup_free char *rp = xasprintf("%s/.strata/blob-locations.json", tmpl);
	ok(strata_atomic_write(rp, "[1]", 3, 0644, &err) == 0, "corrupt the record");
	is_int(store_blobloc_lookup(s, l1, &host, &repo, NULL, &err), -1, "corrupt record: error");
	if (err) {
		cleanup_free char *m = strata_error_string(err);
		ok(strstr(m, "blob-locations.json") != NULL, "error names the file (%s)", m);
		strata_error_clear(&err);
	}
	store_close(s);
	strata_rm_rf(tmpl, NULL);
	return done_testing();
}
