/*
 * internal.h — pieces shared by the files of registry/client and tested by
 * the unit tests. Not part of the boundary (registry/client.h).
 */
#ifndef STRATA_REGISTRY_CLIENT_INTERNAL_H
#define STRATA_REGISTRY_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "registry/client.h"

/* ---- WWW-Authenticate (RFC 7235) ---- */
#define RC_CHALLENGE_PARAMS 8
struct rc_challenge {
	char *scheme;                     /* "bearer", "basic" (lower case) */
	char *keys[RC_CHALLENGE_PARAMS];  /* lower case */
	char *vals[RC_CHALLENGE_PARAMS];
	size_t n;
};
/* Parse one header value holding one or more challenges. @return count (>= 0) or -1. */
int rc_challenges_parse(const char *s, struct rc_challenge *out, size_t max, struct strata_error **err);
void rc_challenge_release(struct rc_challenge *c);
const char *rc_challenge_param(const struct rc_challenge *c, const char *key);

/* ---- Link: <url>; rel="next" ---- */
/* @return newly allocated URL of rel="next", or NULL. */
char *rc_link_next(const char *link);

/* ---- registry error bodies ---- */
/*
 * Make an error for a failed response: "CODE: message" from the JSON body
 * {"errors":[{"code","message"}]}, else "HTTP status N". Category from the
 * status and code. @return -1.
 */
struct rc_resp;
/* rc_error_from_response of resp, with its auth note (who refused, what was sent, the fix). @return -1. */
int rc_resp_error(const struct rc_resp *resp, const char *fallback_code, struct strata_error **err);
int rc_error_from_response(long status, const char *body, size_t len, const char *fallback_code,
			   struct strata_error **err);

/* ---- config.json ---- */
/* The key docker uses in auths for host ("https://index.docker.io/v1/" for docker.io). */
const char *rc_config_key(const char *host);
/* Normalise an auths key ("https://host/v1/" -> "host"). Newly allocated. */
char *rc_docker_config_dir(const char *dir);

/* base64 of n bytes (newly allocated) / decode (newly allocated, NUL-terminated). */
char *rc_base64(const void *p, size_t n);
int rc_unbase64(const char *s, char **out, size_t *len);

/* ---- transport ---- */
struct rc_token {
	char *scope;
	char *token;
	time_t expires;
	struct rc_token *next;
};

struct rc_host {
	char *host;         /* as in references: "127.0.0.1:5000" */
	char *base;         /* "https://host" once known, else NULL */
	bool insecure;
	bool creds_loaded;
	bool basic;         /* the registry asked for Basic */
	struct regclient_cred cred;
	struct rc_token *tokens;
	struct rc_host *next;
};

struct regclient {
	struct regclient_opts o;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock; /* hosts, tokens, credentials */
	pthread_mutex_t probe_lock; /* one https-or-http probe per host, not one per thread */
	pthread_mutex_t token_lock; /* serialises token fetches */
	struct rc_host *hosts;
	struct regclient_stats stats; /* atomics */
};

struct rc_resp {
	long status;
	struct strata_buf body;   /* capped; error bodies and small documents */
	char *location, *digest, *content_type, *link, *range, *retry_after, *content_range;
	char *www_auth;           /* every WWW-Authenticate value, joined with ", " */
	long long chunk_min;      /* OCI-Chunk-Min-Length or -1 */
	long long content_length; /* -1 unknown */
	CURLcode cerr;
	char errbuf[CURL_ERROR_SIZE];
	char *auth_note;          /* a final 401/403: who refused, what was sent (rc_do) */
};
void rc_resp_init(struct rc_resp *r, size_t max);
void rc_resp_reset(struct rc_resp *r);
void rc_resp_release(struct rc_resp *r);

struct rc_req {
	const char *method;            /* GET HEAD PUT POST PATCH DELETE */
	const char *url;               /* absolute */
	const char *accept;
	const char *content_type;
	const char *range;             /* "bytes=N-" */
	const char *content_range;     /* "A-B" */
	const void *body;              /* memory body */
	size_t body_len;
	int body_fd;                   /* or a file body: pread at body_off, body_len bytes; -1 none */
	uint64_t fd_off, fd_len;
	bool follow;                   /* follow redirects (blob GET) */
	bool no_retry;                 /* the caller handles retries */
	const char *scope;             /* token scope(s), space separated; NULL: none */
	/* 2xx bodies go here when set (else into resp.body) */
	int (*on_data)(void *ctx, const void *p, size_t n, struct strata_error **err);
	void *data_ctx;
	const struct regclient_progress *prog;
	const char *prog_id;
	uint64_t prog_base, prog_total;
};

/* Host state, created on first use. */
struct rc_host *rc_host_get(struct regclient *c, const char *host);
/* "https://host" or "http://host", probing https first for insecure hosts. */
int rc_host_base(struct regclient *c, struct rc_host *h, struct strata_error **err);
/* true for localhost, 127.0.0.0/8, ::1 and the configured insecure hosts. */
bool rc_host_is_insecure(const struct regclient_opts *o, const char *host);

/*
 * Perform req with authentication (Bearer token flow / Basic, one new
 * challenge answered per call) and retries with backoff on 429/5xx/connection
 * errors (unless req->no_retry). The response (any HTTP status) is in resp;
 * @return 0 when a response was received, -1 on a transport error.
 */
int rc_do(struct regclient *c, struct rc_host *h, const struct rc_req *req, struct rc_resp *resp,
	  struct strata_error **err);
/* One attempt, no auth handling. */
int rc_perform(struct regclient *c, struct rc_host *h, const struct rc_req *req, const char *authz,
	       struct rc_resp *resp, struct strata_error **err);
bool rc_curl_transient(CURLcode cc);
/*
 * Is an HTTP status worth retrying: 429 and 5xx, except 501/505 (the
 * registry cannot do it) and 507 (its storage is full: a retry seconds
 * later would send the same bytes into the same full disk).
 */
bool rc_status_transient(long st);
/* A transport failure (a CURLcode and curl's words) as a few words a user
 * acts on: "connection refused (nothing listens there)", "DNS lookup
 * failed (no such host)", "TLS failed: ...", "timed out (...)". Newly allocated. */
char *rc_transport_failure(int code, int os_errno, const char *why);
void rc_backoff(const struct regclient *c, int attempt, const char *retry_after);

/* Resolve a Location (absolute or relative to base). Newly allocated. */
char *rc_resolve_url(const char *base, const char *loc);
/* Percent-encode a query value. Newly allocated. */
char *rc_query_escape(const char *s);

#endif
