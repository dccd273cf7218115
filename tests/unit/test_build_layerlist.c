/* The build's typed layers (build/layerlist.h): descriptors in and out, the
 * array's life cycle, and a sha512 diff_id kept whole from a stage's layers
 * through the stored image to the config's rootfs.diff_ids and back. */
#include "tap.h"
#include "build/build_internal.h"
#include "build/layerlist.h"
#include "layer/layer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex_of(char c, size_t n, char *buf)
{
	memset(buf, c, n);
	buf[n] = '\0';

}

static int buf_sink(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)err;
	return strata_buf_add(ctx, p, n);
}

/*
 * A layer whose diff_id is sha512 extracts as its snapshot, named by the
 * 128 hex digits (the layer's tar is hashed with sha512 to check it); a
 * wrong sha512 diff_id is refused.
 */
static void snapshot_sha512(const char *root, struct store *s)
{
	cleanup_free char *tree = xasprintf("%s/tree", root);
	cleanup_free char *f = xasprintf("%s/hello.txt", tree);
	strata_mkdir_p(tree, 0755, NULL);
	strata_atomic_write(f, "hello sha512\n", 13, 0644, NULL);
	struct strata_buf tar = STRATA_BUF_INIT;
	struct strata_sink sink = { buf_sink, &tar };
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	struct layer_write_opts wo = { .compression = OCI_COMPRESSION_NONE };
	struct layer_result res;
	struct strata_error *err = NULL;
	ok(layer_create_blob(tree, &co, &wo, &sink, &res, &err) == 0, "an uncompressed layer");
	struct strata_hash h;
	char hex[STRATA_HASH_HEX_MAX];
	strata_hash_init(&h, STRATA_HASH_SHA512);
	strata_hash_update(&h, tar.data, tar.len);
	strata_hash_final(&h, hex);
	struct oci_digest blob, diff, wrong;
	ok(store_blob_put(s, tar.data, tar.len, NULL, &blob, &err) == 0, "its blob stored");
	oci_digest_from_hex(&diff, STRATA_HASH_SHA512, hex);
	struct build_layer l = { .media_type = (char *)OCI_MT_LAYER, .digest = blob, .size = (int64_t)tar.len,
				 .diff_id = diff };
	ok(snapshot_ensure(s, root, &l, &err) == 0, "snapshot_ensure with a sha512 diff_id");
	if (err)
		diag("%s", err->msg);
	strata_error_free(err);
	err = NULL;
	cleanup_free char *snap = xasprintf("%s/build/snapshots/%s/hello.txt", root, hex);
	ok(strata_path_exists(snap), "the snapshot is build/snapshots/<128 hex>");
	hex[0] = hex[0] == '0' ? '1' : '0';
	oci_digest_from_hex(&wrong, STRATA_HASH_SHA512, hex);
	l.diff_id = wrong;
	ok(snapshot_ensure(s, root, &l, &err) < 0, "a wrong sha512 diff_id is refused");
	char *m = err ? strata_error_string(err) : NULL;
	ok(m && strstr(m, "layer diff_id mismatch: expected sha512:") && strstr(m, diff.str),
	   "the mismatch names both sha512 digests: %s", m ? m : "(none)");
	free(m);
	strata_error_free(err);
	strata_buf_release(&tar);
}

/* the error text of a failed decode (freed by the caller), or NULL */
static char *decode_err(const char *desc_text, const struct oci_digest *diff)
{
	json_t *d = json_loads(desc_text, 0, NULL);
	struct build_layer l;
	struct strata_error *err = NULL;
	char *msg = NULL;
	if (build_layer_from_desc(d, diff, "cache entry k", &l, &err) < 0)
		msg = strata_error_string(err);
	else
		build_layer_release(&l);
	strata_error_free(err);
	json_decref(d);
	return msg;
}

