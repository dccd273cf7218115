/*
 * response.c — helpers every route uses to answer: queue a response with
 * the common headers, JSON error bodies of the distribution spec, HEAD
 * responses with a Content-Length, pagination Link headers; request
 * header and query lookups.
 */
#include "registry/server/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

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
	if (q->may_defer) {
		q->deferred = resp;
		return MHD_YES;
	}
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
	/* messages quote client bytes, which may not be UTF-8: jansson refuses those */
	cleanup_free char *safe = reg_escape(msg, false);
	cleanup_json json_t *body = json_pack("{s:[{s:s,s:s,s:o}]}", "errors", "code", code, "message", safe,
					       "detail", json_object());
	if (q->name && q->ref) {
		cleanup_free char *ref = reg_escape(q->ref, false);
		json_object_set_new(json_object_get(json_array_get(json_object_get(body, "errors"), 0),
						     "detail"),
				    q->route == R_UPLOAD ? "uuid" : "reference", json_string(ref));
	}
	return reg_reply_json(q, status, body, "application/json");
}

enum MHD_Result reg_reply_internal(struct reg_req *q, struct strata_error *err)
{
	cleanup_free char *s = strata_error_string(err);
	int errnum = strata_error_errnum(err);
	strata_error_free(err);
	cleanup_free char *url = reg_escape(q->url, false);
	LOG_ERROR("%s %s: %s", q->method, url, s);
	if (errnum == ENOSPC || errnum == EDQUOT)
		return reg_reply_error(q, MHD_HTTP_INSUFFICIENT_STORAGE,
				       q->route == R_UPLOAD ? "BLOB_UPLOAD_INVALID" : "UNKNOWN",
				       "no space left on the registry's storage");
	return reg_reply_error(q, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error");
}

char *reg_escape(const char *s, bool quotes)
{
	if (!s)
		return xstrdup("");
	size_t n = strlen(s);
	char *out = xmalloc(4 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || (quotes && (*p == '"' || *p == '\\'))) {
			static const char hx[] = "0123456789abcdef";
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hx[*p >> 4];
			*o++ = hx[*p & 15];
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
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

int reg_parse_u64_sat(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
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

