/*
 * s3.h — a small S3 client: what the registry's S3 blob store
 * (registry/server/blobstore_s3.c) needs and nothing more.
 *
 *   url.c     s3://BUCKET?endpoint=URL&region=R[&prefix=P] and the
 *             credentials (environment, shared credentials file)
 *   sign.c    SigV4 pieces done here: URI and query canonicalisation,
 *             query-string presigning (libcrypto HMAC-SHA256)
 *   xml.c     the minimal XML reading S3 answers need
 *   client.c  requests through libcurl (CURLOPT_AWS_SIGV4 signs them),
 *             path-style addressing, bounded retries, error bodies
 *   objects.c HEAD/GET/PUT/DELETE, copies, multipart concatenation, listing
 *
 * Thread-safe: a client may be used by any number of threads at once (one
 * easy handle per request, a shared connection cache).
 */
#ifndef STRATA_S3_S3_H
#define STRATA_S3_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/util.h"

/* ---- configuration (url.c) ---- */
struct s3_config {
	char *bucket;
	char *endpoint;   /* scheme://host[:port], no trailing slash */
	char *region;
	char *prefix;     /* "" or "a/b" (no leading or trailing '/') */
	char *access_key, *secret_key, *session_token; /* session_token may be NULL */
};

/* Is s an s3:// URL (the --storage syntax)? */
bool s3_is_url(const char *s);
/*
 * Parse s3://BUCKET?endpoint=URL&region=R[&prefix=P] (values may be
 * percent-encoded). Errors name the field. Credentials are not loaded.
 * @return 0 or -1 (STRATA_E_USAGE).
 */
int s3_url_parse(const char *url, struct s3_config *out, struct strata_error **err);
/*
 * Credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 * when both are set, else the profile AWS_PROFILE (default "default") of
 * AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials). @return 0 or -1.
 */
int s3_credentials_load(struct s3_config *c, struct strata_error **err);
/* Parse one profile of a shared credentials file's text (path for errors). @return 1, 0 profile absent, -1 */
int s3_credentials_parse(const char *text, const char *path, const char *profile, struct s3_config *c,
			 struct strata_error **err);
void s3_config_release(struct s3_config *c);

/* ---- signing (sign.c) ---- */
/* A query parameter (value "" is written "name="). */
struct s3_param {
	const char *name, *value;
};
/* AWS URI-encode s: unreserved kept, everything else %XX; '/' kept when keep_slash. */
char *s3_uri_encode(const char *s, bool keep_slash);
/* The canonical query string of n parameters: encoded, sorted by name then value. */
char *s3_canonical_query(const struct s3_param *p, size_t n);
/*
 * A presigned URL (SigV4 query signing, UNSIGNED-PAYLOAD, signed header
 * host): method on scheme://host + path (path already URI-encoded) valid
 * for expires seconds from t.
 */
char *s3_presign(const char *method, const char *scheme, const char *host, const char *path,
		 const char *region, const char *access_key, const char *secret_key,
		 const char *session_token, time_t t, unsigned expires);

/* ---- XML (xml.c) ---- */
/*
 * The next element <tag>...</tag> (or <tag/>, or with attributes) in
 * [*pos, end): @return true with [*inner, *inner_end) its content and *pos
 * after it. Elements of the same name must not nest (true of S3's answers).
 */
bool s3_xml_next(const char **pos, const char *end, const char *tag, const char **inner,
		 const char **inner_end);
/* The decoded text of the first <tag> in [p, end), or NULL. Entities and CDATA are decoded. */
char *s3_xml_text(const char *p, const char *end, const char *tag);

/* ---- requests (client.c) ---- */
struct s3_client;

int s3_client_new(const struct s3_config *c, struct s3_client **out, struct strata_error **err);
void s3_client_free(struct s3_client *c);
const struct s3_config *s3_client_config(const struct s3_client *c);

/* Where a request's body comes from: nothing, memory, or [off, off + len) of fd. */
struct s3_body {
	const void *mem;
	int fd;          /* -1: none / memory */
	uint64_t off, len;
};

struct s3_request {
	const char *method;
	const char *key;                 /* object key (prefix included); NULL: the bucket */
	const struct s3_param *params;
	size_t n_params;
	const char *const *headers;      /* "Name: value", NULL-terminated; may be NULL */
	struct s3_body body;             /* zeroed with fd = -1: none */
	/* The 2xx answer's body: into buf (at most cap bytes, more is an error) ... */
	char *buf;
	size_t cap;
	/* ... or, when collect, into resp->body (capped at 64 MiB) */
	bool collect;
	bool idempotent;                 /* retried on network errors and 5xx */
};