int main(void)
{
	char h256[65], h512[129], hb[65];
	hex_of('a', 64, h256);
	hex_of('5', 128, h512);
	hex_of('b', 64, hb);
	struct oci_digest d256, d512, blob;
	oci_digest_from_hex(&d256, STRATA_HASH_SHA256, h256);
	oci_digest_from_hex(&d512, STRATA_HASH_SHA512, h512);
	oci_digest_from_hex(&blob, STRATA_HASH_SHA256, hb);
	ok(strlen(d512.str) == 7 + 128, "a sha512 digest is 135 characters");

	/* ---- one layer: descriptor in, descriptor out ---- */
	cleanup_free char *desc_text = xasprintf("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
						 "\"digest\":\"%s\",\"size\":42,\"annotations\":{\"a\":\"b\"}}",
						 blob.str);
	json_t *desc = json_loads(desc_text, 0, NULL);
	struct build_layer l;
	struct strata_error *err = NULL;
	ok(build_layer_from_desc(desc, &d512, "x", &l, &err) == 0, "a descriptor decodes");
	is_str(l.media_type, "application/vnd.oci.image.layer.v1.tar+gzip", "media type");
	is_str(l.digest.str, blob.str, "digest");
	is_int(l.size, 42, "size");
	is_str(l.diff_id.str, d512.str, "the sha512 diff_id, whole");
	is_str(build_layer_snapshot_id(&l), h512, "the snapshot id is the 128 hex digits");
	json_t *back = build_layer_desc(&l);
	ok(json_equal(back, desc), "the descriptor comes back equal (annotations kept)");
	json_decref(back);
	json_decref(desc);

	/* bad descriptors name the field */
	char *m = decode_err("{\"digest\":\"sha256:00\",\"size\":1}", &d256);
	is_str(m, "cache entry k: mediaType: missing or not a string", "no mediaType");
	free(m);
	m = decode_err("{\"mediaType\":\"x\",\"digest\":\"sha256:zz\",\"size\":1}", &d256);
	ok(m && !strncmp(m, "cache entry k: digest: ", 23), "bad digest: %s", m ? m : "(none)");
	free(m);
	m = decode_err("{\"mediaType\":\"x\",\"digest\":\"sha256:" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"size\":-1}",
		       &d256);
	is_str(m, "cache entry k: size: missing or not a non-negative integer", "negative size");
	free(m);
	m = decode_err("[]", &d256);
	is_str(m, "cache entry k: the layer descriptor is not an object", "not an object");
	free(m);

	/* ---- the array ---- */
	struct build_layers ls = BUILD_LAYERS_INIT;
	build_layers_push(&ls, "application/vnd.oci.image.layer.v1.tar+gzip", &blob, 10, &d256);
	build_layers_add(&ls, &l);
	for (int i = 0; i < 20; i++) /* past the first growth */
		build_layers_push(&ls, "m", &blob, i, &d256);
	is_int(ls.n, 22, "22 layers");
	is_int(build_layers_find(&ls, h512), 1, "found by snapshot id");
	is_int(build_layers_find(&ls, hb), -1, "a blob digest is not a diff_id");
	struct build_layers cp = BUILD_LAYERS_INIT;
	build_layers_copy(&cp, &ls);
	build_layers_remove(&ls, 0);
	is_int(ls.n, 21, "removed one");
	is_str(ls.v[0].diff_id.str, d512.str, "the others moved down");
	is_int(cp.n, 22, "the copy is deep: unchanged");
	ok(cp.v[1].media_type != ls.v[0].media_type && cp.v[1].extra != ls.v[0].extra, "no shared pointers");
	build_layers_release(&ls);
	build_layers_release(&ls); /* twice: a no-op */
	is_int(ls.n, 0, "released");
	build_layers_release(&cp);
	build_layer_release(&l);

	/* JSON arrays in: mismatched lengths and bad diff_ids are errors */
	json_t *descs = json_loads(desc_text, 0, NULL);
	json_t *one = json_pack("[o]", descs);
	json_t *none = json_array();
	ok(build_layers_from_json(&ls, one, none, "image 'x'", &err) < 0, "1 layer, 0 diff_ids: refused");
	is_str(err ? err->msg : NULL, "image 'x': 1 layers but 0 diff_ids", "named");
	strata_error_free(err);
	err = NULL;
	json_t *bad = json_pack("[s]", "sha512:abc");
	ok(build_layers_from_json(&ls, one, bad, "image 'x'", &err) < 0, "a short sha512 diff_id is refused");
	m = err ? strata_error_string(err) : NULL;
	ok(m && strstr(m, "image 'x': diff_ids[0]"), "names the index: %s", m ? m : "(none)");
	free(m);
	strata_error_free(err);
	err = NULL;
	json_decref(bad);
	json_decref(none);

	/* ---- the round trip: a stage's layers with a sha512 diff_id, written
	 * as an image (manifest + config from the typed layers), looked up
	 * again as a base, copied into a child stage, to its config ---- */
	char tmpl[] = "/tmp/strata-layerlist-XXXXXX";
	char *root = mkdtemp(tmpl);
	ok(root != NULL, "temp root");
	struct store *s = NULL;
	ok(store_open(root, &s, &err) == 0, "store");
	struct build_layers stage = BUILD_LAYERS_INIT;
	build_layers_push(&stage, "application/vnd.oci.image.layer.v1.tar+gzip", &blob, 42, &d512);
	build_layers_push(&stage, "application/vnd.oci.image.layer.v1.tar+gzip", &blob, 42, &d256);
	/* a config whose rootfs says something else: the layers decide */
	json_t *config = json_pack("{s:s,s:s,s:{},s:{s:s,s:[s]},s:[{s:s},{s:s}]}", "architecture", "amd64", "os",
				   "linux", "config", "rootfs", "type", "layers", "diff_ids", "sha256:stale", "history",
				   "created_by", "a", "created_by", "b");
	struct oci_digest id, md;
	const char *tags[] = { "layerlist:test" };
	ok(image_write(s, config, &stage, NULL, 0, tags, 1, 1, true, &id, &md, &err) == 0, "image written");
	if (err)
		diag("%s", err->msg);
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	is_int(json_array_size(ids), 2, "rootfs.diff_ids: one per layer");
	is_str(json_string_value(json_array_get(ids, 0)), d512.str, "rootfs.diff_ids[0]: the sha512, whole");

	struct store_entry ent = { 0 };
	struct store_image si;
	memset(&si, 0, sizeof(si));
	ok(store_resolve(s, "layerlist:test", &ent, &err) == 0 && store_image_load(s, &ent.digest, &si, &err) == 0,
	   "stored image loads");
	ok(si.config.n_diff_ids == 2 && !strcmp(si.config.diff_ids[0].str, d512.str),
	   "the stored config's diff_ids[0] is the sha512");
	ok(si.manifest.n_layers == 2 && si.manifest.layers[0].size == 42, "the manifest's layers");
	snapshot_sha512(root, s);
	store_image_release(&si);
	store_entry_release(&ent);
	store_close(s);

	struct build_image *img = NULL;
	ok(build_image_lookup(root, "layerlist:test", &img, &err) == 0, "looked up as a base");
	if (img) {
		is_str(img->id.str, id.str, "image id");
		is_int(img->layers.n, 2, "two typed layers");
		is_str(img->layers.v[0].diff_id.str, d512.str, "the base's layer 0: sha512 diff_id");
		is_str(build_layer_snapshot_id(&img->layers.v[0]), h512, "its snapshot id: 128 hex digits");
		/* FROM <that image> AS child: the stage copies the layers and adds one */
		struct build_layers child = BUILD_LAYERS_INIT;
		build_layers_copy(&child, &img->layers);
		build_layers_push(&child, "application/vnd.oci.image.layer.v1.tar+gzip", &blob, 1, &d512);
		json_t *ccfg = json_deep_copy(img->config);
		build_layers_set_rootfs(&child, ccfg);
		json_t *cids = json_object_get(json_object_get(ccfg, "rootfs"), "diff_ids");
		is_int(json_array_size(cids), 3, "child: three diff_ids");
		is_str(json_string_value(json_array_get(cids, 0)), d512.str, "child diff_ids[0]: sha512");
		is_str(json_string_value(json_array_get(cids, 2)), d512.str, "child diff_ids[2]: sha512");
		json_decref(ccfg);
		build_layers_release(&child);
	}
	build_image_free(img);
	build_layers_release(&stage);
	json_decref(config);
	json_decref(one);
	strata_rm_rf(root, NULL);
	return done_testing();
}
