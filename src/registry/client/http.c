/*
 * http.c — the transport: one libcurl easy handle per request, all sharing
 * the client's CURLSH (connections, DNS, TLS sessions) so connections are
 * reused across requests and threads; HTTP/2 over TLS where offered;
 * capped in-memory bodies; retries with exponential backoff and full jitter
 * on 429 (Retry-After honoured), 5xx and connection errors.
 */
#include "registry/client/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "oci/oci.h"

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ctx)
{
	(void)h;
	(void)acc;
	struct regclient *c = ctx;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	(void)h;
	struct regclient *c = ctx;
	pthread_mutex_unlock(&c->share_locks[data]);
}

int regclient_new(const struct regclient_opts *opts, struct regclient **out, struct strata_error **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);
	struct regclient *c = xcalloc(1, sizeof(*c));
	if (opts) {
		c->o = *opts;
		c->o.insecure = xcalloc(opts->n_insecure + 1, sizeof(char *));
		for (size_t i = 0; i < opts->n_insecure; i++)
			c->o.insecure[i] = xstrdup(opts->insecure[i]);
		c->o.ca_file = xstrdup_or_null(opts->ca_file);
		c->o.docker_config = xstrdup_or_null(opts->docker_config);
	}
	if (!c->o.connect_timeout)
		c->o.connect_timeout = 30;
	if (!c->o.stall_timeout)
		c->o.stall_timeout = 60;
	if (!c->o.max_retries)
		c->o.max_retries = 4;
	if (c->o.max_retries < 0)
		c->o.max_retries = 0;
	if (!c->o.retry_base_ms)
		c->o.retry_base_ms = 200;
	if (c->o.parallel <= 0)
		c->o.parallel = 4;
	if (!c->o.resume_attempts)
		c->o.resume_attempts = 5;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->probe_lock, NULL);
	pthread_mutex_init(&c->token_lock, NULL);
	c->share = curl_share_init();
	if (!c->share) {
		regclient_free(c);
		return strata_error_makec(err, STRATA_E_REGISTRY, 0, "cannot create a curl share handle");
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = c;
	return 0;
}

void regclient_free(struct regclient *c)
{
	if (!c)
		return;
	if (c->share)
		curl_share_cleanup(c->share);
	for (struct rc_host *h = c->hosts, *hn; h; h = hn) {
		hn = h->next;
		for (struct rc_token *t = h->tokens, *tn; t; t = tn) {
			tn = t->next;
			free(t->scope);
			free(t->token);
			free(t);
		}
		regclient_cred_release(&h->cred);
		free(h->host);
		free(h->base);
		free(h);
	}
	regclient_opts_release(&c->o);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->probe_lock);
	pthread_mutex_destroy(&c->token_lock);
	free(c);
}

int regclient_parallel(const struct regclient *c)
{
	return c->o.parallel;
}

void regclient_opts_add_insecure(struct regclient_opts *o, const char *host)
{
	o->insecure = xreallocarray(o->insecure, o->n_insecure + 2, sizeof(char *));
	o->insecure[o->n_insecure++] = xstrdup(host);
	o->insecure[o->n_insecure] = NULL;
}

void regclient_opts_release(struct regclient_opts *o)
{
	for (size_t i = 0; i < o->n_insecure; i++)
		free(o->insecure[i]);
	free(o->insecure);
	free(o->ca_file);
	free(o->docker_config);
	o->insecure = NULL;
	o->n_insecure = 0;
	o->ca_file = o->docker_config = NULL;
}

