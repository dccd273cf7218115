/*
 * internal.h — shared by the files of registry/server only (not a boundary).
 *
 *   daemon.c     registry_server_start/stop, the libmicrohttpd daemon
 *   http.c       request lifecycle and routing
 *   response.c   response helpers
 *   accesslog.c  one access log line per request
 *   metadata.h   the metadata interface; meta_sqlite.c its SQLite driver
 *   blobstore.h  the blob-store interface; blobstore_fs.c its filesystem driver,
 *                blobstore_s3.c its S3 driver (over s3/s3.h)
 *   storage.c    atomic publication of verified content (blob store + metadata)
 *   hashstate.c  sha256 whose state is saved with an upload session
 *   blobs.c      GET/HEAD/DELETE /v2/<name>/blobs/<digest>
 *   uploads.c    /v2/<name>/blobs/uploads/...
 *   sessions.c   upload bodies: counting, releasing a session's chunk and lock
 *   manifests.c  /v2/<name>/manifests/<reference>
 *   manifest_parse.c  validation of pushed manifests (pure; fuzzed)
 *   tags.c       /v2/<name>/tags/list and /v2/_catalog
 *   referrers.c  /v2/<name>/referrers/<digest>
 *   auth.c       htpasswd, permissions, Basic auth
 *   gc.c         registry_gc
 */
#ifndef STRATA_REGISTRY_SERVER_INTERNAL_H
#define STRATA_REGISTRY_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "oci/oci.h"
#include "registry/server/blobstore.h"
#include "registry/server/metadata.h"
#include "registry/server/server.h"
#include "util/util.h"

#define REG_MANIFEST_MAX (4u << 20)
#define REG_CHUNK_MIN_HINT (1u << 20)
/* how long a --storage-redirect URL is valid (seconds) */
#define REG_REDIRECT_EXPIRES 900u
#define REG_API_VERSION "registry/2.0"

/* ---- auth ---- */
enum reg_access { REG_PULL = 1, REG_PUSH = 2 };
struct reg_auth;
/* Load both files (auth_config may be NULL). @return 0 or -1. */
int reg_auth_load(const char *htpasswd, const char *auth_config, struct reg_auth **out,
		  struct strata_error **err);
void reg_auth_free(struct reg_auth *a);
/*
 * Check an Authorization header (may be NULL). @return 1 with *user set
 * (newly allocated; NULL for anonymous) when the credentials are valid or
 * absent (an empty user and password, "Basic Og==", is absent), 0 when
 * they are present but wrong.
 */
int reg_auth_login(struct reg_auth *a, const char *authorization, char **user);
/* Does user (NULL = anonymous) have access on repository name ("" = base/catalog checks)? */
bool reg_auth_allowed(const struct reg_auth *a, const char *user, const char *name, int access);
/* Can anonymous do anything at all? */
bool reg_auth_anonymous_any(const struct reg_auth *a);

/* ---- sha256 with an exportable state (hashstate.c) ---- */
#define REG_SHA256_STATE_MAX 160
struct reg_sha256 {
	unsigned long long ctx[16]; /* SHA256_CTX */
};
void reg_sha256_init(struct reg_sha256 *h);
void reg_sha256_update(struct reg_sha256 *h, const void *p, size_t n);
void reg_sha256_final(struct reg_sha256 *h, char hex[65]);
/* The state as bytes (at most REG_SHA256_STATE_MAX). @return its length */
size_t reg_sha256_export(const struct reg_sha256 *h, unsigned char out[REG_SHA256_STATE_MAX]);
/* @return 0, or -1 when p is not a state of this build's layout */
int reg_sha256_import(struct reg_sha256 *h, const void *p, size_t n);

/* ---- the server ---- */
struct registry {
	struct registry_server_config cfg;
	char *root;
	struct reg_blobstore *bs;       /* the bytes */
	struct reg_meta *meta;          /* what is visible */
	struct reg_auth *auth;          /* NULL: no authentication */
	pthread_mutex_t lock;           /* counters */
	unsigned uploads_active;
	unsigned inflight;              /* requests between first call and completion */
	struct MHD_Daemon *daemon;
	unsigned port;
	char *tls_cert_pem, *tls_key_pem;
};

