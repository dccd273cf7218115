/*
 * blobs.c — GET/HEAD/DELETE /v2/<name>/blobs/<digest>.
 *
 * A blob is visible in a repository when it is linked there (metadata);
 * GET answers from the blob store (sendfile for the filesystem driver),
 * one range at most ("bytes=a-b", "bytes=a-", "bytes=-n"; 206, or 416 with
 * "Content-Range: bytes *\/size"; another unit or several ranges: the whole
 * blob, 200); with --storage-redirect a GET is answered 307 to a presigned
 * URL of the storage (the range then goes there). DELETE removes the link only; the file
 * goes when gc finds nothing else uses it.
 */
#include "registry/server/internal.h"

#include <string.h>

/* @return 1 with [*a, *b] set, 0 when absent, -1 when unsatisfiable or malformed */
static int parse_range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
	if (!h)
		return 0;
	/*
	 * RFC 9110 14.2: a range unit the server does not know MUST be ignored;
	 * several ranges may be: both get the whole blob (200), not 416.
	 * Positions are saturated: a last position past the end, even one
	 * past 2^64, is clamped to the end (14.1.1).
	 */
	if (strncmp(h, "bytes=", 6))
		return 0;
	h += 6;
	if (strchr(h, ','))
		return 0;
	const char *dash = strchr(h, '-');
	if (!dash)
		return -1;
	cleanup_free char *first = xstrndup(h, (size_t)(dash - h));
	const char *second = dash + 1;
	uint64_t x, y;
	if (!*first) {
		if (reg_parse_u64_sat(second, &y) < 0 || y == 0 || size == 0)
			return -1;
		*a = y >= size ? 0 : size - y;
		*b = size - 1;
		return 1;
	}
	if (reg_parse_u64_sat(first, &x) < 0 || x >= size)
		return -1;
	if (!*second) {
		y = size - 1;
	} else {
		if (reg_parse_u64_sat(second, &y) < 0 || y < x)
			return -1;
		if (y >= size)
			y = size - 1;
	}
	*a = x;
	*b = y;
	return 1;
}

static enum MHD_Result blob_delete(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	int rc = m->ops->blob_unlink(m, q->name, q->ref, &err);
	if (rc < 0)
		return reg_reply_internal(q, err);
	if (rc == 0)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	return reg_reply_empty(q, MHD_HTTP_ACCEPTED);
}

enum MHD_Result reg_blob_handle(struct reg_req *q)
{
	struct strata_error *err = NULL;
	struct reg_meta *m = q->r->meta;
	struct reg_blobstore *bs = q->r->bs;
	if (!oci_digest_valid(q->ref))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "invalid digest '%s'",
				       q->ref);
	if (!strcmp(q->method, "DELETE"))
		return blob_delete(q);
	int64_t msize = 0;
	int linked = m->ops->blob_linked(m, q->name, q->ref, &msize, &err);
	if (linked < 0)
		return reg_reply_internal(q, err);
	if (!linked)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	/*
	 * The bytes: absent is 404 (a gc interrupted before its COMMIT); EACCES,
	 * EMFILE... are 500. A whole GET opens the blob at once (its size comes
	 * with it: one S3 request, not a HEAD and a GET); a range needs the
	 * size first.
	 */
	const char *range = reg_header(q, MHD_HTTP_HEADER_RANGE);
	bool whole = !range && !strcmp(q->method, "GET") && !(q->r->cfg.storage_redirect && bs->ops->presign);
	struct reg_blob_reader rd;
	uint64_t fsize = 0;
	int there = whole ? bs->ops->open(bs, q->ref, 0, UINT64_MAX, &rd, &err) : bs->ops->stat(bs, q->ref, &fsize, &err);
	if (there < 0)
		return reg_reply_internal(q, err);
	if (!there)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
	if (whole)
		fsize = rd.size;
	uint64_t a = 0, b = 0;
	int rg = parse_range(range, fsize, &a, &b);
	if (rg < 0) {
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		reg_add_header(resp, "Content-Range", "bytes */%llu", (unsigned long long)fsize);
		q->bytes_out = 0;
		return reg_reply(q, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
	}
	uint64_t len = rg ? b - a + 1 : fsize;
	struct MHD_Response *resp;
	if (q->r->cfg.storage_redirect && bs->ops->presign && !strcmp(q->method, "GET")) {
		/* the client fetches the bytes (and its range) from the storage itself */
		cleanup_free char *url = bs->ops->presign(bs, q->ref, REG_REDIRECT_EXPIRES);
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return reg_reply_internal(q, NULL);
		MHD_add_response_header(resp, "Location", url);
		MHD_add_response_header(resp, "Docker-Content-Digest", q->ref);
		q->bytes_out = 0;
		return reg_reply(q, MHD_HTTP_TEMPORARY_REDIRECT, resp);
	}
	unsigned status = MHD_HTTP_OK;
	if (!strcmp(q->method, "HEAD")) {
		resp = reg_response_head(len);
	} else {
		int o = whole ? 1 : bs->ops->open(bs, q->ref, a, len, &rd, &err);
		if (o < 0)
			return reg_reply_internal(q, err);
		if (!o)
			return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry");
		if (rd.len != len) {
			reg_blob_reader_close(&rd);
			strata_error_make(&err, 0, "blob %s changed size while being read", q->ref);
			return reg_reply_internal(q, err);
		}
		resp = reg_response_reader(&rd);
		q->bytes_out = len;
	}
	if (!resp)
		return reg_reply_internal(q, NULL);
	if (rg) {
		status = MHD_HTTP_PARTIAL_CONTENT;
		reg_add_header(resp, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)a,
			       (unsigned long long)b, (unsigned long long)fsize);
	}
	MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	MHD_add_response_header(resp, "Docker-Content-Digest", q->ref);
	reg_add_header(resp, "ETag", "\"%s\"", q->ref);
	return reg_reply(q, status, resp);
}
