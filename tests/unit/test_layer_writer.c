/* The streaming layer writer: every codec round-trips, diff_id and digest are
 * the sha256 of the input and of the output, sizes are right, output is
 * reproducible, bad options are refused. */
#include "tap.h"
#include "layer/layer.h"
#include "util/util.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int buf_sink(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)err;
	return strata_buf_add(ctx, p, n);
}

static int fail_sink(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	(void)ctx, (void)p, (void)n;
	return strata_error_make(err, 28, "write 'blob'");
}

static void make_input(struct strata_buf *in, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		/* half compressible text, half noise */
		char c = (i / 4096) % 2 ? (char)(x >> 24) : "layer-data "[i % 11];
		strata_buf_addch(in, c);
	}
}

static void gunzip(const struct strata_buf *gz, struct strata_buf *out)
{
	z_stream z = { 0 };
	inflateInit2(&z, 16 + 15);
	unsigned char tmp[65536];
	z.next_in = (Bytef *)gz->data;
	z.avail_in = gz->len;
	int rc;
	do {
		z.next_out = tmp;
		z.avail_out = sizeof(tmp);
		rc = inflate(&z, Z_NO_FLUSH);
		strata_buf_add(out, tmp, sizeof(tmp) - z.avail_out);
	} while (rc == Z_OK);
	inflateEnd(&z);
}

static void unzstd(const struct strata_buf *zs, struct strata_buf *out)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = { zs->data, zs->len, 0 };
	unsigned char tmp[65536];
	while (in.pos < in.size) {
		ZSTD_outBuffer o = { tmp, sizeof(tmp), 0 };
		size_t r = ZSTD_decompressStream(d, &o, &in);
		if (ZSTD_isError(r))
			break;
		strata_buf_add(out, tmp, o.pos);
	}
	ZSTD_freeDCtx(d);
}

