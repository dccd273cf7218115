/* layer_create -> layer_writer -> memory -> layer_apply_source round trip
 * through the C API: digests agree, a source callback with tiny reads works,
 * mismatches and limits fail all-or-nothing, treehash is stable. */
#include "tap.h"
#include "layer/layer.h"
#include "util/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static int buf_sink(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)err;
	return strata_buf_add(ctx, p, n);
}

struct mem_src {
	const struct strata_buf *b;
	size_t pos, chunk;
};

static ssize_t mem_source(void *ctx, void *buf, size_t cap, struct strata_error **err)
{
	(void)err;
	struct mem_src *s = ctx;
	size_t n = s->b->len - s->pos;
	if (n > cap)
		n = cap;
	if (n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->b->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static void put(const char *path, const char *text)
{
	strata_atomic_write(path, text, strlen(text), 0644, NULL);
}

static char *slurp(const char *path)
{
	struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 1 << 20, NULL) < 0) {
		strata_buf_release(&b);
		return xstrdup("<missing>");
	}
	return strata_buf_detach(&b, NULL);
}

static int make_layer(const char *dir, enum oci_compression c, bool upper, struct strata_buf *blob,
		      struct layer_result *res)
{
	struct strata_sink sink = { buf_sink, blob };
	struct layer_write_opts wo = { .compression = c };
	struct layer_create_opts co = LAYER_CREATE_OPTS_INIT;
	co.overlay_upper = upper;
	co.mtime_clamp = 1000;
	struct layer_writer *w = NULL;
	struct strata_error *err = NULL;
	int rc = layer_writer_new(&w, &wo, &sink, &err);
	if (rc == 0)
		rc = layer_create(dir, &co, w, &err);
	if (rc == 0)
		rc = layer_writer_finish(w, res, &err);
	if (rc < 0) {
		char *s = strata_error_string(err);
		diag("%s", s);
		free(s);
		strata_error_free(err);
	}
	layer_writer_free(w);
	return rc;
}

