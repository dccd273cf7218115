/*
 * reader.c — the read side of a layer blob: pulls compressed bytes from a
 * source, hashes them (digest), decompresses (none / gzip via ISA-L /
 * zstd), hashes the tar (diff_id) and bounds its size. libarchive reads the
 * tar from it without knowing about compression.
 */
#include "layer/internal.h"
#include "layer/layer.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#define IN_CAP (256 * 1024)
#define OUT_CAP (512 * 1024)

struct layer_reader {
	layer_source_fn fn;
	void *ctx;
	enum oci_compression comp;
	uint64_t max;
	struct strata_hash blob_hash, tar_hash;
	uint64_t blob_size, tar_size;
	unsigned char *in, *out;
	size_t in_pos, in_len;
	bool src_eof, stream_end;
	struct inflate_state inf;
	ZSTD_DCtx *zd;
	size_t zret; /* last ZSTD_decompressStream hint: 0 at a frame end */
};

int layer_reader_new(struct layer_reader **out, layer_source_fn fn, void *ctx, enum oci_compression comp,
		     uint64_t max, struct strata_error **err)
{
	if (comp != OCI_COMPRESSION_NONE && comp != OCI_COMPRESSION_GZIP && comp != OCI_COMPRESSION_ZSTD)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "unsupported layer compression");
	struct layer_reader *r = xcalloc(1, sizeof(*r));
	r->fn = fn;
	r->ctx = ctx;
	r->comp = comp;
	r->max = max;
	r->in = xmalloc(IN_CAP);
	r->out = xmalloc(OUT_CAP);
	strata_hash_init(&r->blob_hash, STRATA_HASH_SHA256);
	strata_hash_init(&r->tar_hash, STRATA_HASH_SHA256);
	if (comp == OCI_COMPRESSION_GZIP) {
		isal_inflate_init(&r->inf);
		r->inf.crc_flag = ISAL_GZIP;
	} else if (comp == OCI_COMPRESSION_ZSTD) {
		r->zd = ZSTD_createDCtx();
		if (!r->zd)
			abort();
	}
	*out = r;
	return 0;
}

void layer_reader_free(struct layer_reader *r)
{
	if (!r)
		return;
	strata_hash_release(&r->blob_hash);
	strata_hash_release(&r->tar_hash);
	ZSTD_freeDCtx(r->zd);
	free(r->in);
	free(r->out);
	free(r);
}

/* Refill the input buffer when empty. @return 0 or -1. */
static int fill(struct layer_reader *r, struct strata_error **err)
{
	if (r->in_pos < r->in_len || r->src_eof)
		return 0;
	ssize_t n = r->fn(r->ctx, r->in, IN_CAP, err);
	if (n < 0)
		return strata_error_wrap(err, "read layer blob");
	r->in_pos = 0;
	r->in_len = (size_t)n;
	if (n == 0)
		r->src_eof = true;
	strata_hash_update(&r->blob_hash, r->in, (size_t)n);
	r->blob_size += (uint64_t)n;
	return 0;
}

/* Decompress into r->out. @return bytes produced (0 = end of the tar stream) or -1. */
static ssize_t produce(struct layer_reader *r, struct strata_error **err)
{
	for (;;) {
		if (fill(r, err) < 0)
			return -1;
		size_t avail = r->in_len - r->in_pos;
		if (r->comp == OCI_COMPRESSION_NONE) {
			if (avail == 0)
				return 0;
			memcpy(r->out, r->in + r->in_pos, avail);
			r->in_pos += avail;
			return (ssize_t)avail;
		}
		if (r->comp == OCI_COMPRESSION_GZIP) {
			if (r->inf.block_state == ISAL_BLOCK_FINISH) {
				if (avail == 0)
					return 0; /* clean end (possibly after several members) */
				isal_inflate_reset(&r->inf);
				r->inf.crc_flag = ISAL_GZIP;
			}
			if (avail == 0)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "gzip stream is truncated");
			r->inf.next_in = r->in + r->in_pos;
			r->inf.avail_in = (uint32_t)avail;
			r->inf.next_out = r->out;
			r->inf.avail_out = OUT_CAP;
			int rc = isal_inflate(&r->inf);
			r->in_pos += avail - r->inf.avail_in;
			if (rc < 0)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "gzip stream is corrupt (igzip error %d)", rc);
			size_t got = OUT_CAP - r->inf.avail_out;
			if (got > 0)
				return (ssize_t)got;
			continue;
		}
		/* zstd */
		if (avail == 0) {
			if (r->zret != 0)
				return strata_error_makec(err, STRATA_E_INVALID, 0, "zstd stream is truncated");
			return 0;
		}
		ZSTD_inBuffer in = { r->in + r->in_pos, avail, 0 };
		ZSTD_outBuffer o = { r->out, OUT_CAP, 0 };
		r->zret = ZSTD_decompressStream(r->zd, &o, &in);
		r->in_pos += in.pos;
		if (ZSTD_isError(r->zret))
			return strata_error_makec(err, STRATA_E_INVALID, 0, "zstd stream is corrupt: %s",
						  ZSTD_getErrorName(r->zret));
		if (o.pos > 0)
			return (ssize_t)o.pos;
	}
}

ssize_t layer_reader_read(struct layer_reader *r, const void **buf, struct strata_error **err)
{
	if (r->stream_end)
		return 0;
	ssize_t n = produce(r, err);
	if (n < 0)
		return -1;
	if (n == 0) {
		r->stream_end = true;
		return 0;
	}
	r->tar_size += (uint64_t)n;
	if (r->tar_size > r->max)
		return strata_error_makec(err, STRATA_E_INVALID, 0,
					  "layer is larger than the limit of %llu uncompressed bytes",
					  (unsigned long long)r->max);
	strata_hash_update(&r->tar_hash, r->out, (size_t)n);
	*buf = r->out;
	return n;
}

int layer_reader_drain(struct layer_reader *r, struct strata_error **err)
{
	const void *p;
	ssize_t n;
	while ((n = layer_reader_read(r, &p, err)) > 0)
		;
	if (n < 0)
		return -1;
	/* the source may still hold bytes after the compressed stream's end */
	while (!r->src_eof) {
		r->in_pos = r->in_len;
		if (fill(r, err) < 0)
			return -1;
		if (!r->src_eof && r->comp != OCI_COMPRESSION_NONE)
			return strata_error_makec(err, STRATA_E_INVALID, 0, "trailing data after the compressed layer");
	}
	return 0;
}

void layer_reader_diff_alg(struct layer_reader *r, enum strata_hash_alg alg)
{
	strata_hash_release(&r->tar_hash);
	strata_hash_init(&r->tar_hash, alg);
}

void layer_reader_result(struct layer_reader *r, struct layer_result *res)
{
	char hex[STRATA_HASH_HEX_MAX];
	memset(res, 0, sizeof(*res));
	enum strata_hash_alg alg = r->tar_hash.alg;
	strata_hash_final(&r->tar_hash, hex);
	snprintf(res->diff_id, sizeof(res->diff_id), "%s:%s", strata_hash_alg_name(alg), hex);
	strata_hash_final(&r->blob_hash, hex);
	snprintf(res->digest, sizeof(res->digest), "sha256:%.64s", hex);
	res->size = r->blob_size;
	res->tar_size = r->tar_size;
	res->media_type = layer_media_type(r->comp, false);
}
