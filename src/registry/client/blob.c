/*
 * blob.c — blob HEAD, GET (verified while streaming, resumed with Range) and
 * upload (cross-repo mount, monolithic POST+PUT, chunked PATCH).
 */
#include "registry/client/internal.h"

#include <inttypes.h>
#include <string.h>

#include "oci/oci.h"

int regclient_blob_exists(struct regclient *c, const char *host, const char *repo, const char *digest,
			  uint64_t *size, struct strata_error **err)
{
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", h->base, repo, digest);
	cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
	struct rc_req req = { .method = "HEAD", .url = url, .body_fd = -1, .scope = scope, .follow = true };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	int r = -1;
	if (rc_do(c, h, &req, &resp, err) < 0)
		goto out;
	if (resp.status == 200) {
		if (size)
			*size = resp.content_length > 0 ? (uint64_t)resp.content_length : 0;
		r = 1;
	} else if (resp.status == 404) {
		r = 0;
	} else {
		rc_resp_error(&resp, NULL, err);
	}
out:
	rc_resp_release(&resp);
	return r;
}

/* ---- download ---- */

struct dl {
	const struct strata_sink *sink;
	struct rc_resp *resp;
	struct oci_verifier v;
	uint64_t got;   /* bytes verified and written */
	uint64_t skip;  /* bytes of a 200 answer to a Range request still to drop */
	uint64_t limit; /* expected size, 0 unknown */
	bool first;     /* no data seen yet in this attempt */
	bool verify;    /* hash here (else the sink verifies before committing) */
	/* libcurl hands over at most 16 KiB at a time: coalesce sink writes */
	char *wbuf;
	size_t wlen;
};

#define DL_WBUF (1u << 20)

static int dl_flush(struct dl *d, struct strata_error **err)
{
	if (!d->wlen)
		return 0;
	int r = strata_sink_write(d->sink, d->wbuf, d->wlen, err);
	d->wlen = 0;
	return r;
}

static int dl_data(void *ctx, const void *p, size_t n, struct strata_error **err)
{
	struct dl *d = ctx;
	const char *b = p;
	if (d->first) {
		/* a server that ignores Range answers 200 from byte 0: drop what we have */
		d->first = false;
		d->skip = d->resp->status == 200 ? d->got : 0;
		if (d->resp->status == 206) {
			/* the resumed part must start where we stopped */
			const char *cr = d->resp->content_range;
			uint64_t start = cr && !strncmp(cr, "bytes ", 6) ? strtoull(cr + 6, NULL, 10) : UINT64_MAX;
			if (start != d->got)
				return strata_error_makec(err, STRATA_E_REGISTRY, 0,
							  "resumed download starts at '%s', expected byte %" PRIu64,
							  cr ? cr : "?", d->got);
		}
	}
	if (d->skip) {
		size_t s = n < d->skip ? n : (size_t)d->skip;
		d->skip -= s;
		b += s;
		n -= s;
		if (!n)
			return 0;
	}
	if (d->limit && d->got + n > d->limit)
		return strata_error_makec(err, STRATA_E_INVALID, 0, "blob larger than its %" PRIu64 " bytes",
					  d->limit);
	if (d->verify)
		oci_verifier_update(&d->v, b, n);
	d->got += n;
	while (n) {
		size_t room = DL_WBUF - d->wlen;
		size_t k = n < room ? n : room;
		memcpy(d->wbuf + d->wlen, b, k);
		d->wlen += k;
		b += k;
		n -= k;
		if (d->wlen == DL_WBUF && dl_flush(d, err) < 0)
			return -1;
	}
	return 0;
}

int regclient_blob_get(struct regclient *c, const char *host, const char *repo, const char *digest,
		       uint64_t size, const struct strata_sink *sink, const struct regclient_progress *prog,
		       struct strata_error **err)
{
	return regclient_blob_fetch(c, host, repo, digest, size, sink, true, prog, err);
}

