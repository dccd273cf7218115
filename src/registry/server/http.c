/*
 * http.c — the request lifecycle (first call: route, authenticate,
 * validate, open the body; body calls: stream; final call: answer) and the
 * routing of /v2/ paths.
 */
#include "registry/server/internal.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- routing ---- */

static bool ends_with(const char *s, size_t n, const char *suffix, size_t *head)
{
	size_t k = strlen(suffix);
	if (n < k || memcmp(s + n - k, suffix, k))
		return false;
	*head = n - k;
	return true;
}

/* Split "/v2/<name>/<kind>/<ref>" into route, name and ref. @return 0, or -1 for no route. */
static int route_parse(struct reg_req *q, const char *url)
{
	if (!strcmp(url, "/v2/") || !strcmp(url, "/v2")) {
		q->route = R_BASE;
		return 0;
	}
	if (strncmp(url, "/v2/", 4))
		return -1;
	const char *rest = url + 4;
	if (!strcmp(rest, "_catalog")) {
		q->route = R_CATALOG;
		return 0;
	}
	const char *slash = strrchr(rest, '/');
	if (!slash)
		return -1;
	size_t hlen = (size_t)(slash - rest);
	const char *tail = slash + 1;
	size_t nlen;
	if (ends_with(rest, hlen, "/blobs/uploads", &nlen))
		q->route = R_UPLOAD;
	else if (ends_with(rest, hlen, "/blobs", &nlen))
		q->route = R_BLOB;
	else if (ends_with(rest, hlen, "/manifests", &nlen))
		q->route = R_MANIFEST;
	else if (ends_with(rest, hlen, "/referrers", &nlen))
		q->route = R_REFERRERS;
	else if (!strcmp(tail, "list") && ends_with(rest, hlen, "/tags", &nlen))
		q->route = R_TAGS;
	else
		return -1;
	if (q->route != R_UPLOAD && q->route != R_TAGS && !*tail)
		return -1;
	q->name = xstrndup(rest, nlen);
	if (q->route != R_TAGS)
		q->ref = xstrdup(tail);
	return 0;
}

static bool name_valid(const char *name)
{
	return strlen(name) <= OCI_NAME_MAX && oci_repo_path_valid(name);
}

static bool method_is(const struct reg_req *q, const char *m)
{
	return !strcmp(q->method, m);
}

static bool method_allowed(const struct reg_req *q)
{
	bool read = method_is(q, "GET") || method_is(q, "HEAD");
	switch (q->route) {
	case R_BASE:
	case R_CATALOG:
	case R_TAGS:
	case R_REFERRERS:
		return read;
	case R_BLOB:
		return read || method_is(q, "DELETE");
	case R_MANIFEST:
		return read || method_is(q, "PUT") || method_is(q, "DELETE");
	case R_UPLOAD:
		if (!*q->ref)
			return method_is(q, "POST");
		return method_is(q, "GET") || method_is(q, "PATCH") || method_is(q, "PUT") ||
		       method_is(q, "DELETE");
	default:
		return false;
	}
}

static bool is_write(const struct reg_req *q)
{
	return !(method_is(q, "GET") || method_is(q, "HEAD"));
}

static enum MHD_Result first_call(struct reg_req *q, const char *url)
{
	struct registry *r = q->r;
	if (route_parse(q, url) < 0)
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no route for '%s'", url);
	if (q->name && !name_valid(q->name))
		return reg_reply_error(q, MHD_HTTP_BAD_REQUEST, "NAME_INVALID", "invalid repository name");
	if (!method_allowed(q))
		return reg_reply_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
				       "method %s not allowed here", q->method);
	if (r->auth) {
		if (!reg_auth_login(r->auth, reg_header(q, MHD_HTTP_HEADER_AUTHORIZATION), &q->user))
			return reg_reply_error(q, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
					       "authentication required");
		/*
		 * /v2/ always challenges anonymous requests, as distribution
		 * does: clients send credentials only after a 401 there.
		 * Anonymous pulls allowed by the config still work on the
		 * repository routes.
		 */
		if (q->route == R_BASE && !q->user)
			return reg_reply_error(q, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
					       "authentication required");
		if (q->route == R_CATALOG) {
			if (!q->user && !reg_auth_anonymous_any(r->auth))
				return reg_reply_error(q, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
						       "authentication required");
		} else if (q->route != R_BASE) {
			int need = is_write(q) ? REG_PUSH : REG_PULL;
			if (!reg_auth_allowed(r->auth, q->user, q->name, need)) {
				if (!q->user)
					return reg_reply_error(q, MHD_HTTP_UNAUTHORIZED, "UNAUTHORIZED",
							       "authentication required");
				return reg_reply_error(q, MHD_HTTP_FORBIDDEN, "DENIED",
						       "requested access to the resource is denied");
			}
		}
	}
	if (r->cfg.read_only && is_write(q))
		return reg_reply_error(q, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
				       "the registry is read-only");
	switch (q->route) {
	case R_BASE: {
		struct MHD_Response *resp =
			MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type", "application/json");
		q->bytes_out = 2;
		return reg_reply(q, MHD_HTTP_OK, resp);
	}
	case R_CATALOG:
		return reg_catalog_handle(q);
	case R_TAGS:
		return reg_tags_handle(q);
	case R_REFERRERS:
		return reg_referrers_handle(q);
	case R_BLOB:
		return reg_blob_handle(q);
	case R_UPLOAD:
		return reg_upload_begin(q);
	case R_MANIFEST:
		if (!method_is(q, "PUT"))
			return reg_manifest_handle(q);
		{
			const char *cl = reg_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
			uint64_t n;
			/* saturated: 2^64-1 is libmicrohttpd's "size unknown", and
			 * a larger number is larger still */
			if (cl && reg_parse_u64_sat(cl, &n) == 0 && n > REG_MANIFEST_MAX) {
				q->may_defer = false; /* up front: the body is what is refused */
				return reg_reply_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
						       "manifest is larger than %u bytes",
						       REG_MANIFEST_MAX);
			}
		}
		q->body = BODY_BUF;
		strata_buf_init(&q->buf, REG_MANIFEST_MAX);
		return MHD_YES;
	default:
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no route");
	}
}