/* ---- storage (storage.c) ---- */
/*
 * Open the blob store and the metadata of a registry root (created when
 * create; a missing root is STRATA_E_NOTFOUND otherwise). storage: NULL
 * (the blobs under ROOT) or an s3:// URL (then ROOT is only for SQLite
 * metadata). metadata: NULL (SQLite in ROOT/meta.db) or a postgres:// URL.
 */
int reg_storage_open(const char *root, const char *storage, const char *metadata, bool create,
		     struct reg_blobstore **bs, struct reg_meta **meta, struct strata_error **err);
/* Callback of reg_publish: more rows in the publishing transaction. */
typedef int (*reg_publish_fn)(struct reg_meta *m, const char *repo, void *ud, struct strata_error **err);
/*
 * Publish verified content: the upload (id, state) whose content has
 * digest and size is sealed, then in one write transaction published into
 * the blob store (or dropped when the blob is already there), recorded and,
 * when repo != NULL, linked into that repository; extra(meta, repo, ud)
 * runs in the same transaction (may be NULL). The upload is gone
 * afterwards on success. @return 0 or -1.
 */
int reg_publish(struct registry *r, const char *id, const char *state, const char *digest, int64_t size,
		const char *repo, reg_publish_fn extra, void *ud, struct strata_error **err);
/* gc.c: restore blobs an interrupted gc left in the trash (at server start) */
int reg_gc_recover(struct reg_blobstore *bs, struct reg_meta *meta, struct strata_error **err);

/* ---- manifest validation (manifest_parse.c) ---- */
enum { REG_MANIFEST_INVALID = -1, REG_MANIFEST_UNSUPPORTED = -2 };
struct reg_manifest {
	char *media_type;    /* from Content-Type, else the mediaType field */
	char *artifact_type; /* artifactType, else config.mediaType (image manifests); or NULL */
	char *subject;       /* subject digest or NULL */
	char *annotations;   /* compact JSON object or NULL */
	json_t *blobs;       /* digests of config and layers (foreign layers excluded) */
	json_t *children;    /* digests of index children */
};
/*
 * Validate a pushed manifest: JSON object, schemaVersion 2, a supported media
 * type (OCI/Docker manifest or index) agreeing with content_type (may be
 * NULL; parameters and "application/json" ignored), well-formed
 * descriptors. @return 0 with *out filled (reg_manifest_release), or
 * REG_MANIFEST_INVALID / REG_MANIFEST_UNSUPPORTED (schema 1) with *why set
 * (newly allocated) and *out released.
 */
int reg_manifest_parse(const char *data, size_t len, const char *content_type, struct reg_manifest *out,
		       char **why);
void reg_manifest_release(struct reg_manifest *m);

/* ---- requests ---- */
enum reg_route {
	R_NONE = 0,
	R_BASE,
	R_CATALOG,
	R_TAGS,
	R_BLOB,
	R_UPLOAD,  /* uploads/ (ref empty) or uploads/<uuid> */
	R_MANIFEST,
	R_REFERRERS,
};

enum reg_body {
	BODY_NONE = 0,
	BODY_DISCARD,
	BODY_FILE,   /* streamed to fd, hashed */
	BODY_BUF,    /* kept in memory, capped */
};

struct reg_req {
	struct registry *r;
	struct MHD_Connection *conn;
	const char *method;
	char *url;
	enum reg_route route;
	char *name;   /* repository */
	char *ref;    /* digest, tag, uuid */
	char *user;   /* authenticated user or NULL */
	struct timespec start;
	unsigned status;
	uint64_t bytes_out, bytes_in;
	bool responded;
	bool started;    /* first call done */
	bool checked;    /* routed, authenticated, validated */
	/* body */
	enum reg_body body;
	struct reg_blob_writer *w; /* the chunk being written (BODY_FILE) */
	char *temp_id;   /* upload id of a monolithic upload's content (not a session) */
	char *bs_state;  /* the blob store's state of the upload being written */
	bool locked;     /* holds the session lock of ref */
	uint64_t offset; /* where the chunk starts */
	struct strata_hash hash;  /* monolithic upload: sha256 or sha512 */
	bool hashing;
	struct reg_sha256 shash;  /* session: sha256 over [0, offset + written) */
	bool shashing;
	uint64_t written;
	int64_t range_start, range_end; /* PATCH Content-Range, -1 if none */
	bool body_failed;
	int body_errno;
	struct strata_buf buf;
	bool too_big;
	bool counted_upload;
	/*
	 * A request refused before its body was read (416, 401, 429...): the
	 * answer waits while up to REG_DISCARD_MAX bytes of the body are read
	 * and dropped. Answered at once, libmicrohttpd would close the socket
	 * over the unread body, the kernel would send RST, and clients still
	 * writing (Go's among them) would see "broken pipe" instead of it.
	 */
	bool may_defer;                /* during the first call of a request with a body */
	struct MHD_Response *deferred; /* the answer, queued on the final call */
	uint64_t discarded;
};