int regclient_opts_load_env(struct regclient_opts *o, struct strata_error **err)
{
	const char *vl = getenv("STRATA_TLS_VERIFY_LOOPBACK");
	if (vl && !strcmp(vl, "1"))
		o->verify_loopback = true;
	const char *env = getenv("STRATA_INSECURE_REGISTRIES");
	if (env && *env) {
		cleanup_free char *copy = xstrdup(env);
		char *save = NULL;
		for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
			regclient_opts_add_insecure(o, t);
	}
	cleanup_free char *path = NULL;
	const char *p = getenv("STRATA_REGISTRIES_CONF");
	if (p && *p) {
		path = xstrdup(p);
	} else {
		const char *x = getenv("XDG_CONFIG_HOME");
		const char *h = getenv("HOME");
		if (x && *x)
			path = xasprintf("%s/strata/registries.conf", x);
		else if (h && *h)
			path = xasprintf("%s/.config/strata/registries.conf", h);
		else
			return 0;
	}
	if (!strata_path_exists(path))
		return 0;
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	if (strata_read_file(path, &b, 1 << 20, err) < 0)
		return -1;
	int line = 0;
	char *save = NULL;
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		char *hash = strchr(l, '#');
		if (hash)
			*hash = 0;
		char *s2 = NULL;
		char *k = strtok_r(l, " \t\r", &s2);
		if (!k)
			continue;
		char *v = strtok_r(NULL, " \t\r", &s2);
		if (strcmp(k, "insecure") || !v || strtok_r(NULL, " \t\r", &s2))
			return strata_error_makec(err, STRATA_E_CONFIG, 0,
						  "%s:%d: expected 'insecure HOST'", path, line);
		regclient_opts_add_insecure(o, v);
	}
	return 0;
}