int regclient_blob_fetch(struct regclient *c, const char *host, const char *repo, const char *digest,
			 uint64_t size, const struct strata_sink *sink, bool verify,
			 const struct regclient_progress *prog, struct strata_error **err)
{
	struct oci_digest want;
	if (oci_digest_parse(digest, &want, err) < 0)
		return -1;
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	cleanup_free char *url = xasprintf("%s/v2/%s/blobs/%s", h->base, repo, digest);
	cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	struct dl d = { .sink = sink, .resp = &resp, .limit = size, .wbuf = xmalloc(DL_WBUF), .verify = verify };
	oci_verifier_init(&d.v, &want);
	int r = -1;
	for (int attempt = 0;; attempt++) {
		char range[64];
		struct rc_req req = { .method = "GET", .url = url, .body_fd = -1, .scope = scope, .follow = true,
				      .on_data = dl_data, .data_ctx = &d, .prog = prog, .prog_id = digest,
				      .prog_base = d.got, .prog_total = size };
		if (d.got) {
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", d.got);
			req.range = range;
		}
		uint64_t before = d.got;
		d.first = true;
		int pr = rc_do(c, h, &req, &resp, err);
		if (pr == 0 && resp.status >= 200 && resp.status < 300) {
			break;
		}
		if (pr == 0) {
			if (resp.status == 416 && size && d.got == size)
				break;
			rc_resp_error(&resp, "BLOB_UNKNOWN", err);
			goto out;
		}
		/* a transport error: resume unless the sink failed or attempts are spent */
		if (resp.cerr == CURLE_WRITE_ERROR || !rc_curl_transient(resp.cerr) ||
		    attempt >= c->o.resume_attempts)
			goto out;
		LOG_INFO("%s: connection broken after %" PRIu64 " bytes; resuming", digest, d.got);
		strata_error_clear(err);
		if (d.got == before)
			rc_backoff(c, attempt, NULL);
		if (prog && prog->fn)
			prog->fn(prog->ctx, digest, d.got, size, "resuming");
	}
	if (dl_flush(&d, err) < 0)
		goto out;
	if (size && d.got != size) {
		strata_error_makec(err, STRATA_E_INVALID, 0, "blob is %" PRIu64 " bytes, expected %" PRIu64,
				   d.got, size);
		goto out;
	}
	if (verify && oci_verifier_final(&d.v, err) < 0) {
		strata_error_set_code(err, STRATA_E_INVALID);
		goto out;
	}
	/* unverified bytes are not "done": the caller says so once its sink verified them */
	if (verify && prog && prog->fn)
		prog->fn(prog->ctx, digest, d.got, size, "done");
	r = 0;
out:
	free(d.wbuf);
	oci_verifier_release(&d.v);
	rc_resp_release(&resp);
	return r;
}

/* ---- upload ---- */

#define TRANSIENT (-2)

static int fail_resp(struct rc_resp *resp, int pr, struct strata_error **err)
{
	if (pr < 0)
		return rc_curl_transient(resp->cerr) && resp->cerr != CURLE_READ_ERROR &&
				       resp->cerr != CURLE_ABORTED_BY_CALLBACK
			       ? TRANSIENT
			       : -1;
	rc_resp_error(resp, NULL, err);
	if (rc_status_transient(resp->status))
		return TRANSIENT;
	/*
	 * The session went bad, e.g. libcurl re-sent a PUT on a fresh connection
	 * after the first one died mid-body, and the registry now holds part of
	 * it ("upload resumed at wrong offset"): a new session starts clean.
	 */
	if (resp->status == 416 ||
	    (resp->status < 500 && resp->body.len &&
	     (strstr(resp->body.data, "BLOB_UPLOAD_INVALID") ||
	      strstr(resp->body.data, "BLOB_UPLOAD_UNKNOWN"))))
		return TRANSIENT;
	return -1;
}

static char *with_digest(const char *loc, const char *digest)
{
	cleanup_free char *d = rc_query_escape(digest);
	return xasprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', d);
}

/*
 * After a chunk failed with 429/5xx or a broken connection: ask the registry
 * where its session stands (GET Location: 204 with Range "0-N"), so the
 * upload goes on from there instead of starting again. *loc follows the
 * answer's Location. "0-0" is read as empty (the spec's answer for an empty
 * session); if the registry had one byte, the next chunk gets 416 and the
 * upload starts again. @return 0 with *pos, or -1.
 */
