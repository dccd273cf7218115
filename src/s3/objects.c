/*
 * objects.c — the S3 operations on objects that the registry's blob store
 * uses, over s3_do (client.c): HEAD, ranged GET, PUT (from a file range
 * or memory), DELETE, server-side copies (CopyObject up to 5 GiB; beyond,
 * the bytes stream through in 64 MiB parts), the concatenation of whole
 * objects by a multipart upload of part copies, ListObjectsV2 with
 * continuation tokens, and aborting a multipart upload. S3 may answer a
 * copy 200 and put an <Error> in the body: that is an error here too.
 */
#include "s3/s3.h"

#include <stdlib.h>
#include <string.h>

#define COPY_MAX (5ull << 30)

struct s3_request s3_request_init(const char *method, const char *key)
{
	return (struct s3_request){ .method = method, .key = key, .body = { .fd = -1 }, .idempotent = true };
}

/* @return 1 (size, mtime set), 0 absent, -1 */
int s3_head(struct s3_client *c, const char *key, uint64_t *size, int64_t *mtime, struct strata_error **err)
{
	struct s3_request rq = s3_request_init("HEAD", key);
	struct s3_response rs;
	if (s3_do(c, &rq, &rs, err) < 0)
		return -1;
	int rc = 1;
	if (rs.status == 404)
		rc = 0;
	else if (rs.status != 200)
		rc = s3_error(&rq, &rs, err);
	else {
		if (size)
			*size = rs.content_length;
		if (mtime)
			*mtime = rs.last_modified;
	}
	s3_response_release(&rs);
	return rc;
}

int s3_do_range(struct s3_client *c, struct s3_request *rq, uint64_t off, size_t want, char *buf, size_t cap,
		struct s3_response *rs, struct strata_error **err)
{
	char range[64];
	snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)off,
		 (unsigned long long)(off + want - 1));
	const char *hdrs[] = { range, NULL };
	rq->headers = hdrs;
	rq->buf = buf;
	rq->cap = cap;
	int rc = s3_do(c, rq, rs, err);
	rq->headers = NULL;
	return rc;
}

/* GET [off, off + len) of key into buf. @return bytes (short at the end), 0 past the end, -1 */
ssize_t s3_get(struct s3_client *c, const char *key, uint64_t off, size_t len, char *buf,
	       struct strata_error **err)
{
	struct s3_request rq = s3_request_init("GET", key);
	struct s3_response rs;
	if (s3_do_range(c, &rq, off, len, buf, len, &rs, err) < 0)
		return -1;
	ssize_t rc;
	if (rs.status == 206 || rs.status == 200)
		rc = (ssize_t)rs.got;
	else if (rs.status == 416)
		rc = 0;
	else
		rc = s3_error(&rq, &rs, err);
	s3_response_release(&rs);
	return rc;
}

int s3_put(struct s3_client *c, const char *key, int fd, const void *mem, uint64_t off, uint64_t len,
	   char **etag, struct strata_error **err)
{
	struct s3_request rq = s3_request_init("PUT", key);
	rq.body = (struct s3_body){ .fd = fd, .mem = mem ? mem : (fd < 0 ? "" : NULL), .off = off, .len = len };
	struct s3_response rs;
	if (s3_do(c, &rq, &rs, err) < 0)
		return -1;
	int rc = rs.status == 200 ? 0 : s3_error(&rq, &rs, err);
	if (!rc && etag) {
		*etag = rs.etag;
		rs.etag = NULL;
	}
	s3_response_release(&rs);
	return rc;
}

/* DELETE key (with params: of a multipart upload); absent is success */
static int delete_request(struct s3_client *c, const char *key, const struct s3_param *params, size_t n,
			  struct strata_error **err)
{
	struct s3_request rq = s3_request_init("DELETE", key);
	rq.params = params;
	rq.n_params = n;
	struct s3_response rs;
	if (s3_do(c, &rq, &rs, err) < 0)
		return -1;
	int rc = rs.status == 204 || rs.status == 200 || rs.status == 404 ? 0 : s3_error(&rq, &rs, err);
	s3_response_release(&rs);
	return rc;
}

int s3_delete(struct s3_client *c, const char *key, struct strata_error **err)
{
	return delete_request(c, key, NULL, 0, err);
}

static char *copy_source(struct s3_client *c, const char *key)
{
	cleanup_free char *k = s3_uri_encode(key, true);
	return xasprintf("x-amz-copy-source: /%s/%s", s3_client_config(c)->bucket, k);
}

/* S3 may answer 200 to a copy and put the error in the body */
static int copy_answer(const struct s3_request *rq, struct s3_response *rs, const char *result_tag,
		       struct strata_error **err)
{
	if (rs->status != 200)
		return s3_error(rq, rs, err);
	const char *p = rs->body, *end = rs->body + rs->body_len, *in, *ie;
	if (s3_xml_next(&p, end, "Error", &in, &ie)) {
		free(rs->code);
		free(rs->message);
		rs->code = s3_xml_text(in, ie, "Code");
		rs->message = s3_xml_text(in, ie, "Message");
		rs->status = 500;
		return s3_error(rq, rs, err);
	}
	p = rs->body;
	if (!s3_xml_next(&p, end, result_tag, &in, &ie))
		return strata_error_makec(err, 0, 0, "S3 %s %s: no <%s> in the answer", rq->method, rq->key,
					  result_tag);
	return 0;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id, struct strata_error **err)
{
	struct s3_param p[] = { { "uploadId", upload_id } };
	return delete_request(c, key, p, 1, err);
}