#define REG_DISCARD_MAX (16u << 20)

/* Response helpers: they queue, record status and free the response. */
enum MHD_Result reg_reply(struct reg_req *q, unsigned status, struct MHD_Response *resp);
enum MHD_Result reg_reply_empty(struct reg_req *q, unsigned status);
enum MHD_Result reg_reply_json(struct reg_req *q, unsigned status, json_t *body, const char *ctype);
/* {"errors":[{"code":..,"message":..,"detail":..}]} */
enum MHD_Result reg_reply_error(struct reg_req *q, unsigned status, const char *code, const char *fmt,
				...) __attribute__((format(printf, 4, 5)));
/*
 * 500 UNKNOWN, logging err (consumed); 507 when the storage is full
 * (ENOSPC, EDQUOT: BLOB_UPLOAD_INVALID on upload routes, else UNKNOWN).
 */
enum MHD_Result reg_reply_internal(struct reg_req *q, struct strata_error *err);
/*
 * s (may be NULL: "") with every byte outside printable ASCII, and '"' and
 * '\\' when quotes, written as \xNN: request paths and arguments are
 * client bytes, which must not break log lines or JSON (newly allocated).
 */
char *reg_escape(const char *s, bool quotes);
void reg_add_header(struct MHD_Response *resp, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *reg_header(struct reg_req *q, const char *name);
const char *reg_arg(struct reg_req *q, const char *name);
/* A response with no body but Content-Length: size (for HEAD). */
struct MHD_Response *reg_response_head(uint64_t size);
/* A response with rd's range as body (rd is consumed, also on failure: NULL). */
struct MHD_Response *reg_response_reader(struct reg_blob_reader *rd);
/* Parse a non-negative decimal; @return 0 or -1. */
int reg_parse_u64(const char *s, uint64_t *out);
/*
 * The same, for numbers a peer may make as large as it likes (Range
 * positions, Content-Length): any number of digits, saturated at
 * UINT64_MAX. @return 0, or -1 when s is not a number.
 */
int reg_parse_u64_sat(const char *s, uint64_t *out);
/* Link header for pagination: </v2/<path>?n=N&last=LAST>; rel="next" (LAST url-encoded). */
void reg_add_link(struct MHD_Response *resp, const char *path, uint64_t n, const char *last);

/* route handlers: called on the final call (body complete) */
enum MHD_Result reg_blob_handle(struct reg_req *q);
enum MHD_Result reg_upload_begin(struct reg_req *q);   /* first call: validate, open body */
enum MHD_Result reg_upload_handle(struct reg_req *q);
void reg_upload_done(struct reg_req *q);               /* completion: release the session */
enum MHD_Result reg_manifest_handle(struct reg_req *q);
enum MHD_Result reg_tags_handle(struct reg_req *q);
enum MHD_Result reg_catalog_handle(struct reg_req *q);
enum MHD_Result reg_referrers_handle(struct reg_req *q);

/* upload bodies (sessions.c) */
/* Count one more upload body; false when --max-uploads are in flight. */
bool reg_upload_count(struct reg_req *q);

/* libmicrohttpd callbacks (http.c) */
enum MHD_Result reg_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			    const char *version, const char *upload_data, size_t *upload_data_size,
			    void **con_cls);
void reg_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		   enum MHD_RequestTerminationCode toe);

/* access log */
void reg_access_log(struct reg_req *q);

#endif
