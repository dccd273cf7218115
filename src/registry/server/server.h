/*
 * registry/server.h — the boundary of strata's OCI distribution registry
 * (`strata registry serve` / `strata registry gc`).
 *
 * Storage layout under ROOT:
 *   ROOT/blobs/<alg>/<2 hex>/<hex>   every blob and manifest, once per digest
 *   ROOT/uploads/<uuid>              upload sessions in progress (temp files)
 *   ROOT/meta.db                     SQLite (WAL): repositories, tags,
 *                                    manifests, repository-blob links,
 *                                    manifest references, upload sessions
 * See docs/internals/registry-server.md for the design (publication order,
 * garbage collection while pushes are in flight).
 *
 * Nothing here prints: the access log is written, one line per request, to
 * config.log_fd; diagnostics go through util/log.h.
 */
#ifndef STRATA_REGISTRY_SERVER_H
#define STRATA_REGISTRY_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

enum registry_log_format {
	REGISTRY_LOG_TEXT = 0,
	REGISTRY_LOG_JSON,
	REGISTRY_LOG_NONE,
};

struct registry_server_config {
	const char *root;        /* storage root, created if missing (required) */
	const char *storage;     /* NULL: the blobs under root; "s3://BUCKET?endpoint=URL&region=R[&prefix=P]":
				    an S3 bucket (root then only holds SQLite metadata, if any) */
	bool storage_redirect;   /* blob GETs answered 307 to a presigned URL (S3 only) */
	const char *metadata;    /* NULL: SQLite in ROOT/meta.db; "postgres://USER@HOST:PORT/DB":
				    PostgreSQL, shared by any number of instances */
	const char *addr;        /* "127.0.0.1:5000", "[::1]:5000"; port 0 = any */
	const char *htpasswd;    /* bcrypt htpasswd file, or NULL (no auth) */
	const char *auth_config; /* per-repository permissions, or NULL */
	const char *tls_cert;    /* PEM files, both or neither */
	const char *tls_key;
	bool read_only;          /* refuse every write with 405 UNSUPPORTED */
	enum registry_log_format log_format;
	int log_fd;              /* access log destination (e.g. 2) */
	unsigned threads;        /* worker threads; 0 = number of CPUs (min 2; with storage: min 32) */
	unsigned max_connections;/* 0 = 512 */
	unsigned timeout;        /* idle connection timeout in seconds; 0 = 60 */
	unsigned max_uploads;    /* concurrent upload bodies before 429; 0 = 128 */
};

struct registry_server;

/*
 * Open the storage (creating it), load the auth files and start listening
 * with a thread pool. @return 0 with a new server in *out, or -1 (bad
 * address, unreadable auth files, port in use, storage errors...).
 */
int registry_server_start(const struct registry_server_config *cfg, struct registry_server **out,
			  struct strata_error **err);

/* The TCP port actually bound (useful with port 0). */
unsigned registry_server_port(const struct registry_server *s);

/*
 * Graceful stop: stop accepting connections, wait up to grace_ms for the
 * requests in flight to finish, then close everything and free s. Upload
 * sessions cut short stay resumable (their bytes are on disk); no blob is
 * ever visible half-written. NULL is a no-op.
 */
void registry_server_stop(struct registry_server *s, unsigned grace_ms);

struct registry_gc_options {
	const char *root;
	const char *storage;    /* as registry_server_config.storage */
	const char *metadata;   /* as registry_server_config.metadata */
	bool dry_run;
	int64_t grace_seconds;  /* never delete anything younger than this (default 3600) */
	int64_t upload_ttl;     /* upload sessions idle longer than this are removed (default 86400) */
};

struct registry_gc_stats {
	uint64_t manifests, blobs, links, uploads, bytes;
};

/*
 * Called for every item gc removes (or would remove with dry_run):
 * kind is "manifest", "link", "blob" or "upload"; repo is NULL for global
 * items; size is -1 when unknown.
 */
typedef void (*registry_gc_report_fn)(void *ud, const char *kind, const char *repo,
				      const char *what, int64_t size);

/*
 * Mark and sweep: keeps every manifest reachable from a tag (and its
 * referrers), everything they reference, and anything younger than the
 * grace period; deletes the rest. Safe while the server runs and pushes are
 * in flight. @return 0 with *stats filled, or -1.
 */
int registry_gc(const struct registry_gc_options *o, registry_gc_report_fn report, void *ud,
		struct registry_gc_stats *stats, struct strata_error **err);

struct registry_retention_options {
	const char *root;
	const char *storage;    /* as registry_server_config.storage */
	const char *metadata;   /* as registry_server_config.metadata */
	const char *repository; /* fnmatch(3) glob on repository names (required) */
	const char *match;      /* POSIX extended regex on tag names (required) */
	unsigned keep_last;     /* keep the N most recently set matching tags per repository */
	int64_t older_than;     /* and only remove tags set longer ago than this (seconds; 0: any age) */
	bool dry_run;
};

/* Called per matching tag: removed (or would be, with dry_run) or kept. */
typedef void (*registry_retention_fn)(void *ud, const char *repo, const char *tag, const char *digest,
				      int64_t updated, bool removed);

/*
 * Retention for CI tags: per repository matching o->repository, the tags
 * matching o->match, newest first (by when they were last set, then by
 * name), beyond the first keep_last and older than older_than are deleted
 * (the tags only: the manifests and blobs they freed go at the next gc).
 * A bad regex is STRATA_E_USAGE. @return 0 with *removed set, or -1.
 */
int registry_retention(const struct registry_retention_options *o, registry_retention_fn report, void *ud,
		       uint64_t *removed, struct strata_error **err);

/*
 * An age: "90" or "90s" seconds, "15m", "12h", "30d". @return 0 with
 * *out in seconds, or -1 (empty, negative, unknown unit, overflow).
 */
int registry_age_parse(const char *s, int64_t *out);

/*
 * A retention policy file (`serve --retention-policy`, `retention
 * --policy`): a list of rules, applied in order, each as registry_retention
 * with the same fields:
 *   - repository: 'ci/[a-z]*' # fnmatch(3) glob (required)
 *     match: '^pr-[0-9]+$'    # POSIX extended regex on tag names (required)
 *     keep-last: 10           # (required, 0..1000000)
 *     older-than: 7d          # SECONDS or N[smhd] (optional: any age)
 */
struct registry_retention_rule {
	char *repository;
	char *match;            /* checked to compile */
	unsigned keep_last;
	int64_t older_than;     /* seconds; 0: any age */
	int line;               /* where the rule starts in the file */
};

struct registry_retention_policy {
	char *file;
	struct registry_retention_rule *rules;
	size_t nrules;
};

/*
 * Check a policy document read into JSON, with the line of every node
 * (compose_yaml_to_json's *lines: RFC 6901 pointer -> line). Errors are
 * STRATA_E_CONFIG naming the place: "FILE:LINE: rule N: FIELD: what is
 * wrong" (an unknown key, a missing or mistyped field, a bad regex, a bad
 * age). An empty list is a valid policy that removes nothing.
 * @return 0 with a new policy in *out (free with
 * registry_retention_policy_free, which accepts NULL), or -1.
 */
int registry_retention_policy_parse(const json_t *doc, const json_t *lines, const char *file,
				    struct registry_retention_policy **out, struct strata_error **err);
void registry_retention_policy_free(struct registry_retention_policy *p);

/*
 * Apply pending schema migrations of a PostgreSQL metadata URL (the server
 * and gc also do it when they start). @return 0 with *version, or -1.
 */
int registry_migrate(const char *metadata, int *version, struct strata_error **err);

#endif
