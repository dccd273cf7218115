/*
 * http.c — the libmicrohttpd daemon: start/stop, the request lifecycle
 * (first call: route, authenticate, validate, open the body; body calls:
 * stream; final call: answer), routing of /v2/ paths and the response
 * helpers every route uses.
 */
#include "registry/server/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- response helpers ---- */

void reg_add_header(struct MHD_Response *resp, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *v = xvasprintf(fmt, ap);
	va_end(ap);
	MHD_add_response_header(resp, name, v);
}

enum MHD_Result reg_reply(struct reg_req *q, unsigned status, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Docker-Distribution-API-Version", REG_API_VERSION);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"strata\"");
	q->status = status;
	q->responded = true;
	if (!strcmp(q->method, "HEAD"))
		q->bytes_out = 0;
	enum MHD_Result ret = MHD_queue_response(q->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result reg_reply_empty(struct reg_req *q, unsigned status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	q->bytes_out = 0;
	return reg_reply(q, status, resp);
}

enum MHD_Result reg_reply_json(struct reg_req *q, unsigned status, json_t *body, const char *ctype)
{
	size_t len = 0;
	char *s = strata_json_dump(body, &len);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", ctype ? ctype : "application/json");
	q->bytes_out = len;
	return reg_reply(q, status, resp);
}

enum MHD_Result reg_reply_error(struct reg_req *q, unsigned status, const char *code, const char *fmt,
				...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	cleanup_json json_t *body = json_pack("{s:[{s:s,s:s,s:o}]}", "errors", "code", code, "message", msg,
					       "detail", json_object());
	if (q->name && q->ref)
		json_object_set_new(json_object_get(json_array_get(json_object_get(body, "errors"), 0),
						     "detail"),
				    q->route == R_UPLOAD ? "uuid" : "reference", json_string(q->ref));
	return reg_reply_json(q, status, body, "application/json");
}

enum MHD_Result reg_reply_internal(struct reg_req *q, struct strata_error *err)
{
	cleanup_free char *s = strata_error_string(err);
	strata_error_free(err);
	LOG_ERROR("%s %s: %s", q->method, q->url, s);
	return reg_reply_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error");
}

const char *reg_header(struct reg_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *reg_arg(struct reg_req *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

static ssize_t never_called(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

struct MHD_Response *reg_response_head(uint64_t size)
{
	return MHD_create_response_from_callback(size, 4096, never_called, NULL, NULL);
}

int reg_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

static void url_encode(struct strata_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '/')
			strata_buf_addch(b, (char)*p);
		else
			strata_buf_addf(b, "%%%02X", *p);
	}
}

void reg_add_link(struct MHD_Response *resp, const char *path, uint64_t n, const char *last)
{
	cleanup_buf struct strata_buf b = STRATA_BUF_INIT;
	strata_buf_addf(&b, "</v2/%s?n=%llu&last=", path, (unsigned long long)n);
	url_encode(&b, last);
	strata_buf_adds(&b, ">; rel=\"next\"");
	MHD_add_response_header(resp, "Link", b.data);
}

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
			if (cl && reg_parse_u64(cl, &n) == 0 && n > REG_MANIFEST_MAX)
				return reg_reply_error(q, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
						       "manifest is larger than %u bytes",
						       REG_MANIFEST_MAX);
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

/* Once answered, an upload's session is free for the client's next request. */
static enum MHD_Result after(struct reg_req *q, enum MHD_Result ret)
{
	if (q->responded && q->route == R_UPLOAD)
		reg_upload_done(q);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
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
		 * final call (keep-alive); requests with one are checked now, so
		 * that a refused upload is not read at all.
		 */
		if (!strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "DELETE"))
			return MHD_YES;
		q->checked = true;
		return after(q, first_call(q, url));
	}
	if (q->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		body_data(q, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!q->checked) {
		q->checked = true;
		return after(q, first_call(q, q->url));
	}
	return after(q, final_call(q));
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
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

/* ---- daemon ---- */

static void close_db(void *p)
{
	sqlite3_close(p);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
		      struct strata_error **err)
{
	cleanup_free char *host = NULL;
	const char *port;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "invalid address '%s': expected [HOST]:PORT", addr);
		host = xstrndup(addr + 1, (size_t)(end - addr - 1));
		port = end + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (!colon)
			return strata_error_makec(err, STRATA_E_USAGE, 0,
						  "invalid address '%s': expected HOST:PORT", addr);
		host = xstrndup(addr, (size_t)(colon - addr));
		port = colon + 1;
	}
	uint64_t p;
	if (reg_parse_u64(port, &p) < 0 || p > 65535)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid address '%s': bad port", addr);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(*host ? host : "0.0.0.0", port, &hints, &res);
	if (rc != 0)
		return strata_error_makec(err, STRATA_E_USAGE, 0, "invalid address '%s': %s", addr,
					  gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void free_registry(struct registry *r)
{
	if (!r)
		return;
	reg_sessions_free(r);
	reg_auth_free(r->auth);
	pthread_key_delete(r->db_key);
	pthread_mutex_destroy(&r->lock);
	free(r->root);
	free(r->blobs_dir);
	free(r->uploads_dir);
	free(r->db_path);
	free(r->tls_cert_pem);
	free(r->tls_key_pem);
	free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	cleanup_free char *s = xvasprintf(fmt, ap);
	size_t n = strlen(s);
	while (n && s[n - 1] == '\n')
		s[--n] = '\0';
	LOG_WARN("http: %s", s);
}

int registry_server_start(const struct registry_server_config *cfg, struct registry_server **out,
			  struct strata_error **err)
{
	struct registry *r = xcalloc(1, sizeof(*r));
	r->cfg = *cfg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_key_create(&r->db_key, close_db);
	r->root = xstrdup(cfg->root);
	r->blobs_dir = strata_path_join(r->root, "blobs");
	r->uploads_dir = strata_path_join(r->root, "uploads");
	r->db_path = strata_path_join(r->root, "meta.db");
	if (!r->cfg.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		r->cfg.threads = n < 2 ? 2 : (unsigned)n;
	}
	if (!r->cfg.max_connections)
		r->cfg.max_connections = 512;
	if (!r->cfg.timeout)
		r->cfg.timeout = 60;
	if (!r->cfg.max_uploads)
		r->cfg.max_uploads = 128;

	sqlite3 *db = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	if (strata_mkdir_p(r->blobs_dir, 0755, err) < 0 || strata_mkdir_p(r->uploads_dir, 0755, err) < 0 ||
	    reg_meta_open(r->db_path, &db, err) < 0)
		goto fail;
	sqlite3_close(db);
	if ((cfg->htpasswd || cfg->auth_config) &&
	    reg_auth_load(cfg->htpasswd, cfg->auth_config, &r->auth, err) < 0)
		goto fail;
	if (parse_addr(cfg->addr ? cfg->addr : "127.0.0.1:5000", &ss, &sslen, err) < 0)
		goto fail;

	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert || cfg->tls_key) {
		if (!cfg->tls_cert || !cfg->tls_key) {
			strata_error_makec(err, STRATA_E_USAGE, 0, "--tls-cert and --tls-key go together");
			goto fail;
		}
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			strata_error_make(err, 0, "libmicrohttpd was built without TLS support");
			goto fail;
		}
		struct strata_buf c = STRATA_BUF_INIT, k = STRATA_BUF_INIT;
		if (strata_read_file(cfg->tls_cert, &c, 1 << 20, err) < 0 ||
		    strata_read_file(cfg->tls_key, &k, 1 << 20, err) < 0) {
			strata_buf_release(&c);
			strata_buf_release(&k);
			goto fail;
		}
		r->tls_cert_pem = strata_buf_detach(&c, NULL);
		r->tls_key_pem = strata_buf_detach(&k, NULL);
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, &ss },
		{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)r->cfg.threads, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)r->cfg.max_connections, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)r->cfg.timeout, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, r },
		{ MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
		{ r->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, r->tls_cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, r->tls_key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	r->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, r, MHD_OPTION_EXTERNAL_LOGGER,
				     mhd_log, NULL, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!r->daemon) {
		strata_error_make(err, errno, "listen on '%s'", cfg->addr ? cfg->addr : "127.0.0.1:5000");
		goto fail;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info ? info->port : 0;
	*out = (struct registry_server *)r;
	return 0;
fail:
	free_registry(r);
	return -1;
}

unsigned registry_server_port(const struct registry_server *s)
{
	return ((const struct registry *)s)->port;
}

void registry_server_stop(struct registry_server *s, unsigned grace_ms)
{
	struct registry *r = (struct registry *)s;
	if (!r)
		return;
	MHD_socket ls = MHD_quiesce_daemon(r->daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	/* wait for requests in flight; idle keep-alive connections are just closed */
	for (unsigned waited = 0; waited < grace_ms; waited += 20) {
		pthread_mutex_lock(&r->lock);
		unsigned n = r->inflight;
		pthread_mutex_unlock(&r->lock);
		if (n == 0)
			break;
		usleep(20 * 1000);
	}
	MHD_stop_daemon(r->daemon);
	free_registry(r);
}
