/*
 * registry/client.h — talking to OCI / Docker v2 registries (distribution
 * spec v1.1): transport, authentication, manifest and blob operations, and
 * a bounded parallel transfer scheduler. Knows nothing of the local store:
 * downloads go into a `struct strata_sink`, uploads come from a file
 * descriptor.
 *
 * One `struct regclient` per process or operation. It holds a libcurl share
 * handle (connections, DNS, TLS sessions, shared between threads under
 * locks), the options, and per-registry state (scheme, credentials, Bearer
 * tokens cached per scope). Every function below is safe to call from
 * several threads at once on the same client.
 *
 * Errors: a registry's answer becomes one line "CODE: message" (code
 * STRATA_E_AUTH for 401/403, STRATA_E_NOTFOUND for unknown
 * manifests/blobs/names, STRATA_E_REGISTRY otherwise); callers wrap it with
 * the operation ("push 127.0.0.1:5000/app: UNAUTHORIZED: ...").
 *
 * Plain http and unverified TLS are used only for localhost, 127.0.0.0/8,
 * ::1 and hosts listed as insecure (opts.insecure, $STRATA_INSECURE_REGISTRIES,
 * the registries.conf file; see regclient_opts_load_env). For those, https is
 * tried first and http used when https fails, as docker does.
 */
#ifndef STRATA_REGISTRY_CLIENT_H
#define STRATA_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define REGCLIENT_MANIFEST_MAX (4u << 20) /* manifests read into memory */
#define REGCLIENT_ERRBODY_MAX (64u << 10) /* error bodies, tokens */

struct regclient_opts {
	char **insecure;          /* hosts ("host" or "host:port") allowed http / bad TLS */
	size_t n_insecure;
	char *ca_file;            /* extra CA bundle (PEM), or NULL */
	char *docker_config;      /* directory of config.json; NULL: $DOCKER_CONFIG, ~/.docker */
	long connect_timeout;     /* seconds; 0: 30 */
	long stall_timeout;       /* seconds below 1 KiB/s before a transfer is cut; 0: 60 */
	int max_retries;          /* per request, on 429/5xx/connection errors; <0: 0, 0: 4 */
	long retry_base_ms;       /* first backoff; 0: 200 */
	int parallel;             /* blob transfers at once; 0: 4 */
	size_t chunk_size;        /* > 0: chunked uploads (PATCH) of this size; 0: monolithic */
	int resume_attempts;      /* blob download resumptions; 0: 5 */
	bool verify_loopback;     /* loopback hosts get verified https like any other
				   * (set by $STRATA_TLS_VERIFY_LOOPBACK=1; for tests of TLS) */
};

/*
 * Add the insecure hosts of $STRATA_INSECURE_REGISTRIES (comma or space
 * separated) and of the file $STRATA_REGISTRIES_CONF, else
 * $XDG_CONFIG_HOME/strata/registries.conf (default ~/.config/strata/):
 * lines "insecure HOST", '#' comments. A missing file is fine.
 * $STRATA_TLS_VERIFY_LOOPBACK=1 sets verify_loopback.
 * @return 0, or -1 when the file is unreadable or has a bad line.
 */
int regclient_opts_load_env(struct regclient_opts *o, struct strata_error **err);
void regclient_opts_add_insecure(struct regclient_opts *o, const char *host);
/* Free what the opts own (insecure list, ca_file, docker_config). */
void regclient_opts_release(struct regclient_opts *o);

/*
 * The registry host a user or a docker config.json key names:
 * "https://index.docker.io/v1/" -> "docker.io", "http://host:5000/x" ->
 * "host:5000". Newly allocated.
 */
char *regclient_host_from_key(const char *key);

struct regclient;

/* Create a client (copies opts). @return 0 or -1. */
int regclient_new(const struct regclient_opts *opts, struct regclient **out, struct strata_error **err);
/* NULL is a no-op. */
void regclient_free(struct regclient *c);
/* The number of blob transfers to run at once (opts.parallel). */
int regclient_parallel(const struct regclient *c);

/*
 * Use these credentials for host instead of those of config.json (login).
 * NULL user clears them.
 */
void regclient_set_credentials(struct regclient *c, const char *host, const char *user, const char *secret);

/*
 * Bytes that crossed the wire (HTTP bodies, as libcurl counts them), since
 * the client was created; every request counts, retries and auth rounds
 * included. Take a snapshot before and after an operation for its cost.
 */
struct regclient_stats {
	uint64_t requests;
	uint64_t bytes_down;      /* response bodies */
	uint64_t bytes_up;        /* request bodies */
	uint64_t blob_bytes_down; /* of those down: blob GETs */
};
void regclient_stats_get(struct regclient *c, struct regclient_stats *out);

/* GET /v2/ with authentication. @return 0 when the registry accepts us. */
int regclient_ping(struct regclient *c, const char *host, struct strata_error **err);

/* A manifest as received. */
struct regclient_manifest {
	char *media_type; /* Content-Type (or the document's mediaType) */
	char *digest;     /* "sha256:..." — verified */
	char *data;       /* NULL after HEAD */
	size_t len;       /* body size (Content-Length after HEAD) */
};
void regclient_manifest_release(struct regclient_manifest *m);

/*
 * GET (head=false) or HEAD a manifest by tag or digest, with an Accept of
 * every manifest and index type. The body (at most REGCLIENT_MANIFEST_MAX)
 * is verified against the requested digest, or Docker-Content-Digest.
 * @return 0, or -1 (STRATA_E_NOTFOUND for an unknown tag/manifest/repository).
 */
int regclient_manifest_get(struct regclient *c, const char *host, const char *repo, const char *ref,
			   bool head, struct regclient_manifest *out, struct strata_error **err);