static int upload_offset(struct regclient *c, struct rc_host *h, char **loc, const char *scope,
			 uint64_t size, uint64_t *pos, struct strata_error **err)
{
	struct rc_req get = { .method = "GET", .url = *loc, .body_fd = -1, .scope = scope };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	int r = -1;
	if (rc_do(c, h, &get, &resp, err) < 0)
		goto out;
	if (resp.status != 204 && resp.status != 200 && resp.status != 202) {
		rc_resp_error(&resp, "BLOB_UPLOAD_UNKNOWN", err);
		goto out;
	}
	uint64_t next = 0;
	const char *dash = resp.range ? strchr(resp.range, '-') : NULL;
	if (dash && strcmp(resp.range, "0-0"))
		next = strtoull(dash + 1, NULL, 10) + 1;
	if (next > size) {
		strata_error_makec(err, STRATA_E_REGISTRY, 0, "upload: registry reports range '%s'", resp.range);
		goto out;
	}
	if (resp.location) {
		char *nl = rc_resolve_url(*loc, resp.location);
		free(*loc);
		*loc = nl;
	}
	*pos = next;
	r = 0;
out:
	rc_resp_release(&resp);
	return r;
}

/* @return 0 uploaded, 1 mounted, -1 error, TRANSIENT worth another try. */
static int try_upload(struct regclient *c, struct rc_host *h, const char *repo, const char *digest, int fd,
		      uint64_t size, const char *mount_from, const char *scope,
		      const struct regclient_progress *prog, struct strata_error **err)
{
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	int r = -1, pr;
	cleanup_free char *url = NULL, *loc = NULL, *put_url = NULL;
	if (mount_from) {
		cleanup_free char *d = rc_query_escape(digest);
		cleanup_free char *f = rc_query_escape(mount_from);
		url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", h->base, repo, d, f);
	} else {
		url = xasprintf("%s/v2/%s/blobs/uploads/", h->base, repo);
	}
	struct rc_req post = { .method = "POST", .url = url, .body_fd = -1, .scope = scope };
	pr = rc_do(c, h, &post, &resp, err);
	if (pr == 0 && resp.status == 201 && mount_from) {
		r = 1;
		goto out;
	}
	if (pr == 0 && resp.status == 202 && fd < 0) {
		r = 2; /* mount only (regclient_blob_mount): declined */
		goto out;
	}
	if (pr < 0 || resp.status != 202 || !resp.location) {
		if (pr == 0 && resp.status == 202)
			strata_error_makec(err, STRATA_E_REGISTRY, 0, "upload started without a Location");
		else
			r = fail_resp(&resp, pr, err);
		goto out;
	}
	loc = rc_resolve_url(url, resp.location);
	uint64_t cs = c->o.chunk_size;
	if (cs && resp.chunk_min > 0 && (uint64_t)resp.chunk_min > cs)
		cs = (uint64_t)resp.chunk_min;
	uint64_t pos = 0;
	int chunk_retries = 0;
	if (cs) {
		while (pos < size) {
			uint64_t len = size - pos < cs ? size - pos : cs;
			char cr[64];
			snprintf(cr, sizeof(cr), "%" PRIu64 "-%" PRIu64, pos, pos + len - 1);
			struct rc_req patch = { .method = "PATCH", .url = loc, .body_fd = fd, .fd_off = pos,
						.fd_len = len, .content_type = "application/octet-stream",
						.content_range = cr, .no_retry = true, .scope = scope,
						.prog = prog, .prog_id = digest, .prog_base = pos,
						.prog_total = size };
			pr = rc_do(c, h, &patch, &resp, err);
			if (pr < 0 || resp.status != 202) {
				r = fail_resp(&resp, pr, err);
				/*
				 * a chunk refused for now (429/5xx), cut, or refused with 416
				 * (libcurl re-sent a cut chunk on a new connection, but the
				 * registry kept the bytes that arrived): go on from the
				 * registry's offset
				 */
				if (r == TRANSIENT &&
				    (pr < 0 || resp.status == 416 || rc_status_transient(resp.status)) &&
				    chunk_retries < c->o.max_retries) {
					LOG_INFO("%s: chunk at %" PRIu64 " failed; resuming", digest, pos);
					rc_backoff(c, chunk_retries++, pr < 0 ? NULL : resp.retry_after);
					strata_error_clear(err);
					if (upload_offset(c, h, &loc, scope, size, &pos, err) < 0) {
						LOG_INFO("%s: upload status: %s", digest, (*err)->msg);
						strata_error_clear(err);
						r = fail_resp(&resp, pr, err);
						goto out;
					}
					if (prog && prog->fn)
						prog->fn(prog->ctx, digest, pos, size, "resuming");
					continue;
				}
				goto out;
			}
			chunk_retries = 0;
			/* the server says how much it has: "0-N" */
			uint64_t next = pos + len;
			if (resp.range) {
				const char *dash = strchr(resp.range, '-');
				if (dash)
					next = strtoull(dash + 1, NULL, 10) + 1;
			}
			if (next <= pos || next > size) {
				strata_error_makec(err, STRATA_E_REGISTRY, 0, "upload: registry reports range '%s'",
						   resp.range ? resp.range : "");
				goto out;
			}
			pos = next;
			if (resp.location) {
				char *nl = rc_resolve_url(loc, resp.location);
				free(loc);
				loc = nl;
			}
		}
	}
	put_url = with_digest(loc, digest);
	/* the PUT that ends a chunked upload has no body: it may be retried like a GET */
	struct rc_req put = { .method = "PUT", .url = put_url, .body_fd = cs ? -1 : fd, .fd_off = 0,
			      .fd_len = cs ? 0 : size, .content_type = "application/octet-stream",
			      .no_retry = !cs, .scope = scope, .prog = prog, .prog_id = digest,
			      .prog_total = size };
	pr = rc_do(c, h, &put, &resp, err);
	if (pr < 0 || resp.status != 201) {
		r = fail_resp(&resp, pr, err);
		goto out;
	}
	if (resp.digest && *resp.digest && strcmp(resp.digest, digest)) {
		strata_error_makec(err, STRATA_E_REGISTRY, 0, "registry stored the blob as '%s'", resp.digest);
		goto out;
	}
	r = 0;
out:
	rc_resp_release(&resp);
	return r;
}

