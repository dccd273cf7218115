/*
 * writer.c — the streaming layer writer: tar bytes in, sha256 of the tar
 * (diff_id), compression (none / gzip via ISA-L or zlib / zstd), sha256 and
 * size of the compressed bytes (digest), compressed bytes out to a sink.
 * One pass, a fixed output buffer: memory does not depend on layer size.
 */
#include "layer/layer.h"
#include "util/util.h"

#include <isa-l/igzip_lib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define OUT_CAP (256 * 1024)

struct layer_writer {
	enum oci_compression comp;
	enum layer_gzip_impl gz;
	bool docker;
	bool finished;
	struct strata_sink sink;
	struct strata_hash tar_hash, blob_hash;
	uint64_t tar_size, blob_size;
	unsigned char *out;
	/* codecs */
	struct isal_zstream isal;
	unsigned char *isal_lvlbuf;
	z_stream z;
	bool z_init;
	ZSTD_CCtx *zs;
};

const char *layer_media_type(enum oci_compression c, bool docker)
{
	switch (c) {
	case OCI_COMPRESSION_GZIP:
		return docker ? DOCKER_MT_LAYER : OCI_MT_LAYER_GZIP;
	case OCI_COMPRESSION_ZSTD:
		return OCI_MT_LAYER_ZSTD;
	default:
		return OCI_MT_LAYER;
	}
}

/* Hash, count and hand n compressed bytes to the sink. */
static int emit(struct layer_writer *w, const void *p, size_t n, struct strata_error **err)
{
	if (n == 0)
		return 0;
	strata_hash_update(&w->blob_hash, p, n);
	w->blob_size += n;
	return strata_sink_write(&w->sink, p, n, err);
}

/* gzip levels 1-9 onto igzip's 1..3 (0 is stored-only in igzip, never used). */
static int isal_level(int level)
{
	if (level <= 0)
		return 1;
	if (level <= 4)
		return 1;
	if (level <= 7)
		return 2;
	return 3;
}

static size_t isal_lvlbuf_size(int l)
{
	switch (l) {
	case 1: return ISAL_DEF_LVL1_DEFAULT;
	case 2: return ISAL_DEF_LVL2_DEFAULT;
	default: return ISAL_DEF_LVL3_DEFAULT;
	}
}

int layer_writer_new(struct layer_writer **out, const struct layer_write_opts *opts,
		     const struct strata_sink *sink, struct strata_error **err)
{
	struct layer_write_opts def = { 0 };
	if (!opts)
		opts = &def;
	if (opts->compression != OCI_COMPRESSION_NONE && opts->compression != OCI_COMPRESSION_GZIP &&
	    opts->compression != OCI_COMPRESSION_ZSTD)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "unsupported layer compression");
	struct layer_writer *w = xcalloc(1, sizeof(*w));
	w->comp = opts->compression;
	w->gz = opts->gzip_impl == LAYER_GZIP_DEFAULT ? LAYER_GZIP_ISAL : opts->gzip_impl;
	w->docker = opts->docker_media_type;
	w->sink = *sink;
	w->out = xmalloc(OUT_CAP);
	strata_hash_init(&w->tar_hash, STRATA_HASH_SHA256);
	strata_hash_init(&w->blob_hash, STRATA_HASH_SHA256);

	if (w->comp == OCI_COMPRESSION_GZIP && w->gz == LAYER_GZIP_ISAL) {
		int l = isal_level(opts->level);
		if (opts->level < 0 || opts->level > 9)
			goto badlevel;
		isal_deflate_init(&w->isal);
		w->isal.level = l;
		w->isal.level_buf_size = isal_lvlbuf_size(l);
		w->isal_lvlbuf = xmalloc(w->isal.level_buf_size);
		w->isal.level_buf = w->isal_lvlbuf;
		/* igzip's generic header has no name and a zero mtime: reproducible */
		w->isal.gzip_flag = IGZIP_GZIP;
		w->isal.flush = NO_FLUSH;
	} else if (w->comp == OCI_COMPRESSION_GZIP) {
		int l = opts->level == 0 ? 6 : opts->level;
		if (l < 1 || l > 9)
			goto badlevel;
		/* windowBits 16+15: a gzip wrapper with a zeroed header (no mtime) */
		if (deflateInit2(&w->z, l, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			strata_error_make(err, 0, "zlib: cannot initialise deflate");
			goto fail;
		}
		w->z_init = true;
	} else if (w->comp == OCI_COMPRESSION_ZSTD) {
		int l = opts->level == 0 ? 3 : opts->level;
		if (l < 1 || l > ZSTD_maxCLevel())
			goto badlevel;
		w->zs = ZSTD_createCCtx();
		if (!w->zs)
			abort();
		size_t r = ZSTD_CCtx_setParameter(w->zs, ZSTD_c_compressionLevel, l);
		int workers = opts->zstd_workers == 0 ? 2 : opts->zstd_workers < 0 ? 0 : opts->zstd_workers;
		if (!ZSTD_isError(r) && workers > 0)
			/* fails harmlessly on a single-threaded libzstd: then it just runs inline */
			(void)ZSTD_CCtx_setParameter(w->zs, ZSTD_c_nbWorkers, workers);
		if (ZSTD_isError(r)) {
			strata_error_make(err, 0, "zstd: %s", ZSTD_getErrorName(r));
			goto fail;
		}
	}
	*out = w;
	return 0;
badlevel:
	strata_error_makec(err, STRATA_E_USAGE, 0, "compression level %d out of range for %s",
			   opts->level, oci_compression_name(w->comp));
fail:
	layer_writer_free(w);
	return -1;
}