/* CreateMultipartUpload on key. @return the UploadId (newly allocated) or NULL */
static char *mpu_create(struct s3_client *c, const char *key, struct strata_error **err)
{
	struct s3_param up[] = { { "uploads", "" } };
	struct s3_request rq = s3_request_init("POST", key);
	rq.params = up;
	rq.n_params = 1;
	rq.collect = true;
	rq.idempotent = false;
	struct s3_response rs;
	if (s3_do(c, &rq, &rs, err) < 0)
		return NULL;
	if (rs.status != 200) {
		s3_error(&rq, &rs, err);
		s3_response_release(&rs);
		return NULL;
	}
	char *id = s3_xml_text(rs.body, rs.body + rs.body_len, "UploadId");
	s3_response_release(&rs);
	if (!id || !*id) {
		free(id);
		strata_error_makec(err, 0, 0, "S3 POST %s?uploads: no UploadId in the answer", key);
		return NULL;
	}
	return id;
}

static int mpu_complete(struct s3_client *c, const char *key, const char *upload_id, struct strata_buf *parts,
			struct strata_error **err)
{
	struct strata_buf doc = STRATA_BUF_INIT;
	strata_buf_addf(&doc, "<CompleteMultipartUpload>%s</CompleteMultipartUpload>", parts->data);
	struct s3_param cp[] = { { "uploadId", upload_id } };
	struct s3_request cr = s3_request_init("POST", key);
	cr.params = cp;
	cr.n_params = 1;
	cr.body = (struct s3_body){ .fd = -1, .mem = doc.data, .len = doc.len };
	cr.collect = true;
	struct s3_response cs;
	int rc = s3_do(c, &cr, &cs, err) < 0 ? -1 : copy_answer(&cr, &cs, "CompleteMultipartUploadResult", err);
	s3_response_release(&cs);
	strata_buf_release(&doc);
	return rc;
}

/*
 * dst becomes the concatenation of whole objects (each but the last >= 5
 * MiB, each <= 5 GiB) by a multipart upload of server-side part copies.
 * (No x-amz-copy-source-range: Debian 12's libcurl sorts it before
 * x-amz-copy-source when signing, and the signature does not match.)
 */
int s3_concat(struct s3_client *c, const char *dst, const struct s3_segment *seg, size_t n,
	      struct strata_error **err)
{
	cleanup_free char *upload_id = mpu_create(c, dst, err);
	if (!upload_id)
		return -1;
	struct strata_buf done = STRATA_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char num[24];
		snprintf(num, sizeof(num), "%zu", i + 1);
		cleanup_free char *src = copy_source(c, seg[i].key);
		const char *hdrs[] = { src, NULL };
		struct s3_param pp[] = { { "partNumber", num }, { "uploadId", upload_id } };
		struct s3_request pr = s3_request_init("PUT", dst);
		pr.params = pp;
		pr.n_params = 2;
		pr.headers = hdrs;
		pr.collect = true;
		struct s3_response ps;
		if (s3_do(c, &pr, &ps, err) < 0) {
			rc = -1;
			break;
		}
		rc = copy_answer(&pr, &ps, "CopyPartResult", err);
		cleanup_free char *etag = rc ? NULL : s3_xml_text(ps.body, ps.body + ps.body_len, "ETag");
		s3_response_release(&ps);
		if (!rc && !etag)
			rc = strata_error_makec(err, 0, 0, "S3 UploadPartCopy %s part %zu: no ETag", dst, i + 1);
		if (!rc)
			strata_buf_addf(&done, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1, etag);
	}
	if (!rc)
		rc = mpu_complete(c, dst, upload_id, &done, err);
	strata_buf_release(&done);
	if (rc)
		s3_mpu_abort(c, dst, upload_id, NULL);
	return rc;
}

/*
 * dst = src for objects over 5 GiB (a single copy's limit): the bytes go
 * through this process in ranges of 64 MiB, each uploaded as a part (see
 * mpu_copy for why not UploadPartCopy with ranges).
 */
