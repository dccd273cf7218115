#include "tap.h"
#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void expect_err(int r, struct strata_error **err, const char *want, const char *name)
{
	char *m = strata_error_string(*err);
	ok(r < 0 && m && strstr(m, want), "%s (%s)", name, m);
	free(m);
	strata_error_clear(err);
}

int main(void)
{
	struct strata_error *err = NULL;
	char tmpl[] = "/tmp/strata-test-store-XXXXXX";
	ok(mkdtemp(tmpl) != NULL, "temp dir");
	char *root = xasprintf("%s/root", tmpl);
	struct store *s = NULL;
	ok(store_open(root, &s, &err) == 0, "open creates the layout");
	char *p = xasprintf("%s/oci-layout", root);
	ok(strata_path_exists(p), "oci-layout exists");
	free(p);
	char *blobs = xasprintf("%s/blobs/sha256", root);
	char *tmpdir = xasprintf("%s/.strata/tmp", root);

	/* blobs */
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
			  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	struct oci_digest cd, d2;
	ok(store_blob_put(s, cfg, strlen(cfg), NULL, &cd, &err) == 0, "put config blob");
	ok(store_blob_exists(s, &cd), "blob exists");
	int64_t size = 0;
	ok(store_blob_stat(s, &cd, &size, &err) == 0 && size == (int64_t)strlen(cfg), "stat size");
	struct strata_buf b = STRATA_BUF_INIT;
	ok(store_blob_read(s, &cd, 1 << 20, &b, &err) == 0 && !strcmp(b.data, cfg), "read back verified");
	strata_buf_release(&b);
	expect_err(store_blob_read(s, &cd, 10, &b, &err), &err, "larger than 10 bytes", "read cap enforced");
	ok(store_blob_put(s, cfg, strlen(cfg), &cd, &d2, &err) == 0, "put again with expected digest is idempotent");

	struct oci_digest wrong;
	oci_digest_of(&wrong, "x", 1);
	expect_err(store_blob_put(s, "y", 1, &wrong, NULL, &err), &err, "digest mismatch", "wrong digest rejected");
	ok(!store_blob_exists(s, &wrong), "nothing published on mismatch");
	is_int(count_files(tmpdir), 0, "no temp file left");

	struct store_blob_writer *w = NULL;
	ok(store_blob_writer_open(s, NULL, 3, &w, &err) == 0, "writer with size");
	struct strata_sink sk = store_blob_writer_sink(w);
	ok(strata_sink_write(&sk, "ab", 2, &err) == 0, "write through sink");
	expect_err(strata_sink_write(&sk, "cd", 2, &err), &err, "more data than the expected 3 bytes", "overflow rejected");
	store_blob_writer_abort(w);
	ok(store_blob_writer_open(s, NULL, 3, &w, &err) == 0, "writer with size");
	store_blob_writer_write(w, "ab", 2, &err);
	expect_err(store_blob_writer_commit(w, NULL, NULL, &err), &err, "size mismatch", "short blob rejected");
	is_int(count_files(tmpdir), 0, "no temp file left after failures");

	/* a layer and a manifest */
	struct oci_digest ld, md;
	ok(store_blob_put(s, "layer-bytes", 11, NULL, &ld, &err) == 0, "put layer");
	char *cfg2 = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
			       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", ld.str);
	ok(store_blob_put(s, cfg2, strlen(cfg2), NULL, &cd, &err) == 0, "put config 2");
	json_t *layers = json_array();
	json_array_append_new(layers, oci_descriptor_new(OCI_MT_LAYER, ld.str, 11));
	json_t *mj = oci_manifest_new(oci_descriptor_new(OCI_MT_CONFIG, cd.str, (int64_t)strlen(cfg2)), layers);
	size_t mlen;
	char *mtext = strata_json_dump(mj, &mlen);
	json_decref(mj);
	ok(store_blob_put(s, mtext, mlen, NULL, &md, &err) == 0, "put manifest");

	/* tags */
	struct oci_ref ref = OCI_REF_INIT;
	oci_ref_parse("demo/app:v1", &ref, &err);
	ok(store_tag_set(s, &ref, OCI_MT_MANIFEST, &md, (int64_t)mlen, &err) == 0, "tag set");
	oci_ref_release(&ref);
	oci_ref_parse("127.0.0.1:5000/app:v2", &ref, &err);
	ok(store_tag_set(s, &ref, OCI_MT_MANIFEST, &md, (int64_t)mlen, &err) == 0, "second tag");
	oci_ref_release(&ref);
	struct store_entry *e = NULL;
	size_t n = 0;
	ok(store_tag_list(s, &e, &n, &err) == 0 && n == 2, "two entries");
	is_str(e[0].name, "docker.io/demo/app:v1", "full normalised name stored");
	is_str(e[1].name, "127.0.0.1:5000/app:v2", "registry name stored");
	store_entries_free(e, n);
	struct oci_digest bogus;
	oci_digest_of(&bogus, "nope", 4);
	oci_ref_parse("x", &ref, &err);
	expect_err(store_tag_set(s, &ref, OCI_MT_MANIFEST, &bogus, 1, &err), &err, "is not in the store",
		   "tagging a missing manifest fails");
	oci_ref_release(&ref);

	struct store_entry r;
	ok(store_resolve(s, "demo/app:v1", &r, &err) == 0 && !strcmp(r.digest.str, md.str), "resolve name");
	store_entry_release(&r);
	ok(store_resolve(s, "docker.io/demo/app:v1", &r, &err) == 0, "resolve full name");
	ok(r.name && r.media_type, "an entry owns its name and media type");
	store_entry_release(&r);
	ok(!r.name && !r.media_type, "store_entry_release frees and clears them");
	store_entry_release(&r);
	store_entry_release(NULL);
	ok(1, "released twice and NULL: no-ops");
	char pre[13];
	snprintf(pre, sizeof(pre), "%.12s", cd.hex);
	ok(store_resolve(s, pre, &r, &err) == 0 && !strcmp(r.digest.str, md.str), "resolve image id prefix");
	store_entry_release(&r);
	char *at = xasprintf("demo/app@%s", md.str);
	ok(store_resolve(s, at, &r, &err) == 0 && !strcmp(r.digest.str, md.str), "resolve name@digest");
	free(r.name), free(r.media_type), free(at);
	ok(store_resolve(s, md.str, &r, &err) == 0, "resolve manifest digest");
	store_entry_release(&r);
	expect_err(store_resolve(s, "demo/app:v9", &r, &err), &err, "not found", "unknown tag");
	expect_err(store_resolve(s, "Bad Name!", &r, &err), &err, "invalid reference", "invalid reference");

	struct store_image img;
	ok(store_image_load(s, &md, &img, &err) == 0, "image load");
	is_int(img.size, (int64_t)strlen(cfg2) + 11, "image size");
	is_int(img.created, 1704067200, "created");
	store_image_release(&img);

	/* prune: the first config and the "ab" leftovers are garbage; tagged content stays */
	struct oci_digest junk;
	store_blob_put(s, "junk", 4, NULL, &junk, &err);
	char *stale = xasprintf("%s/blob-stale", tmpdir);
	int fd = open(stale, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	utimensat(AT_FDCWD, stale, old, 0);
	struct store_prune_result pr;
	ok(store_prune(s, true, &pr, &err) == 0 && pr.n_removed == 2 && pr.tmp_removed == 1, "dry run finds 2 blobs + 1 temp");
	store_prune_result_release(&pr);
	ok(store_blob_exists(s, &junk), "dry run removes nothing");
	ok(store_prune(s, false, &pr, &err) == 0 && pr.n_removed == 2, "prune removes 2 blobs");
	is_int(pr.bytes, 4 + (int64_t)strlen(cfg), "bytes reclaimed");
	store_prune_result_release(&pr);
	ok(!store_blob_exists(s, &junk) && store_blob_exists(s, &ld) && store_blob_exists(s, &md) &&
	   store_blob_exists(s, &cd), "only garbage removed");
	ok(!strata_path_exists(stale), "stale temp removed");

	/* rmi-like: remove tags, then prune removes everything */
	oci_ref_parse("demo/app:v1", &ref, &err);
	ok(store_tag_remove(s, &ref, &err) == 0, "untag");
	expect_err(store_tag_remove(s, &ref, &err), &err, "no such tag", "untag twice");
	oci_ref_release(&ref);
	ok(store_index_remove_digest(s, &md, &err) == 1, "remove by digest");
	ok(store_prune(s, false, &pr, &err) == 0 && pr.n_removed == 3, "prune removes the image");
	store_prune_result_release(&pr);
	is_int(count_files(blobs), 0, "blob dir empty");

	/* corrupt blob */
	ok(store_blob_put(s, "good", 4, NULL, &junk, &err) == 0, "put");
	char *bp = store_blob_path(s, &junk);
	strata_atomic_write(bp, "evil", 4, 0644, NULL);
	expect_err(store_blob_verify(s, &junk, &err), &err, "is corrupt: digest mismatch", "corrupt blob detected");
	expect_err(store_blob_read(s, &junk, 100, &b, &err), &err, "is corrupt", "corrupt blob read fails");
	strata_buf_release(&b);
	free(bp);

	/* malformed index.json */
	char *ip = xasprintf("%s/index.json", root);
	strata_atomic_write(ip, "{\"schemaVersion\":2,\n\"manifests\":[}", 33, 0644, NULL);
	expect_err(store_tag_list(s, &e, &n, &err), &err, "index.json:2:", "malformed index.json names line");
	strata_atomic_write(ip, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\"}]}", 51, 0644, NULL);
	expect_err(store_tag_list(s, &e, &n, &err), &err, "manifests[0]: missing field 'digest'", "invalid index.json names field");
	free(ip);

	store_close(s);
	strata_rm_rf(tmpl, NULL);
	free(root), free(blobs), free(tmpdir), free(cfg2), free(mtext), free(stale);
	return done_testing();
}