static int isal_run(struct layer_writer *w, const void *p, size_t n, bool end, struct strata_error **err)
{
	w->isal.next_in = (uint8_t *)p;
	w->isal.avail_in = (uint32_t)n;
	w->isal.end_of_stream = end;
	do {
		w->isal.next_out = w->out;
		w->isal.avail_out = OUT_CAP;
		if (isal_deflate(&w->isal) != COMP_OK)
			return strata_error_make(err, 0, "igzip: compression failed");
		if (emit(w, w->out, OUT_CAP - w->isal.avail_out, err) < 0)
			return -1;
	} while (w->isal.avail_in > 0 || w->isal.avail_out == 0 ||
		 (end && w->isal.internal_state.state != ZSTATE_END));
	return 0;
}

static int zlib_run(struct layer_writer *w, const void *p, size_t n, bool end, struct strata_error **err)
{
	w->z.next_in = (Bytef *)p;
	w->z.avail_in = (uInt)n;
	int rc;
	do {
		w->z.next_out = w->out;
		w->z.avail_out = OUT_CAP;
		rc = deflate(&w->z, end ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR)
			return strata_error_make(err, 0, "zlib: compression failed");
		if (emit(w, w->out, OUT_CAP - w->z.avail_out, err) < 0)
			return -1;
	} while (w->z.avail_in > 0 || w->z.avail_out == 0 || (end && rc != Z_STREAM_END));
	return 0;
}

static int zstd_run(struct layer_writer *w, const void *p, size_t n, bool end, struct strata_error **err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	do {
		ZSTD_outBuffer o = { w->out, OUT_CAP, 0 };
		left = ZSTD_compressStream2(w->zs, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left))
			return strata_error_make(err, 0, "zstd: %s", ZSTD_getErrorName(left));
		if (emit(w, w->out, o.pos, err) < 0)
			return -1;
	} while (in.pos < in.size || (end && left != 0));
	return 0;
}

static int run(struct layer_writer *w, const void *p, size_t n, bool end, struct strata_error **err)
{
	switch (w->comp) {
	case OCI_COMPRESSION_GZIP:
		return w->gz == LAYER_GZIP_ISAL ? isal_run(w, p, n, end, err) : zlib_run(w, p, n, end, err);
	case OCI_COMPRESSION_ZSTD:
		return zstd_run(w, p, n, end, err);
	default:
		return emit(w, p, n, err);
	}
}

int layer_writer_write(struct layer_writer *w, const void *p, size_t n, struct strata_error **err)
{
	if (w->finished)
		return strata_error_make(err, 0, "layer writer: write after finish");
	if (n == 0)
		return 0;
	strata_hash_update(&w->tar_hash, p, n);
	w->tar_size += n;
	/* igzip takes 32-bit lengths */
	while (n > 0) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : n;
		if (run(w, p, chunk, false, err) < 0)
			return -1;
		p = (const char *)p + chunk;
		n -= chunk;
	}
	return 0;
}

static int sink_fn(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	return layer_writer_write(ctx, p, n, err);
}

struct strata_sink layer_writer_sink(struct layer_writer *w)
{
	return (struct strata_sink){ sink_fn, w };
}

int layer_writer_finish(struct layer_writer *w, struct layer_result *res, struct strata_error **err)
{
	if (w->finished)
		return strata_error_make(err, 0, "layer writer: finished twice");
	w->finished = true;
	if (run(w, NULL, 0, true, err) < 0)
		return -1;
	char hex[STRATA_HASH_HEX_MAX];
	memset(res, 0, sizeof(*res));
	strata_hash_final(&w->tar_hash, hex);
	snprintf(res->diff_id, sizeof(res->diff_id), "sha256:%.64s", hex);
	strata_hash_final(&w->blob_hash, hex);
	snprintf(res->digest, sizeof(res->digest), "sha256:%.64s", hex);
	res->size = w->blob_size;
	res->tar_size = w->tar_size;
	res->media_type = layer_media_type(w->comp, w->docker);
	return 0;
}

void layer_writer_free(struct layer_writer *w)
{
	if (!w)
		return;
	strata_hash_release(&w->tar_hash);
	strata_hash_release(&w->blob_hash);
	if (w->z_init)
		deflateEnd(&w->z);
	ZSTD_freeCCtx(w->zs);
	free(w->isal_lvlbuf);
	free(w->out);
	free(w);
}