static void body_data(struct reg_req *q, const char *data, size_t n)
{
	q->bytes_in += n;
	switch (q->body) {
	case BODY_FILE:
		if (q->body_failed)
			return;
		{
			struct strata_error *err = NULL;
			if (strata_write_full(q->fd, data, n, "upload", &err) < 0) {
				q->body_failed = true;
				q->body_errno = strata_error_errnum(err);
				strata_error_free(err);
				return;
			}
		}
		if (q->hashing)
			strata_hash_update(&q->hash, data, n);
		q->written += n;
		return;
	case BODY_BUF:
		if (!q->too_big && strata_buf_add(&q->buf, data, n) < 0)
			q->too_big = true;
		return;
	default:
		return;
	}
}

static enum MHD_Result final_call(struct reg_req *q)
{
	switch (q->route) {
	case R_UPLOAD:
		return reg_upload_handle(q);
	case R_MANIFEST:
		return reg_manifest_handle(q);
	default:
		return reg_reply_error(q, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no route");
	}
}

/* Does the request announce a body (POST of a session start has none)? */
static bool has_body(struct reg_req *q)
{
	const char *cl = reg_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
	return reg_header(q, MHD_HTTP_HEADER_TRANSFER_ENCODING) || (cl && strcmp(cl, "0"));
}

/*
 * May a refusal of this request wait for its body (struct reg_req,
 * deferred)? Not when the client waits for "100 Continue" before sending
 * it (it then gets the answer instead and sends nothing), nor when the body
 * announced is longer than is worth reading to drop.
 */
static bool body_can_be_drained(struct reg_req *q)
{
	const char *expect = reg_header(q, MHD_HTTP_HEADER_EXPECT);
	if (expect && !strcasecmp(expect, "100-continue"))
		return false;
	const char *cl = reg_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;
	return !cl || (reg_parse_u64_sat(cl, &n) == 0 && n <= REG_DISCARD_MAX);
}

/* Once answered, an upload's session is free for the client's next request. */
static enum MHD_Result after(struct reg_req *q, enum MHD_Result ret)
{
	if (q->responded && q->route == R_UPLOAD)
		reg_upload_done(q);
	return ret;
}

enum MHD_Result reg_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size,
			       void **con_cls)
{
	(void)version;
	struct reg_req *q = *con_cls;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		q->r = cls;
		q->fd = -1;
		q->range_start = q->range_end = -1;
		clock_gettime(CLOCK_MONOTONIC, &q->start);
		*con_cls = q;
		pthread_mutex_lock(&q->r->lock);
		q->r->inflight++;
		pthread_mutex_unlock(&q->r->lock);
	}
	q->conn = c;
	if (!q->started) {
		q->started = true;
		q->method = method;
		q->url = xstrdup(url);
		/*
		 * A response queued on this first call makes libmicrohttpd close
		 * the connection, so requests without a body are answered on the
		 * final call (keep-alive), and so are POST/PUT/PATCH that come
		 * without one; requests with one are checked now, so that a
		 * refused upload is not stored: its body is read and dropped
		 * (bounded) before the refusal is sent (struct reg_req, deferred).
		 */
		if (!strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "DELETE") ||
		    !has_body(q))
			return MHD_YES;
		q->checked = true;
		q->may_defer = body_can_be_drained(q);
		enum MHD_Result ret = first_call(q, url);
		q->may_defer = false;
		return after(q, ret);
	}
	if (q->responded) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (!q->deferred)
			return MHD_YES;
		q->discarded += n;
		q->bytes_in += n;
		if (n && q->discarded <= REG_DISCARD_MAX)
			return MHD_YES;
		/* the body is read (or too long to wait for): answer now */
		enum MHD_Result ret = MHD_queue_response(q->conn, q->status, q->deferred);
		MHD_destroy_response(q->deferred);
		q->deferred = NULL;
		return ret;
	}
	if (*upload_data_size) {
		body_data(q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!q->checked) {
		q->checked = true;
		enum MHD_Result ret = first_call(q, q->url);
		/* a request that takes a body but came without one is complete now */
		if (ret == MHD_YES && !q->responded)
			ret = final_call(q);
		return after(q, ret);
	}
	return after(q, final_call(q));
}

void reg_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)c;
	struct registry *r = cls;
	struct reg_req *q = *con_cls;
	if (!q)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && q->status && q->status < 300)
		q->status = 499;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !q->responded)
		q->status = 499;
	if (q->route == R_UPLOAD)
		reg_upload_done(q);
	if (q->deferred)
		MHD_destroy_response(q->deferred);
	if (q->hashing)
		strata_hash_release(&q->hash);
	if (q->fd >= 0)
		close(q->fd);
	if (q->tmp)
		unlink(q->tmp);
	if (r->cfg.log_format != REGISTRY_LOG_NONE && q->method)
		reg_access_log(q);
	strata_buf_release(&q->buf);
	free(q->tmp);
	free(q->url);
	free(q->name);
	free(q->ref);
	free(q->user);
	free(q);
	*con_cls = NULL;
	pthread_mutex_lock(&r->lock);
	r->inflight--;
	pthread_mutex_unlock(&r->lock);
}