static bool host_is_loopback(const char *host)
{
	/* strip the port: "[::1]:5000", "127.0.0.1:5000", "localhost" */
	char name[256];
	if (host[0] == '[') {
		const char *e = strchr(host, ']');
		if (!e || (size_t)(e - host) >= sizeof(name))
			return false;
		snprintf(name, sizeof(name), "%.*s", (int)(e - host - 1), host + 1);
	} else {
		const char *colon = strrchr(host, ':');
		size_t n = colon ? (size_t)(colon - host) : strlen(host);
		if (n >= sizeof(name))
			return false;
		snprintf(name, sizeof(name), "%.*s", (int)n, host);
	}
	if (!strcasecmp(name, "localhost") || !strcmp(name, "::1"))
		return true;
	struct in_addr a;
	if (inet_pton(AF_INET, name, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return false;
}

bool rc_host_is_insecure(const struct regclient_opts *o, const char *host)
{
	if (!o->verify_loopback && host_is_loopback(host))
		return true;
	for (size_t i = 0; i < o->n_insecure; i++) {
		const char *e = o->insecure[i];
		if (!strcasecmp(e, host))
			return true;
		/* an entry without a port matches every port of that host */
		size_t n = strlen(e);
		if (!strchr(e, ':') && !strncasecmp(e, host, n) && host[n] == ':')
			return true;
	}
	return false;
}

struct rc_host *rc_host_get(struct regclient *c, const char *host)
{
	pthread_mutex_lock(&c->lock);
	struct rc_host *h;
	for (h = c->hosts; h; h = h->next)
		if (!strcmp(h->host, host))
			break;
	if (!h) {
		h = xcalloc(1, sizeof(*h));
		h->host = xstrdup(host);
		h->insecure = rc_host_is_insecure(&c->o, host);
		h->next = c->hosts;
		c->hosts = h;
	}
	pthread_mutex_unlock(&c->lock);
	return h;
}

void regclient_set_credentials(struct regclient *c, const char *host, const char *user, const char *secret)
{
	struct rc_host *h = rc_host_get(c, host);
	pthread_mutex_lock(&c->lock);
	regclient_cred_release(&h->cred);
	h->cred.user = xstrdup_or_null(user);
	h->cred.secret = xstrdup_or_null(user ? secret : NULL);
	h->cred.source = xstrdup("given to this command");
	h->creds_loaded = true;
	pthread_mutex_unlock(&c->lock);
}

int rc_host_base(struct regclient *c, struct rc_host *h, struct strata_error **err)
{
	pthread_mutex_lock(&c->lock);
	bool known = h->base != NULL;
	pthread_mutex_unlock(&c->lock);
	if (known)
		return 0;
	const char *api = oci_ref_api_host(h->host);
	cleanup_free char *https = xasprintf("https://%s", api);
	if (!h->insecure) {
		pthread_mutex_lock(&c->lock);
		if (!h->base)
			h->base = STRATA_STEAL(https);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	/* insecure host: https first, http when https does not answer; parallel
	 * transfers wait for one probe instead of each sending their own */
	pthread_mutex_lock(&c->probe_lock);
	pthread_mutex_lock(&c->lock);
	known = h->base != NULL;
	pthread_mutex_unlock(&c->lock);
	if (known) {
		pthread_mutex_unlock(&c->probe_lock);
		return 0;
	}
	cleanup_free char *url = xasprintf("%s/v2/", https);
	struct rc_req req = { .method = "GET", .url = url, .body_fd = -1, .no_retry = true };
	struct rc_resp resp;
	rc_resp_init(&resp, REGCLIENT_ERRBODY_MAX);
	struct strata_error *e = NULL;
	char *chosen;
	/* base must be set for rc_perform's TLS policy; it is not used to build the URL */
	if (rc_perform(c, h, &req, NULL, &resp, &e) == 0) {
		chosen = STRATA_STEAL(https);
	} else {
		LOG_DEBUG("%s: https failed (%s), using http", h->host, e ? e->msg : "?");
		chosen = xasprintf("http://%s", api);
	}
	strata_error_free(e);
	rc_resp_release(&resp);
	pthread_mutex_lock(&c->lock);
	if (!h->base)
		h->base = chosen;
	else
		free(chosen);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->probe_lock);
	(void)err;
	return 0;
}

/* ---- responses ---- */

void rc_resp_init(struct rc_resp *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	strata_buf_init(&r->body, max);
	r->chunk_min = -1;
	r->content_length = -1;
}

static void resp_headers_clear(struct rc_resp *r)
{
	char **fields[] = { &r->location, &r->digest, &r->content_type, &r->link, &r->range,
			    &r->retry_after, &r->content_range, &r->www_auth };
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(fields); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
	r->chunk_min = -1;
	r->content_length = -1;
}

void rc_resp_reset(struct rc_resp *r)
{
	resp_headers_clear(r);
	free(r->auth_note);
	r->auth_note = NULL;
	strata_buf_reset(&r->body);
	r->status = 0;
	r->cerr = CURLE_OK;
	r->errbuf[0] = 0;
}

void rc_resp_release(struct rc_resp *r)
{
	resp_headers_clear(r);
	free(r->auth_note);
	r->auth_note = NULL;
	strata_buf_release(&r->body);
}

struct xfer {
	const struct rc_req *req;
	struct rc_resp *resp;
	struct strata_error *data_err; /* from on_data */
	bool overflow;
	uint64_t sent; /* file body position */
	uint64_t received;
};

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	struct rc_resp *r = x->resp;
	size_t len = size * n;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (redirect, 100 Continue): forget the previous headers */
		resp_headers_clear(r);
		const char *sp = memchr(buf, ' ', len);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t kl = (size_t)(colon - buf);
	const char *v = colon + 1;
	const char *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	char *val = xstrndup(v, (size_t)(end - v));
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "location", offsetof(struct rc_resp, location) },
		{ "docker-content-digest", offsetof(struct rc_resp, digest) },
		{ "content-type", offsetof(struct rc_resp, content_type) },
		{ "range", offsetof(struct rc_resp, range) },
		{ "retry-after", offsetof(struct rc_resp, retry_after) },
		{ "content-range", offsetof(struct rc_resp, content_range) },
	};
	for (size_t i = 0; i < STRATA_ARRAY_SIZE(map); i++) {
		if (strlen(map[i].name) == kl && !strncasecmp(buf, map[i].name, kl)) {
			char **f = (char **)((char *)r + map[i].off);
			free(*f);
			*f = val;
			return len;
		}
	}
	if (kl == 16 && !strncasecmp(buf, "www-authenticate", kl)) {
		char *j = r->www_auth ? xasprintf("%s, %s", r->www_auth, val) : xstrdup(val);
		free(r->www_auth);
		r->www_auth = j;
	} else if (kl == 4 && !strncasecmp(buf, "link", kl)) {
		char *j = r->link ? xasprintf("%s, %s", r->link, val) : xstrdup(val);
		free(r->link);
		r->link = j;
	} else if (kl == 20 && !strncasecmp(buf, "oci-chunk-min-length", kl)) {
		r->chunk_min = strtoll(val, NULL, 10);
	} else if (kl == 14 && !strncasecmp(buf, "content-length", kl)) {
		r->content_length = strtoll(val, NULL, 10);
	}
	free(val);
	return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	long st = x->resp->status;
	if (x->req->on_data && st >= 200 && st < 300) {
		if (x->req->on_data(x->req->data_ctx, p, len, &x->data_err) < 0)
			return 0;
		x->received += len;
		const struct regclient_progress *pg = x->req->prog;
		if (pg && pg->fn)
			pg->fn(pg->ctx, x->req->prog_id, x->req->prog_base + x->received, x->req->prog_total,
			       "downloading");
		return len;
	}
	if (strata_buf_add(&x->resp->body, p, len) < 0) {
		x->overflow = true;
		return 0;
	}
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	const struct rc_req *q = x->req;
	uint64_t left = q->fd_len - x->sent;
	size_t want = size * n;
	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	ssize_t r;
	do
		r = pread(q->body_fd, buf, want, (off_t)(q->fd_off + x->sent));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return CURL_READFUNC_ABORT;
	x->sent += (uint64_t)r;
	if (q->prog && q->prog->fn)
		q->prog->fn(q->prog->ctx, q->prog_id, q->prog_base + x->sent, q->prog_total, "uploading");
	return (size_t)r;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->req->fd_len)
		return CURL_SEEKFUNC_FAIL;
	x->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static void curl_easy_cleanupp(CURL **h)
{
	if (*h)
		curl_easy_cleanup(*h);
}