struct s3_response {
	long status;
	char *body;              /* collected 2xx body, or the error body (NUL-terminated) */
	size_t body_len;
	size_t got;              /* bytes written into req.buf */
	uint64_t content_length; /* Content-Length, or the total of a Content-Range */
	bool has_length;
	bool length_is_total;    /* content_length came from a Content-Range (the object's size) */
	int64_t last_modified;   /* Last-Modified (seconds), 0 when absent */
	char *etag;              /* ETag (quotes kept), or NULL */
	char *code, *message;    /* an error answer's <Code> and <Message> */
};

/*
 * Send a request (retried when idempotent). @return 0 with resp filled
 * (whatever the status; release it), -1 on a network error or an
 * oversized answer.
 */
int s3_do(struct s3_client *c, const struct s3_request *req, struct s3_response *resp,
	  struct strata_error **err);
void s3_response_release(struct s3_response *r);
/* An error for a non-2xx answer: "S3 GET KEY: 403 AccessDenied: message". @return -1 */
int s3_error(const struct s3_request *req, const struct s3_response *resp, struct strata_error **err);
/* The path-style URL of key (NULL: the bucket) with the given query (may be NULL or ""). */
char *s3_url(const struct s3_client *c, const char *key, const char *query);
/* A presigned GET URL of key valid for expires seconds. */
char *s3_presign_get(const struct s3_client *c, const char *key, unsigned expires);
/* Parse an HTTP date or an ISO 8601 time (LastModified). @return seconds, or 0 */
int64_t s3_parse_time(const char *s);

/* ---- object operations (objects.c); keys include any prefix ---- */
/* A request with the defaults: no parameters, no body, idempotent. */
struct s3_request s3_request_init(const char *method, const char *key);
/*
 * Send rq (a GET) for [off, off + want) of its key into buf, which takes
 * at most cap bytes (S3 may ignore the range and answer 200 with the whole
 * object). @return as s3_do (rq stays usable for s3_error).
 */
int s3_do_range(struct s3_client *c, struct s3_request *rq, uint64_t off, size_t want, char *buf, size_t cap,
		struct s3_response *rs, struct strata_error **err);
/* @return 1 (size, mtime set; either may be NULL), 0 absent, -1 */
int s3_head(struct s3_client *c, const char *key, uint64_t *size, int64_t *mtime, struct strata_error **err);
/* GET [off, off + len) into buf (len > 0). @return bytes (short at the end; 0 past it), -1 (absent too) */
ssize_t s3_get(struct s3_client *c, const char *key, uint64_t off, size_t len, char *buf,
	       struct strata_error **err);
/* PUT [off, off + len) of fd, or of mem when fd < 0; *etag (may be NULL) newly allocated. @return 0 or -1 */
int s3_put(struct s3_client *c, const char *key, int fd, const void *mem, uint64_t off, uint64_t len,
	   char **etag, struct strata_error **err);
/* DELETE (absent is success). @return 0 or -1 */
int s3_delete(struct s3_client *c, const char *key, struct strata_error **err);
/* dst = src (size bytes): CopyObject, or over 5 GiB through this process. @return 0 or -1 */
int s3_copy(struct s3_client *c, const char *src, const char *dst, uint64_t size, struct strata_error **err);
/* A whole object (key) of len bytes, as one part of s3_concat (off: for readers). */
struct s3_segment {
	char *key;
	uint64_t off, len;
};
/*
 * dst = the concatenation of n whole objects (each but the last >= 5 MiB,
 * each <= 5 GiB): a multipart upload of server-side part copies, atomic
 * at CompleteMultipartUpload; aborted on failure. @return 0 or -1
 */
int s3_concat(struct s3_client *c, const char *dst, const struct s3_segment *seg, size_t n,
	      struct strata_error **err);
/* AbortMultipartUpload (absent is success). @return 0 or -1 */
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id, struct strata_error **err);
/* One listed object. */
struct s3_object {
	char *key;
	uint64_t size;
	int64_t mtime;
};
typedef int (*s3_object_fn)(void *ud, const struct s3_object *o, struct strata_error **err);
/* Every object whose key starts with prefix, in key order; non-zero from fn stops and is returned. */
int s3_list(struct s3_client *c, const char *prefix, s3_object_fn fn, void *ud, struct strata_error **err);

#endif