static void roundtrip(const char *name, enum oci_compression c, enum layer_gzip_impl gz, int level,
		      const struct strata_buf *in)
{
	struct strata_buf blob = STRATA_BUF_INIT, back = STRATA_BUF_INIT;
	struct strata_sink sink = { buf_sink, &blob };
	struct layer_write_opts o = { .compression = c, .level = level, .gzip_impl = gz };
	struct layer_writer *w = NULL;
	struct strata_error *err = NULL;
	struct layer_result res;
	ok(layer_writer_new(&w, &o, &sink, &err) == 0, "%s: new", name);
	/* odd chunk sizes */
	size_t off = 0, step = 1;
	int rc = 0;
	while (off < in->len && rc == 0) {
		size_t n = step < in->len - off ? step : in->len - off;
		rc = layer_writer_write(w, in->data + off, n, &err);
		off += n;
		step = step * 3 + 7;
	}
	ok(rc == 0, "%s: write", name);
	ok(layer_writer_finish(w, &res, &err) == 0, "%s: finish", name);
	layer_writer_free(w);

	char hex[65], want[80];
	strata_sha256_hex(in->data, in->len, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	is_str(res.diff_id, want, "%s: diff_id is sha256 of the tar", name);
	strata_sha256_hex(blob.data, blob.len, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	is_str(res.digest, want, "%s: digest is sha256 of the blob", name);
	ok(res.size == blob.len, "%s: size", name);
	ok(res.tar_size == in->len, "%s: tar_size", name);
	if (c == OCI_COMPRESSION_GZIP)
		gunzip(&blob, &back);
	else if (c == OCI_COMPRESSION_ZSTD)
		unzstd(&blob, &back);
	else
		strata_buf_add(&back, blob.data, blob.len);
	ok(back.len == in->len && memcmp(back.data, in->data, in->len) == 0, "%s: decompresses to the input", name);
	if (c != OCI_COMPRESSION_NONE && in->len > 0)
		ok(blob.len < in->len, "%s: compresses (%zu -> %zu)", name, in->len, blob.len);
	is_str(res.media_type, layer_media_type(c, false), "%s: media type", name);
	strata_buf_release(&blob);
	strata_buf_release(&back);
}

static void digest_of(enum oci_compression c, enum layer_gzip_impl gz, const struct strata_buf *in, char *out)
{
	struct strata_buf blob = STRATA_BUF_INIT;
	struct strata_sink sink = { buf_sink, &blob };
	struct layer_write_opts o = { .compression = c, .gzip_impl = gz };
	struct layer_writer *w = NULL;
	struct layer_result res;
	layer_writer_new(&w, &o, &sink, NULL);
	layer_writer_write(w, in->data, in->len, NULL);
	layer_writer_finish(w, &res, NULL);
	layer_writer_free(w);
	memcpy(out, res.digest, LAYER_DIGEST_MAX);
	strata_buf_release(&blob);
}

int main(void)
{
	struct strata_buf in = STRATA_BUF_INIT;
	make_input(&in, 3 * 1024 * 1024 + 17);

	roundtrip("none", OCI_COMPRESSION_NONE, 0, 0, &in);
	roundtrip("igzip", OCI_COMPRESSION_GZIP, LAYER_GZIP_ISAL, 0, &in);
	roundtrip("igzip-9", OCI_COMPRESSION_GZIP, LAYER_GZIP_ISAL, 9, &in);
	roundtrip("zlib", OCI_COMPRESSION_GZIP, LAYER_GZIP_ZLIB, 0, &in);
	roundtrip("zlib-1", OCI_COMPRESSION_GZIP, LAYER_GZIP_ZLIB, 1, &in);
	roundtrip("zstd", OCI_COMPRESSION_ZSTD, 0, 0, &in);
	roundtrip("zstd-19", OCI_COMPRESSION_ZSTD, 0, 19, &in);

	struct strata_buf empty = STRATA_BUF_INIT;
	roundtrip("empty-gzip", OCI_COMPRESSION_GZIP, LAYER_GZIP_ISAL, 0, &empty);

	char a[LAYER_DIGEST_MAX], b[LAYER_DIGEST_MAX];
	digest_of(OCI_COMPRESSION_GZIP, LAYER_GZIP_ISAL, &in, a);
	digest_of(OCI_COMPRESSION_GZIP, LAYER_GZIP_ISAL, &in, b);
	is_str(a, b, "igzip output is reproducible");
	digest_of(OCI_COMPRESSION_ZSTD, 0, &in, a);
	digest_of(OCI_COMPRESSION_ZSTD, 0, &in, b);
	is_str(a, b, "multi-threaded zstd output is reproducible");

	struct strata_error *err = NULL;
	struct layer_writer *w = NULL;
	struct strata_buf blob = STRATA_BUF_INIT;
	struct strata_sink sink = { buf_sink, &blob };
	struct layer_write_opts bad = { .compression = OCI_COMPRESSION_ZSTD, .level = 99 };
	ok(layer_writer_new(&w, &bad, &sink, &err) < 0, "zstd level 99 refused");
	char *s = strata_error_string(err);
	is_str(s, "compression level 99 out of range for zstd", "error names the level");
	free(s);
	strata_error_clear(&err);
	bad.compression = OCI_COMPRESSION_UNKNOWN;
	ok(layer_writer_new(&w, &bad, &sink, &err) < 0, "unknown compression refused");
	strata_error_clear(&err);

	struct strata_sink fs = { fail_sink, NULL };
	struct layer_write_opts none = { 0 };
	ok(layer_writer_new(&w, &none, &fs, &err) == 0, "new with a failing sink");
	ok(layer_writer_write(w, in.data, 100, &err) < 0, "sink errors propagate");
	s = strata_error_string(err);
	ok(strstr(s, "write 'blob'") != NULL, "sink error text kept: %s", s);
	free(s);
	strata_error_clear(&err);
	layer_writer_free(w);

	is_str(layer_media_type(OCI_COMPRESSION_GZIP, true), DOCKER_MT_LAYER, "docker gzip media type");
	strata_buf_release(&in);
	return done_testing();
}