static int stream_copy(struct s3_client *c, const char *src, const char *dst, uint64_t size,
		       struct strata_error **err)
{
	static const uint64_t step = 64ull << 20;
	cleanup_free char *upload_id = mpu_create(c, dst, err);
	if (!upload_id)
		return -1;
	cleanup_free char *buf = xmalloc((size_t)step);
	struct strata_buf done = STRATA_BUF_INIT;
	int rc = 0;
	unsigned num = 0;
	for (uint64_t off = 0; off < size && !rc; off += step) {
		size_t want = (size_t)(size - off < step ? size - off : step);
		ssize_t got = s3_get(c, src, off, want, buf, err);
		if (got != (ssize_t)want) {
			rc = got < 0 ? -1 : strata_error_makec(err, 0, 0, "S3 copy %s: short read at %llu", src,
							      (unsigned long long)off);
			break;
		}
		char pn[24];
		snprintf(pn, sizeof(pn), "%u", ++num);
		struct s3_param pp[] = { { "partNumber", pn }, { "uploadId", upload_id } };
		struct s3_request pr = s3_request_init("PUT", dst);
		pr.params = pp;
		pr.n_params = 2;
		pr.body = (struct s3_body){ .fd = -1, .mem = buf, .len = want };
		struct s3_response ps;
		if (s3_do(c, &pr, &ps, err) < 0) {
			rc = -1;
			break;
		}
		if (ps.status != 200 || !ps.etag)
			rc = ps.status != 200 ? s3_error(&pr, &ps, err)
					      : strata_error_makec(err, 0, 0, "S3 UploadPart %s: no ETag", dst);
		else
			strata_buf_addf(&done, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", num, ps.etag);
		s3_response_release(&ps);
	}
	if (!rc)
		rc = mpu_complete(c, dst, upload_id, &done, err);
	strata_buf_release(&done);
	if (rc)
		s3_mpu_abort(c, dst, upload_id, NULL);
	return rc;
}

/* dst = src (size bytes), server-side up to 5 GiB */
int s3_copy(struct s3_client *c, const char *src, const char *dst, uint64_t size, struct strata_error **err)
{
	if (size > COPY_MAX)
		return stream_copy(c, src, dst, size, err);
	cleanup_free char *h = copy_source(c, src);
	const char *hdrs[] = { h, NULL };
	struct s3_request rq = s3_request_init("PUT", dst);
	rq.headers = hdrs;
	rq.collect = true;
	struct s3_response rs;
	if (s3_do(c, &rq, &rs, err) < 0)
		return -1;
	int rc = copy_answer(&rq, &rs, "CopyObjectResult", err);
	s3_response_release(&rs);
	return rc;
}

/* Every object whose key starts with prefix, in key order (ListObjectsV2). Non-zero from fn stops. */
int s3_list(struct s3_client *c, const char *prefix, s3_object_fn fn, void *ud, struct strata_error **err)
{
	char *token = NULL;
	int rc = 0;
	/* STRATA_S3_MAX_KEYS: smaller pages (tests walk the continuation tokens with it) */
	const char *mk = getenv("STRATA_S3_MAX_KEYS");
	do {
		struct s3_param p[4] = { { "list-type", "2" }, { "prefix", prefix }, { "max-keys", mk },
					 { "continuation-token", token } };
		size_t n = 2;
		if (mk && *mk)
			p[n++] = p[2];
		if (token)
			p[n++] = p[3];
		struct s3_request rq = s3_request_init("GET", NULL);
		rq.params = p;
		rq.n_params = n;
		rq.collect = true;
		struct s3_response rs;
		if (s3_do(c, &rq, &rs, err) < 0) {
			rc = -1;
			break;
		}
		cleanup_free char *prev = token;
		token = NULL;
		if (rs.status != 200) {
			rc = s3_error(&rq, &rs, err);
			strata_error_wrap(err, "list '%s'", prefix);
			s3_response_release(&rs);
			break;
		}
		const char *end = rs.body + rs.body_len, *pos = rs.body, *in, *ie;
		if (!s3_xml_next(&pos, end, "ListBucketResult", &in, &ie)) {
			rc = strata_error_makec(err, 0, 0, "S3 list '%s': the answer is not a ListBucketResult", prefix);
			s3_response_release(&rs);
			break;
		}
		const char *lp = in, *cin, *cie;
		while (!rc && s3_xml_next(&lp, ie, "Contents", &cin, &cie)) {
			struct s3_object o = { 0 };
			o.key = s3_xml_text(cin, cie, "Key");
			cleanup_free char *sz = s3_xml_text(cin, cie, "Size");
			cleanup_free char *lm = s3_xml_text(cin, cie, "LastModified");
			if (!o.key || !sz) {
				free(o.key);
				rc = strata_error_makec(err, 0, 0, "S3 list '%s': an entry without Key or Size", prefix);
				break;
			}
			o.size = strtoull(sz, NULL, 10);
			o.mtime = s3_parse_time(lm);
			if (!strncmp(o.key, prefix, strlen(prefix)))
				rc = fn(ud, &o, err);
			free(o.key);
		}
		cleanup_free char *trunc = s3_xml_text(in, ie, "IsTruncated");
		if (!rc && trunc && !strcmp(trunc, "true")) {
			token = s3_xml_text(in, ie, "NextContinuationToken");
			if (!token || !*token || (prev && !strcmp(token, prev))) {
				rc = strata_error_makec(err, 0, 0, "S3 list '%s': truncated without a %scontinuation token",
							prefix, token && *token ? "new " : "");
				free(token);
				token = NULL;
			}
		}
		s3_response_release(&rs);
	} while (token && !rc);
	free(token);
	return rc;
}
