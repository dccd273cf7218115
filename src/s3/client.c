/*
 * client.c — S3 requests through libcurl.
 *
 * Path-style URLs (ENDPOINT/BUCKET/KEY), the query in canonical form (see
 * sign.c), signed by libcurl (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"); the
 * client sends x-amz-content-sha256: UNSIGNED-PAYLOAD itself (Debian 12's
 * libcurl does not) and x-amz-security-token with a session token. One easy
 * handle per request; the handles of a client share one connection cache
 * (CURLSH, locked), so the client is used from any thread; over plain http
 * every request has a connection of its own (see s3_client_new).
 *
 * Retries: an idempotent request that fails in the network or gets a 5xx
 * is sent again, 4 attempts at most, 100 ms doubling between them (a body
 * read from a file or memory is sent again from its start). Error answers
 * keep their body (64 KiB at most) and its <Code> and <Message>.
 */
#include "s3/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S3_ATTEMPTS 4
#define S3_ERRBODY_MAX (64u << 10)
#define S3_COLLECT_MAX (64u << 20)

struct s3_client {
	struct s3_config cfg;
	char *sigv4;      /* "aws:amz:REGION:s3" */
	char *scheme, *host;
	bool fresh;       /* a connection per request (see s3_client_new) */
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ctx)
{
	(void)h;
	(void)acc;
	struct s3_client *c = ctx;
	pthread_mutex_lock(&c->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	(void)h;
	struct s3_client *c = ctx;
	pthread_mutex_unlock(&c->locks[data]);
}

int s3_client_new(const struct s3_config *cfg, struct s3_client **out, struct strata_error **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);
	if (!cfg->access_key || !cfg->secret_key)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "S3: no credentials");
	struct s3_client *c = xcalloc(1, sizeof(*c));
	c->cfg.bucket = xstrdup(cfg->bucket);
	c->cfg.endpoint = xstrdup(cfg->endpoint);
	c->cfg.region = xstrdup(cfg->region);
	c->cfg.prefix = xstrdup(cfg->prefix ? cfg->prefix : "");
	c->cfg.access_key = xstrdup(cfg->access_key);
	c->cfg.secret_key = xstrdup(cfg->secret_key);
	c->cfg.session_token = xstrdup_or_null(cfg->session_token);
	c->sigv4 = xasprintf("aws:amz:%s:s3", cfg->region);
	const char *sep = strstr(cfg->endpoint, "://");
	c->scheme = xstrndup(cfg->endpoint, (size_t)(sep - cfg->endpoint));
	c->host = xstrdup(sep + 3);
	/* the Host header (and so a presigned URL's signature) has no default port */
	size_t hl = strlen(c->host);
	const char *dflt = !strcmp(c->scheme, "https") ? ":443" : ":80";
	if (hl > strlen(dflt) && !strcmp(c->host + hl - strlen(dflt), dflt))
		c->host[hl - strlen(dflt)] = '\0';
	/*
	 * Plain http (a gateway on this machine or the LAN: RGW, MinIO): one
	 * connection per request. Ceph RGW's answers on a reused connection
	 * wait out the client's delayed ACK (~40 ms each: 42 vs 331 manifest
	 * GETs a second in bench/registry-s3), and a connect there costs far
	 * less. https keeps its connections (a TLS handshake costs more).
	 */
	c->fresh = !strcmp(c->scheme, "http");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	c->share = curl_share_init();
	if (!c->share)
		strata_oom();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = c;
	return 0;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->locks[i]);
	s3_config_release(&c->cfg);
	free(c->sigv4);
	free(c->scheme);
	free(c->host);
	free(c);
}

const struct s3_config *s3_client_config(const struct s3_client *c)
{
	return &c->cfg;
}

char *s3_url(const struct s3_client *c, const char *key, const char *query)
{
	cleanup_free char *k = key ? s3_uri_encode(key, true) : NULL;
	return xasprintf("%s/%s%s%s%s%s", c->cfg.endpoint, c->cfg.bucket, k ? "/" : "", k ? k : "",
			 query && *query ? "?" : "", query && *query ? query : "");
}