int rc_perform(struct regclient *c, struct rc_host *h, const struct rc_req *req, const char *authz,
	       struct rc_resp *resp, struct strata_error **err)
{
	__attribute__((cleanup(curl_easy_cleanupp))) CURL *e = curl_easy_init();
	if (!e)
		return strata_error_makec(err, STRATA_E_REGISTRY, 0, "cannot create a curl handle");
	struct xfer x = { .req = req, .resp = resp };
	rc_resp_reset(resp);
	struct curl_slist *hl = NULL;
	char line[512];

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->o.connect_timeout);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->o.stall_timeout);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, resp->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	if (h && h->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->o.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->o.ca_file);
	if (req->follow) {
		/* libcurl does not send a custom Authorization header to another host */
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	}

	hl = curl_slist_append(hl, "Expect:");
	if (req->accept) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		hl = curl_slist_append(hl, line);
	}
	if (req->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		hl = curl_slist_append(hl, line);
	}
	if (req->range) {
		snprintf(line, sizeof(line), "Range: %s", req->range);
		hl = curl_slist_append(hl, line);
	}
	if (req->content_range) {
		snprintf(line, sizeof(line), "Content-Range: %s", req->content_range);
		hl = curl_slist_append(hl, line);
	}
	if (authz) {
		cleanup_free char *a = xasprintf("Authorization: %s", authz);
		hl = curl_slist_append(hl, a);
	}

	const char *m = req->method;
	bool has_body = req->body || req->body_fd >= 0;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(m, "GET")) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (req->body_fd >= 0) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, &x);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, &x);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->fd_len);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	} else {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, has_body ? req->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(has_body ? req->body_len : 0));
		if (strcmp(m, "POST"))
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
		if (!req->content_type && strcmp(m, "POST"))
			hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
		else if (!req->content_type)
			hl = curl_slist_append(hl, "Content-Type:");
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);

	CURLcode cc = curl_easy_perform(e);
	curl_slist_free_all(hl);
	resp->cerr = cc;
	{
		/* count what crossed the wire, even for failed transfers */
		curl_off_t dl = 0, ul = 0;
		curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &dl);
		curl_easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &ul);
		__atomic_add_fetch(&c->stats.requests, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->stats.bytes_down, (uint64_t)(dl > 0 ? dl : 0), __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->stats.bytes_up, (uint64_t)(ul > 0 ? ul : 0), __ATOMIC_RELAXED);
		if (!strcmp(m, "GET") && strstr(req->url, "/blobs/sha256:"))
			__atomic_add_fetch(&c->stats.blob_bytes_down, (uint64_t)(dl > 0 ? dl : 0),
					   __ATOMIC_RELAXED);
	}
	if (x.data_err) {
		if (err)
			*err = x.data_err;
		else
			strata_error_free(x.data_err);
		return -1;
	}
	if (cc != CURLE_OK) {
		if (x.overflow)
			return strata_error_makec(err, STRATA_E_REGISTRY, 0,
						  "%s %s: response body larger than %zu bytes", m, req->url,
						  resp->body.max);
		const char *why = resp->errbuf[0] ? resp->errbuf : curl_easy_strerror(cc);
		LOG_DEBUG("%s %s: %s", m, req->url, why);
		/* one line: the host and what failed; the caller says what it was for */
		long oserr = 0;
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
		cleanup_free char *what = rc_transport_failure(cc, (int)oserr, why);
		const char *hp = strstr(req->url, "://");
		hp = hp ? hp + 3 : req->url;
		cleanup_free char *host = xstrndup(hp, strcspn(hp, "/"));
		/* OpenSSL's words for the two usual TLS mistakes say nothing of the fix */
		cleanup_free char *hint = NULL;
		/* a plain-http server answers a ClientHello with an HTTP error: OpenSSL
		 * reads it as "wrong version number", or sees the connection reset
		 * when the server closed with the hello unread */
		if (h && !h->insecure && cc == CURLE_SSL_CONNECT_ERROR)
			hint = xasprintf(" (the registry may serve plain http: mark it insecure with "
					 "--insecure-registry %s)", h->host);
		else if (h && !h->insecure && cc == CURLE_PEER_FAILED_VERIFICATION)
			hint = xasprintf(" (for a private CA use --tls-ca FILE, or mark the registry "
					 "insecure with --insecure-registry %s)", h->host);
		return strata_error_makec(err, STRATA_E_REGISTRY, 0, "registry %s: %s%s", host, what,
					  hint ? hint : "");
	}
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	resp->status = code;
	return 0;
}