/*
 * PUT a manifest under ref (tag or digest). *digest_out (may be NULL) gets
 * the sha256 digest of data, checked against the registry's answer.
 */
int regclient_manifest_put(struct regclient *c, const char *host, const char *repo, const char *ref,
			   const char *media_type, const void *data, size_t len, char **digest_out,
			   struct strata_error **err);

/* Progress of one blob transfer; called from worker threads (must be thread-safe). */
struct regclient_progress {
	void (*fn)(void *ctx, const char *digest, uint64_t done, uint64_t total, const char *state);
	void *ctx;
};

/* HEAD a blob. @return 1 present (*size set when non-NULL), 0 absent, -1 error. */
int regclient_blob_exists(struct regclient *c, const char *host, const char *repo, const char *digest,
			  uint64_t *size, struct strata_error **err);

/*
 * GET a blob into sink, following redirects (the Authorization header is not
 * sent to another host), resuming with Range after a broken connection
 * (opts.resume_attempts). Bytes reach the sink as they arrive; they are
 * valid only when 0 is returned (digest and size — when size > 0 — match):
 * the sink's owner must commit only then and discard everything otherwise.
 */
int regclient_blob_get(struct regclient *c, const char *host, const char *repo, const char *digest,
		       uint64_t size, const struct strata_sink *sink, const struct regclient_progress *prog,
		       struct strata_error **err);

/*
 * As regclient_blob_get; verify=false skips the client's own hashing, for
 * sinks that hash what they receive and refuse to commit a mismatch (the
 * store's blob writer): the contract — nothing unverified is committed —
 * then rests on the sink. Size and resumption are handled as above. The
 * "done" progress event is then the caller's to send, after its commit.
 */
int regclient_blob_fetch(struct regclient *c, const char *host, const char *repo, const char *digest,
			 uint64_t size, const struct strata_sink *sink, bool verify,
			 const struct regclient_progress *prog, struct strata_error **err);

/*
 * Upload size bytes read from fd at offset 0 (pread; fd is not moved) as
 * blob digest. With mount_from (another repository of the same registry)
 * a cross-repo mount is tried first, falling back to an upload when the
 * registry answers 202. Monolithic (POST + PUT) unless opts.chunk_size, then
 * PATCH chunks of max(chunk_size, OCI-Chunk-Min-Length) following the
 * returned Location and Range. The whole upload is retried on transient errors.
 * @return 0 uploaded, 1 mounted, -1 error.
 */
int regclient_blob_put(struct regclient *c, const char *host, const char *repo, const char *digest,
		       int fd, uint64_t size, const char *mount_from, const struct regclient_progress *prog,
		       struct strata_error **err);

/*
 * Ask the registry to link blob digest from repository from_repo into repo
 * (cross-repo mount, POST ?mount=&from=) without uploading anything.
 * @return 1 mounted, 0 the registry declined (it opened an upload session
 * instead, which is left to expire), -1 error.
 */
int regclient_blob_mount(struct regclient *c, const char *host, const char *repo, const char *digest,
			 const char *from_repo, struct strata_error **err);

/* Every tag of repo (following Link pagination). *tags is a NULL-terminated array the caller frees with regclient_strv_free. */
int regclient_tags_list(struct regclient *c, const char *host, const char *repo, char ***tags, size_t *n,
			struct strata_error **err);
void regclient_strv_free(char **v);

/*
 * Pick from an index / manifest list the manifest for platform
 * "os/arch[/variant]" (NULL: the host's, e.g. linux/amd64). *digest_out and
 * *media_type_out (may be NULL) are newly allocated.
 * @return 0, or -1 (STRATA_E_NOTFOUND listing the platforms available).
 */
int regclient_index_select(const char *data, size_t len, const char *platform, char **digest_out,
			   char **media_type_out, struct strata_error **err);
/* The host's platform, "linux/amd64" or "linux/arm64/v8"... (static). */
const char *regclient_host_platform(void);

/*
 * Run job(ctx, i) for i in [0, n) on at most `parallel` threads (0: 4). The
 * first failure stops the jobs not yet started; its error is returned.
 */
int regclient_run_parallel(size_t n, int parallel, int (*job)(void *ctx, size_t i, struct strata_error **err),
			   void *ctx, struct strata_error **err);

/*
 * Credentials as docker keeps them (config.json in dir: NULL = $DOCKER_CONFIG
 * or ~/.docker): credHelpers[host], else credsStore, else auths[host]
 * (base64 "user:password"; docker.io is "https://index.docker.io/v1/").
 * Helpers are `docker-credential-NAME get|store|erase` over stdin/stdout.
 */
struct regclient_cred {
	char *user;
	char *secret;
	char *source; /* where they came from, or where none were found: "/root/.docker/config.json",
			 "credential helper docker-credential-pass", "... ($DOCKER_CONFIG)" */
};
void regclient_cred_release(struct regclient_cred *c);
/* @return 1 found, 0 none, -1 error (bad config.json, helper failure). */
int regclient_creds_lookup(const char *dir, const char *host, struct regclient_cred *out, struct strata_error **err);
/* Store (atomically, 0600, keeping every other field), via the helper when configured. */
int regclient_creds_store(const char *dir, const char *host, const char *user, const char *secret,
			  struct strata_error **err);
/* @return 1 removed, 0 there was nothing to remove, -1 error. */
int regclient_creds_erase(const char *dir, const char *host, struct strata_error **err);

/*
 * Where credentials come from, for `strata info`: a new JSON object
 * {"config": path of config.json, "exists": bool, "auths": [hosts],
 *  "credsStore": name or null, "credHelpers": {host: name}}; a config.json
 * that cannot be read gives "error": message instead of the lists.
 */
json_t *regclient_creds_describe(const char *dir);

#endif