int regclient_blob_put(struct regclient *c, const char *host, const char *repo, const char *digest,
		       int fd, uint64_t size, const char *mount_from, const struct regclient_progress *prog,
		       struct strata_error **err)
{
	if (!oci_digest_valid(digest))
		return strata_error_makec(err, STRATA_E_INVALID, 0, "invalid digest '%s'", digest);
	struct rc_host *h = rc_host_get(c, host);
	if (rc_host_base(c, h, err) < 0)
		return -1;
	cleanup_free char *scope = mount_from && strcmp(mount_from, repo)
					   ? xasprintf("repository:%s:pull,push repository:%s:pull", repo, mount_from)
					   : xasprintf("repository:%s:pull,push", repo);
	if (mount_from && !strcmp(mount_from, repo))
		mount_from = NULL;
	for (int attempt = 0;; attempt++) {
		int r = try_upload(c, h, repo, digest, fd, size, mount_from, scope, prog, err);
		if (r >= 0) {
			if (prog && prog->fn)
				prog->fn(prog->ctx, digest, size, size, r == 1 ? "mounted" : "pushed");
			return r;
		}
		if (r != TRANSIENT || attempt >= c->o.max_retries)
			return -1;
		LOG_INFO("%s: upload failed; starting again", digest);
		strata_error_clear(err);
		rc_backoff(c, attempt, NULL);
	}
}

int regclient_blob_mount(struct regclient *c, const char *host, const char *repo, const char *digest,
			 const char *from_repo, struct strata_error **err)
{
	if (!from_repo || !strcmp(from_repo, repo))
		return 0;
	int r = regclient_blob_put(c, host, repo, digest, -1, 0, from_repo, NULL, err);
	if (r < 0)
		return -1;
	return r == 1 ? 1 : 0;
}