int main(void)
{
	char *tmp = NULL;
	if (strata_mkdtemp("/tmp", "test-layer-", &tmp, NULL) < 0)
		return 1;
	char *src = strata_path_join(tmp, "src");
	char *out = strata_path_join(tmp, "out");
	cleanup_free char *p = NULL;
	strata_mkdir_p(src, 0755, NULL);
	free(p), p = strata_path_join(src, "hello"), put(p, "hello world\n");
	free(p), p = strata_path_join(src, "sub/deeper"), strata_mkdir_p(p, 0755, NULL);
	free(p), p = strata_path_join(src, "sub/deeper/f"), put(p, "deep\n");
	free(p), p = strata_path_join(src, "gone"), put(p, "lower only\n");

	struct strata_buf blob = STRATA_BUF_INIT;
	struct layer_result made, got;
	ok(make_layer(src, OCI_COMPRESSION_ZSTD, false, &blob, &made) == 0, "create a zstd layer");
	is_str(made.media_type, OCI_MT_LAYER_ZSTD, "zstd media type");

	struct mem_src ms = { &blob, 0, 7 };
	struct layer_apply_opts ao = { .media_type = OCI_MT_LAYER_ZSTD, .digest = made.digest, .diff_id = made.diff_id };
	struct strata_error *err = NULL;
	ok(layer_apply_source(mem_source, &ms, out, &ao, &got, &err) == 0, "apply from a 7-byte-at-a-time source");
	is_str(got.digest, made.digest, "digest computed while applying matches");
	is_str(got.diff_id, made.diff_id, "diff_id computed while applying matches");
	free(p), p = strata_path_join(out, "sub/deeper/f");
	char *s = slurp(p);
	is_str(s, "deep\n", "content restored");
	free(s);
	char h1[LAYER_DIGEST_MAX], h2[LAYER_DIGEST_MAX];
	ok(layer_treehash(src, h1, NULL) == 0 && layer_treehash(out, h2, NULL) == 0, "treehash both trees");
	is_str(h1, h2, "trees hash the same");
	const char *const two[] = { "hello", "sub" };
	ok(layer_treehash_paths(src, two, 2, h1, NULL) == 0 && layer_treehash_paths(out, two, 2, h2, NULL) == 0,
	   "treehash of a path list");
	is_str(h1, h2, "path lists hash the same");

	/* an upper layer (whiteout of "gone") applied in place */
	char *up = strata_path_join(tmp, "up");
	strata_mkdir_p(up, 0755, NULL);
	free(p), p = strata_path_join(up, "gone");
	bool root = geteuid() == 0;
	if (root && mknod(p, S_IFCHR, 0) == 0) {
		struct strata_buf b2 = STRATA_BUF_INIT;
		ok(make_layer(up, OCI_COMPRESSION_GZIP, true, &b2, &made) == 0, "create an upper layer");
		struct mem_src m2 = { &b2, 0, 4096 };
		struct layer_apply_opts a2 = { .media_type = DOCKER_MT_LAYER };
		ok(layer_apply_source(mem_source, &m2, out, &a2, &got, &err) == 0, "apply a Docker gzip layer in place");
		free(p), p = strata_path_join(out, "gone");
		ok(!strata_path_exists(p), "the whiteout removed the lower file");
		free(p), p = strata_path_join(out, "hello");
		ok(strata_path_exists(p), "the rest stays");
		strata_buf_release(&b2);
	} else {
		diag("not root: whiteout part skipped");
	}

	/* wrong digest: the new target never appears */
	char *out2 = strata_path_join(tmp, "out2");
	ms.pos = 0;
	ao.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	ok(layer_apply_source(mem_source, &ms, out2, &ao, NULL, &err) < 0, "digest mismatch fails");
	s = strata_error_string(err);
	ok(strstr(s, "layer digest mismatch") != NULL, "error says so: %s", s);
	free(s);
	strata_error_clear(&err);
	ok(!strata_path_exists(out2), "nothing left behind");

	/* a corrupt blob in a file: the tar or zstd error it causes is reported
	 * as what it is, a digest mismatch (it used to read "invalid tar: ...") */
	char *bad = strata_path_join(tmp, "bad.blob");
	struct strata_buf cb = STRATA_BUF_INIT;
	strata_buf_add(&cb, blob.data, blob.len);
	for (size_t i = 20; i < cb.len && i < 60; i++)
		cb.data[i] ^= 0x5a;
	ok(strata_atomic_write(bad, cb.data, cb.len, 0644, NULL) == 0, "write a corrupted copy of the blob");
	int bfd = open(bad, O_RDONLY | O_CLOEXEC);
	ao.digest = made.digest;
	ok(layer_apply_fd(bfd, out2, &ao, NULL, &err) < 0, "a corrupt blob fails");
	s = strata_error_string(err);
	ok(strstr(s, "layer digest mismatch: expected ") != NULL, "the error names the digest mismatch: %s", s);
	free(s);
	strata_error_clear(&err);
	ok(!strata_path_exists(out2), "nothing left behind");
	close(bfd);
	strata_buf_release(&cb);
	free(bad);

	/* size limit */
	ms.pos = 0;
	ao.digest = NULL;
	ao.max_size = 1024;
	ok(layer_apply_source(mem_source, &ms, out2, &ao, NULL, &err) < 0, "size limit enforced");
	s = strata_error_string(err);
	ok(strstr(s, "larger than the limit of 1024") != NULL, "error names the limit: %s", s);
	free(s);
	strata_error_clear(&err);
	ok(!strata_path_exists(out2), "nothing left behind");

	/* wrong media type */
	ms.pos = 0;
	ao.max_size = 0;
	ao.media_type = OCI_MT_CONFIG;
	ok(layer_apply_source(mem_source, &ms, out2, &ao, NULL, &err) < 0, "config media type refused");
	strata_error_clear(&err);

	strata_rm_rf(tmp, NULL);
	strata_buf_release(&blob);
	free(out2);
	free(up);
	free(src);
	free(out);
	free(tmp);
	return done_testing();
}