char *rc_transport_failure(int code, int os_errno, const char *why)
{
	CURLcode cc = (CURLcode)code;
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT) {
		if (os_errno == ECONNREFUSED)
			return xstrdup("connection refused (nothing listens there)");
		if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
			return xstrdup("no route to host");
		if (os_errno == ETIMEDOUT)
			return xstrdup("connection timed out");
	}
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return xstrdup("DNS lookup failed (no such host)");
	case CURLE_COULDNT_CONNECT:
		if (strcasestr(why, "refused"))
			return xstrdup("connection refused (nothing listens there)");
		if (strcasestr(why, "timed out") || strcasestr(why, "timeout"))
			return xstrdup("connection timed out");
		if (strcasestr(why, "no route"))
			return xstrdup("no route to host");
		return xasprintf("could not connect (%s)", why);
	case CURLE_OPERATION_TIMEDOUT:
		return xasprintf("timed out (%s)", why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return xasprintf("TLS failed: %s", why);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return xasprintf("connection dropped (%s)", why);
	default:
		return xstrdup(why);
	}
}

bool rc_status_transient(long st)
{
	return st == 429 || (st >= 500 && st != 501 && st != 505 && st != 507);
}

bool rc_curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

void rc_backoff(const struct regclient *c, int attempt, const char *retry_after)
{
	long long ms = 0;
	if (retry_after && isdigit((unsigned char)*retry_after)) {
		ms = strtoll(retry_after, NULL, 10) * 1000;
		if (ms > 60000)
			ms = 60000;
	} else {
		long long cap = c->o.retry_base_ms << (attempt < 10 ? attempt : 10);
		if (cap > 10000)
			cap = 10000;
		unsigned int r = 0;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned int)getpid();
		ms = cap / 2 + (long long)(r % (unsigned int)(cap / 2 + 1)); /* jitter in [cap/2, cap] */
	}
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void regclient_stats_get(struct regclient *c, struct regclient_stats *out)
{
	out->requests = __atomic_load_n(&c->stats.requests, __ATOMIC_RELAXED);
	out->bytes_down = __atomic_load_n(&c->stats.bytes_down, __ATOMIC_RELAXED);
	out->bytes_up = __atomic_load_n(&c->stats.bytes_up, __ATOMIC_RELAXED);
	out->blob_bytes_down = __atomic_load_n(&c->stats.blob_bytes_down, __ATOMIC_RELAXED);
}