char *s3_presign_get(const struct s3_client *c, const char *key, unsigned expires)
{
	cleanup_free char *k = s3_uri_encode(key, true);
	cleanup_free char *path = xasprintf("/%s/%s", c->cfg.bucket, k);
	return s3_presign("GET", c->scheme, c->host, path, c->cfg.region, c->cfg.access_key, c->cfg.secret_key,
			  c->cfg.session_token, time(NULL), expires);
}

int64_t s3_parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (!s)
		return 0;
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	}
	if (!end)
		return 0;
	return (int64_t)timegm(&tm);
}

/* ---- one request ---- */

struct xfer {
	CURL *h;
	const struct s3_request *req;
	struct s3_response *resp;
	struct strata_buf body;     /* collected or error body */
	uint64_t sent;              /* of the request body */
	bool overflow;
	int read_errno;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300) {
		size_t room = S3_ERRBODY_MAX - x->body.len;
		strata_buf_add(&x->body, data, n < room ? n : room);
		return n;
	}
	if (x->req->buf) {
		if (n > x->req->cap - x->resp->got) {
			x->overflow = true;
			return 0;
		}
		memcpy(x->req->buf + x->resp->got, data, n);
		x->resp->got += n;
		return n;
	}
	if (x->req->collect) {
		if (strata_buf_add(&x->body, data, n) < 0) {
			x->overflow = true;
			return 0;
		}
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	cleanup_free char *line = xstrndup(data, n);
	size_t l = strlen(line);
	while (l && (line[l - 1] == '\r' || line[l - 1] == '\n'))
		line[--l] = '\0';
	char *colon = strchr(line, ':');
	if (!colon)
		return n;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	struct s3_response *r = x->resp;
	if (!strcasecmp(line, "Content-Length")) {
		if (!r->length_is_total) {
			r->content_length = strtoull(v, NULL, 10);
			r->has_length = true;
		}
	} else if (!strcasecmp(line, "Content-Range")) {
		/* "bytes a-b/total" or, answering 416, "bytes *\/total": the object's size */
		const char *slash = strchr(v, '/');
		if (slash && slash[1] >= '0' && slash[1] <= '9') {
			r->content_length = strtoull(slash + 1, NULL, 10);
			r->has_length = r->length_is_total = true;
		}
	} else if (!strcasecmp(line, "ETag")) {
		free(r->etag);
		r->etag = xstrdup(v);
	} else if (!strcasecmp(line, "Last-Modified")) {
		r->last_modified = s3_parse_time(v);
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	const struct s3_body *b = &x->req->body;
	size_t max = size * nmemb;
	uint64_t left = b->len - x->sent;
	if (max > left)
		max = (size_t)left;
	if (!max)
		return 0;
	if (b->fd >= 0) {
		ssize_t n;
		do
			n = pread(b->fd, buf, max, (off_t)(b->off + x->sent));
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			x->read_errno = n < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		max = (size_t)n;
	} else {
		memcpy(buf, (const char *)b->mem + b->off + x->sent, max);
	}
	x->sent += max;
	return max;
}

static int seek_body(void *ud, curl_off_t offset, int origin)
{
	struct xfer *x = ud;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->body.len)
		return CURL_SEEKFUNC_FAIL;
	x->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static void response_reset(struct s3_response *r)
{
	s3_response_release(r);
	memset(r, 0, sizeof(*r));
}

/* @return the CURLcode of one attempt */
static CURLcode attempt(struct s3_client *c, const struct s3_request *req, const char *url,
			struct s3_response *resp, struct xfer *x)
{
	CURL *h = curl_easy_init();
	if (!h)
		strata_oom();
	x->h = h;
	x->req = req;
	x->resp = resp;
	x->sent = 0;
	x->overflow = false;
	x->read_errno = 0;
	strata_buf_init(&x->body, req->collect ? S3_COLLECT_MAX : S3_ERRBODY_MAX);
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	cleanup_free char *tok = c->cfg.session_token ? xasprintf("x-amz-security-token: %s", c->cfg.session_token)
						      : NULL;
	if (tok)
		hdrs = curl_slist_append(hdrs, tok);
	for (const char *const *hp = req->headers; hp && *hp; hp++)
		hdrs = curl_slist_append(hdrs, *hp);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->cfg.access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->cfg.secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->fresh)
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	const char *m = req->method;
	bool has_body = req->body.fd >= 0 || req->body.mem;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "PUT") || (!strcmp(m, "POST") && has_body)) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(has_body ? req->body.len : 0));
		if (strcmp(m, "PUT"))
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (!strcmp(m, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(m, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

static void parse_error_body(struct s3_response *r)
{
	if (!r->body)
		return;
	const char *p = r->body, *end = r->body + r->body_len;
	const char *in, *ie;
	if (!s3_xml_next(&p, end, "Error", &in, &ie))
		return;
	r->code = s3_xml_text(in, ie, "Code");
	r->message = s3_xml_text(in, ie, "Message");
}

int s3_do(struct s3_client *c, const struct s3_request *req, struct s3_response *resp,
	  struct strata_error **err)
{
	memset(resp, 0, sizeof(*resp));
	cleanup_free char *query = s3_canonical_query(req->params, req->n_params);
	cleanup_free char *url = s3_url(c, req->key, query);
	unsigned delay_ms = 100;
	for (int i = 1;; i++) {
		struct xfer x = { 0 };
		response_reset(resp);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CURLcode rc = attempt(c, req, url, resp, &x);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		LOG_DEBUG("S3 %s %s: %ld (%s) %.1f ms", req->method, url, resp->status, curl_easy_strerror(rc),
			  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		bool retry = req->idempotent && i < S3_ATTEMPTS &&
			     ((rc != CURLE_OK && !x.overflow && !x.read_errno) ||
			      (rc == CURLE_OK && resp->status >= 500));
		if (rc == CURLE_OK) {
			resp->body = strata_buf_detach(&x.body, &resp->body_len);
			if (resp->status < 200 || resp->status >= 300)
				parse_error_body(resp);
		} else {
			strata_buf_release(&x.body);
		}
		if (retry) {
			usleep(delay_ms * 1000);
			delay_ms *= 2;
			continue;
		}
		if (rc == CURLE_OK)
			return 0;
		const char *what = req->key ? req->key : c->cfg.bucket;
		if (x.overflow)
			return strata_error_makec(err, 0, 0, "S3 %s %s: the answer is larger than expected", req->method,
						 what);
		if (x.read_errno)
			return strata_error_make(err, x.read_errno, "S3 %s %s: read the request body", req->method,
						 what);
		return strata_error_makec(err, 0, 0, "S3 %s %s/%s: %s%s", req->method, c->cfg.endpoint, what,
					 curl_easy_strerror(rc), i > 1 ? " (after retries)" : "");
	}
}

void s3_response_release(struct s3_response *r)
{
	free(r->body);
	free(r->etag);
	free(r->code);
	free(r->message);
	r->body = r->etag = r->code = r->message = NULL;
}

int s3_error(const struct s3_request *req, const struct s3_response *resp, struct strata_error **err)
{
	const char *what = req->key ? req->key : "(bucket)";
	if (resp->code)
		return strata_error_makec(err, resp->status == 404 ? STRATA_E_NOTFOUND : 0, 0, "S3 %s %s: %ld %s%s%s",
					 req->method, what, resp->status, resp->code, resp->message ? ": " : "",
					 resp->message ? resp->message : "");
	return strata_error_makec(err, resp->status == 404 ? STRATA_E_NOTFOUND : 0, 0, "S3 %s %s: HTTP %ld", req->method, what,
				 resp->status);
}
