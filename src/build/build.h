/*
 * build.h — the build engine: `strata build` and `strata run`. The boundary
 * of the build module (the executor, executor.h, and the context scanner,
 * context.h, are its inner parts).
 *
 * docs/internals/build.md has the design. In short: the Dockerfile is parsed
 * and resolved by the dockerfile module; every needed stage runs step by step;
 * each layer step (RUN, COPY, ADD) has a content-based cache key and its
 * result is a snapshot directory (an overlay upper dir, overlay whiteouts
 * included); metadata steps change the image config. A hit reuses the
 * snapshot and runs nothing; a miss says why in one line.
 *
 * Storage, under the store root (`root`, an OCI image layout: store/store.h):
 *   blobs/sha256/...           layers (gzip), configs and manifests; tags in index.json
 *   build/snapshots/<hex>/     one layer extracted (overlay upper format), named
 *                              by its diff_id
 *   build/cache/keys/<key>     cache entry: {"layer": descriptor, "diff_id"}
 *   build/cache/inputs/<key>   what made it (for explained misses)
 *   build/cache/last/<stepid>  the key the previous build of a step made
 *   build/statcache/<hex>      the context's stat cache (per context path)
 *   build/downloads/<sha256>   ADD <url> downloads, named by content
 *   build/tmp/                 work dirs of running builds and runs (flock'ed)
 * Every file is written atomically; snapshots are renamed into place, so two
 * builds sharing a root at once are safe (the loser of a race discards its
 * copy). The image id is the config digest, as docker's.
 *
 * Mounts: build_run mounts overlays (COPY targets, stage roots for COPY
 * --from) through the sandbox (build/sandbox.h: sandbox_view_mount) in the
 * process's own private mount namespace, and unmounts them before
 * returning; callers call sandbox_require() first, while single-threaded,
 * so that nothing can outlive a killed process.
 *
 * Only cli/ prints: progress goes to the FILE given in the options.
 */
#ifndef STRATA_BUILD_H
#define STRATA_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "util/util.h"
#include "build/context.h"
#include "build/events.h"
#include "build/executor.h"
#include "build/layerlist.h"
#include "dockerfile/dockerfile.h"
#include "store/store.h"

/* ------------------------------------------------------------------------- */
/* .dockerignore as the context scanner's ignore rules                       */

/*
 * Fill *out with callbacks over ig (borrowed: must outlive *out). ig may be
 * NULL: nothing excluded.
 */
void build_ignore_from_dockerfile(struct build_ignore *out, const struct dockerfile_ignore *ig);

/* ------------------------------------------------------------------------- */
/* COPY/ADD source resolution (docker/BuildKit semantics)                    */

/*
 * One copy operation: src (relative to the source root, "" = the root) to
 * dest (absolute path in the image).
 *  contents  src is a directory: its contents go into dest (a directory)
 *  into_dir  src is a file to place at dest/<basename> (dest is a directory)
 *            else src goes exactly at dest (unless dest is an existing
 *            directory in the image: then inside it, as docker does)
 *  url       ADD of a URL: src is the URL
 *  heredoc   src is the content of an inline file (`COPY <<EOF /dst`)
 */
struct build_copy_item {
	char *src;
	char *dest;
	bool contents;
	bool into_dir;
	bool url;
	bool heredoc;
	bool archive;      /* ADD of a local tar archive: extract into dest */
	char *fetched;     /* url: the downloaded file, and its digest (set by the
			      engine before the plan's digest; NULL and str "" before) */
	struct oci_digest fetched_digest;
};

/*
 * The resolved plan of one COPY/ADD.
 *  files  the context entries read (indices into the source context, sorted),
 *         --exclude applied: the only files whose content matters
 */
struct build_copy_plan {
	struct build_copy_item *items;
	size_t nitems;
	size_t *files;
	size_t nfiles;
};
void build_copy_plan_free(struct build_copy_plan *p);

/*
 * Resolve the sources of a COPY/ADD step against a source tree (the context,
 * or a stage's rootfs scanned as a context). workdir is the WORKDIR in
 * effect ("/" when unset). is_add enables URLs and local archives.
 * Rules (BuildKit's): sources are relative to the source root (a leading
 * "/" or "./" is dropped), must not leave it ("forbidden path outside the
 * build context"); wildcards (* ? [) match within one path component; a
 * directory copies its contents; several sources (after expansion) need a
 * destination ending in "/"; a relative destination is under WORKDIR;
 * --parents keeps each source's path (up to a "/./" pivot); --exclude drops
 * matching paths.
 * @return 0 with *out, or -1 ("\"missing.txt\": not found",
 *   code STRATA_E_NOTFOUND; "...destination must be a directory and end
 *   with a /", STRATA_E_CONFIG). The caller prefixes the Dockerfile line.
 */
int build_copy_resolve(struct build_context *src, const struct dockerfile_step *step, const char *workdir,
		       bool is_add, struct build_copy_plan **out, struct strata_error **err);

/*
 * The digest of what a plan reads: sorted (path, type, mode, symlink target,
 * content digest) of every file in plan->files plus the items. Fills files
 * (may be NULL) with {path: per-file digest} for miss explanations.
 * Never mtimes or inode numbers (they only feed the stat cache).
 * @return 0 with hex (65 bytes) filled, or -1 (a file could not be read).
 */
int build_copy_digest(struct build_context *src, const struct build_copy_plan *p, char hex[65], json_t *files,
		      struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Cache keys and explained misses                                           */

/*
 * The inputs of one layer step, as a JSON object with these members (all
 * optional but "parent" and "insn"):
 *   parent   the parent key ("sha256:...")
 *   insn     the normalised instruction (string)
 *   args     {name: value} of the ARGs in scope that take part in the key
 *   env      ["K=V", ...] (RUN)
 *   config   {"workdir", "user", "shell", "network"} in effect (RUN, COPY)
 *   sources  the COPY/ADD source digest; files: {path: digest}
 *   mounts   the RUN --mount list (normalised) and the keys of `from` stages
 * The key is "sha256:" + sha256 of the compact, key-sorted, ASCII-escaped
 * JSON of the inputs with "v": BUILD_CACHE_KEY_VERSION added (an "v" already
 * in inputs is replaced). Every user's cache is keyed by these bytes: a
 * deliberate change of what a key covers or how it is serialised bumps the
 * version (docs/internals/cache.md, "Key version"); tests/unit/
 * test_build_cachekey.c and tests/e2e/t5400-cache-key-golden.sh pin keys.
 */
#define BUILD_CACHE_KEY_VERSION 2
void build_cache_key(const json_t *inputs, struct oci_digest *key);

/*
 * Why `now` misses when `prev` (the inputs the previous build of the same
 * step stored; may be NULL) does not match: "no cache entry", "parent step
 * missed" (when parent_missed), "instruction changed", "build arg VERSION
 * changed", "env PATH changed", "WORKDIR changed", "src/main.c changed",
 * "src/new.c added", "src/old.c removed", "sources changed". Newly allocated.
 */
char *build_cache_explain(const json_t *prev, const json_t *now, bool parent_missed);

/* ------------------------------------------------------------------------- */
/* Platforms (platform.c; docs/internals/build.md "Platforms")               */

/* linux/<the host's arch>, and linux/386 on amd64: no emulator needed. */
bool build_platform_native(const struct dockerfile_platform *p);
/* qemu's name for a GOARCH architecture ("arm64" -> "aarch64"), or NULL. */
const char *build_platform_qemu_name(const char *arch);
/*
 * Make sure programs of platform p can run here: natively, or through
 * qemu-user-static registered in binfmt_misc with the F (fix-binary) flag,
 * which works inside a build's root. When the entry is missing and strata
 * may register it (root, or rootless on Linux >= 6.7 in a binfmt_misc of its
 * own user namespace; never with STRATA_BINFMT_REGISTER=0) it mounts
 * binfmt_misc if needed and registers /usr/lib/binfmt.d/qemu-ARCH.conf's
 * line with F (as binfmt-support does; the entry stays: it is the kernel's).
 * Thread-safe; concurrent registrations by other processes are harmless.
 * *emulated (may be NULL): true when qemu runs it.
 * @return 0, or -1 (STRATA_E_CONFIG "platform linux/s390x cannot run here:
 *   <why>; <what to install or run>").
 */
int build_platform_ensure(const struct dockerfile_platform *p, bool *emulated, struct strata_error **err);
/* The platform of an image config (os, architecture, variant). @return 0, or
 * -1 when it names no architecture. */
int build_platform_of_config(const json_t *config, struct dockerfile_platform *out);
bool build_platform_equal(const struct dockerfile_platform *a, const struct dockerfile_platform *b);
/* Does an image of platform have do for want? os and arch equal, and want's
 * variant when it names one (linux/amd64 takes an amd64/v3 image). */
bool build_platform_satisfies(const struct dockerfile_platform *have, const struct dockerfile_platform *want);
/* The cache key's "platform": "amd64" for linux/amd64 (the keys made before
 * platforms were keyed whole), else "os/arch[/variant]". */
const char *build_platform_key(const struct dockerfile_platform *p, char *buf, size_t n);

/* ------------------------------------------------------------------------- */
/* The build                                                                 */

enum build_progress_mode { BUILD_PROGRESS_AUTO = 0, BUILD_PROGRESS_PLAIN, BUILD_PROGRESS_TTY, BUILD_PROGRESS_QUIET };

struct build_secret {
	const char *id;
	const char *path;
};

/*
 * What the build asks of the outside world, filled by the caller (cli/):
 * the build module never talks to a registry itself. Every member is
 * optional (NULL: the feature is off). ctx is passed back untouched.
 *
 * pull_image      a base image (FROM, COPY --from=<image>) is not in the
 *                 local store (for its platform), or pull_always is set: put
 *                 ref into the store (under that name) or fail with one line.
 *                 platform: "os/arch[/variant]" to select from an index, or
 *                 NULL (the default: the host's, and the build has no
 *                 --platform). Called once per reference, platform and build.
 * cache_lookup    the local index missed key: 1 with *desc (new reference:
 *                 mediaType, digest, size) and diff_id filled when a remote
 *                 cache source has the layer, 0 otherwise. The layer blob
 *                 may stay remote: fetch_layer is called only when a step
 *                 must run on top of it.
 * cache_explain   the MISS line's reason when the local index has nothing
 *                 to compare with (newly allocated, or NULL: "no cache entry").
 * cache_add       every layer step of the build (hit or miss), for the
 *                 inline cache and --cache-to (the fields are borrowed).
 * fetch_layer     bring the blob of a remote hit (key, desc) into the store.
 * copy_sources    COPY --from a stage or an image some of whose layers are
 *                 only in a registry: the sources digest recorded for the
 *                 source set sources_id (build_step_record.sources_id of an
 *                 earlier build), {"sources": hex, "files": {...}} (new
 *                 reference), or NULL: the layers are fetched and read.
 * image_config    the final config before it is serialised (inline cache);
 *                 layers: the final manifest's layers.
 * fetch_url       ADD <url>: stream the body of url into sink (the registry
 *                 client's transport: --tls-ca, insecure hosts, retries);
 *                 NULL: ADD of a URL is refused. Called outside the engine
 *                 lock, possibly from two stages at once.
 * bytes_down      bytes received from registries so far (the report's
 *                 "pulled" of a pull step is the difference around it).
 * cache_mount     a RUN with a cache mount is about to run (m->runs): the
 *                 remote cache imports the mount's exported content into
 *                 m->dir (lazily: only now); run or hit, it remembers the
 *                 mount for --cache-to. *line (newly allocated, or NULL) is
 *                 printed as the step's output.
 *                 Called without the engine lock, possibly from two stages.
 * image_created   the image's creation time when it is wholly another's (a
 *                 fully cached build from one cache source: that image's
 *                 time), else 0 (the build's own time).
 */
struct build_step_record {
	const char *key;
	int layer;              /* index in the stage's image layers, base included */
	int stage;
	int pos;                /* dockerfile_step.insn_index */
	int line;
	const char *insn;
	const json_t *inputs;
	const json_t *desc;
	const char *diff_id;
	bool remote_hit;
	const char *sources_id; /* COPY/ADD --from: the source set (step_copy.c), else NULL */
};

/*
 * A RUN's cache mount, told to the cache_mount hook just before the RUN
 * runs (runs = true), or when the RUN hit the cache (runs = false: nothing
 * is imported, the mount is only noted for --cache-to). Strings borrowed.
 */
struct build_cache_mount {
	const char *id;      /* id=, else the target: what names the directory */
	const char *target;
	const char *sharing; /* "shared", "private" or "locked" */
	long uid, gid;       /* -1: the default (0) */
	int mode;            /* -1: the default (0755) */
	const char *dir;     /* the mount's directory (exec_cache_mount_dir): DIR/data, DIR/lock */
	bool runs;           /* the RUN runs now (false: it hit the cache; the mount is only noted) */
};

struct build_hooks {
	void *ctx;
	bool pull_always;
	int (*pull_image)(void *ctx, const char *ref, const char *platform, struct strata_error **err);
	int (*cache_lookup)(void *ctx, const char *key, json_t **desc, struct oci_digest *diff_id);
	char *(*cache_explain)(void *ctx, int stage, int pos, const json_t *inputs, bool parent_missed);
	void (*cache_add)(void *ctx, const struct build_step_record *r);
	int (*fetch_layer)(void *ctx, const char *key, const json_t *desc, struct strata_error **err);
	json_t *(*copy_sources)(void *ctx, const char *sources_id);
	int (*image_config)(void *ctx, json_t *config, const json_t *layers, struct strata_error **err);
	int (*fetch_url)(void *ctx, const char *url, const struct strata_sink *sink, struct strata_error **err);
	time_t (*image_created)(void *ctx);
	uint64_t (*bytes_down)(void *ctx);
	/* may print one line to the build's output (out); failures are its own warnings */
	void (*cache_mount)(void *ctx, const struct build_cache_mount *m, char **line);
};

struct build_options {
	const char *root;                 /* the store root (required) */
	const char *context_dir;          /* required */
	const char *dockerfile;           /* path, "-" for stdin, NULL = <context>/Dockerfile */
	const char *const *tags;          /* -t values */
	size_t ntags;
	const struct dockerfile_buildargs *buildargs;
	const char *target;
	bool no_cache;
	const char *const *labels;        /* "K=V" from --label */
	size_t nlabels;
	enum exec_network network;        /* default for RUN (RUN --network overrides) */
	bool allow_insecure;              /* --security insecure: RUN --security=insecure is allowed */
	const struct build_secret *secrets;
	size_t nsecrets;
	enum build_progress_mode progress;
	FILE *out;                        /* progress output (stderr) */
	const struct build_listener *listener; /* the event stream (events.h); NULL: none */
	const struct build_hooks *hooks;  /* NULL: none */
	/*
	 * SOURCE_DATE_EPOCH (BuildKit's rewrite-timestamp): when set, every layer
	 * made by this build has its mtimes clamped to it, and the config's
	 * `created` and the history entries of this build are set to it, so the
	 * same tree built twice is the same image. It is part of the cache key of
	 * the steps that make layers (only when set: other keys are unchanged).
	 */
	bool source_date_epoch_set;
	int64_t source_date_epoch;
	/* --no-cache-filter: stage names (or indexes) whose steps all run (buildx's rule) */
	const char *const *no_cache_stages;
	size_t nno_cache_stages;
	/*
	 * --build-context NAME=VALUE (id = NAME, path = VALUE): "docker-image://REF"
	 * (or "local-image://DIGEST": an image already in the store, never pulled;
	 * the CLI makes it from oci-layout://) replaces the image NAME wherever one is used (FROM NAME, COPY --from=NAME,
	 * RUN --mount from=NAME); any other value is a directory COPY --from=NAME and
	 * RUN --mount from=NAME read instead.
	 */
	const struct build_secret *named_contexts;
	size_t nnamed_contexts;
	/* --ssh ID=SOCKET: agent sockets for RUN --mount=type=ssh (id "default" when none is named) */
	const struct build_secret *ssh;
	size_t nssh;
	/* --shm-size (0: 64 MiB) and --ulimit for RUN */
	uint64_t shm_size;
	const struct exec_rlimit *rlimits;
	size_t n_rlimits;
	/* --add-host: lines for RUN's /etc/hosts ("IP\tNAME\n"...), or NULL */
	const char *extra_hosts;
	/*
	 * --platform: the target platform (TARGETPLATFORM; NULL: the host's).
	 * Stages run on theirs (FROM --platform, else this one), foreign ones
	 * through qemu (build_platform_ensure); base images are selected for it.
	 */
	const struct dockerfile_platform *platform;
	/* --annotation K=V: the image manifest's annotations */
	const char *const *annotations;
	size_t nannotations;
};

struct build_result {
	struct oci_digest image_id;       /* the config digest */
	struct oci_digest manifest_digest; /* the image manifest's digest */
	size_t steps_cached, steps_run;
	bool index;                       /* a multi-platform build (cli/): image_id and
					     manifest_digest are the OCI index's digest */
};

/*
 * Build. On a failed step the error reads "Dockerfile:7: RUN make: exit
 * status 2" (code STRATA_E_BUILD) and nothing of that step is cached.
 * @return 0 with *res filled, or -1.
 */
int build_run(const struct build_options *o, struct build_result *res, struct strata_error **err);

/*
 * A multi-platform image: an OCI index of the n images res[i] (built with
 * --platform plats[i]; each manifest stored untagged), stored in the store at
 * root and tagged with every tag (none: untagged). @return 0 with *out the
 * index digest, or -1.
 */
int build_index_write(const char *root, const struct build_result *res, const struct dockerfile_platform *plats,
		      size_t n, const char *const *tags, size_t ntags, struct oci_digest *out, struct strata_error **err);

/*
 * Download url (http/https) into the store's download cache under root, as
 * ADD does, through hooks->fetch_url (the registry client's transport). *path: the file (newly
 * allocated, named by its sha256). @return 0 or -1 (STRATA_E_NOTFOUND).
 */
int build_fetch_url(const char *root, const struct build_hooks *hooks, const char *url, char **path, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Images (interim local records) and `strata run`                          */

struct build_image {
	struct oci_digest id;              /* the config digest (docker's image id) */
	struct oci_digest manifest_digest;
	json_t *config;                    /* the OCI image config */
	struct build_layers layers;        /* the manifest's layers with the config's diff_ids,
					    * bottom first; the snapshot of layer i is
					    * build/snapshots/<its diff_id hex> (extracted unless
					    * the blob is only in a registry) */
};
void build_image_free(struct build_image *img);

/* Look up an image in the store at root (tag, id, digest or id prefix, as
 * store_resolve) and extract its layers as snapshots when not yet there.
 * @return 0, or -1 (STRATA_E_NOTFOUND "image 'x' not found in the local store"). */
int build_image_lookup(const char *root, const char *ref, struct build_image **out, struct strata_error **err);
/* As build_image_lookup, selecting platform (NULL: the host's) when ref is an index. */
int build_image_lookup_platform(const char *root, const char *ref, const struct dockerfile_platform *platform,
				struct build_image **out, struct strata_error **err);

struct build_run_options {
	const char *const *env;     /* extra "K=V" (-e) */
	const char *user;           /* -u, overrides the image's */
	const char *workdir;        /* -w, overrides the image's */
	const char *const *cmd;     /* NULL-terminated, NULL/empty = the image's CMD */
	const char *entrypoint;     /* --entrypoint, NULL = the image's */
	enum exec_network network;
};

/* Run a container of img (throw-away upper). *status: the exit status
 * (128+N when killed by signal N). @return 0, or -1 when it could not start;
 * then *status is 127 (command not found) or 126 (not executable) when the
 * command itself was the problem, else left alone. */
int build_image_run(const char *root, const struct build_image *img, const struct build_run_options *o,
		    int *status, struct strata_error **err);

/* ------------------------------------------------------------------------- */
/* Garbage collection of build state (prune.c; docs/internals/build.md)      */

/*
 * Build state under ROOT/build: cache index entries (keys/, inputs/, last/),
 * snapshots (extracted layers), their last-use stamps (used/), work dirs
 * (tmp/), ADD downloads and stat caches; and ROOT/cache/run-mounts (RUN
 * --mount=type=cache). Everything but the blobs of tagged images can be
 * made again, so it is all reclaimable; the question is only what it costs.
 *
 * A "record" is what is used and removed together: one layer (by diff_id)
 * with its snapshot and every cache entry that produced it, or one cache
 * mount. Its last use is the newest of its stamp (touched on every cache hit
 * and extraction) and its files' mtimes.
 */
struct build_prune_options {
	bool dry_run;
	bool all;             /* remove the whole build cache (--build-cache) */
	int64_t keep_storage; /* >= 0: remove least recently used records until the rest fits */
	int64_t until;        /* > 0: remove records unused for at least this many seconds */
	time_t now;           /* 0: time(NULL) */
};
#define BUILD_PRUNE_OPTIONS_INIT { .keep_storage = -1 }

enum build_prune_kind { BUILD_PRUNE_ENTRY, BUILD_PRUNE_SNAPSHOT, BUILD_PRUNE_MOUNT, BUILD_PRUNE_OTHER };
struct build_prune_removed {
	enum build_prune_kind kind;
	char *id;     /* key / diff_id ("sha256:..."), mount id, or a path under ROOT */
	int64_t size; /* bytes on disk */
};
struct build_prune_result {
	struct store_prune_result blobs;     /* the store's sweep (cache entries kept as roots) */
	struct build_prune_removed *removed; /* build state removed (or that would be, dry run) */
	size_t n_removed;
	int64_t bytes;     /* build state reclaimed (blobs not included) */
	int64_t remaining; /* build state left (records' bytes, cache-only blobs included) */
	size_t kept_busy;  /* snapshots / cache mounts kept because a process uses them */
};
void build_prune_result_release(struct build_prune_result *r);

/*
 * Prune the store s (opened on root) and the build state under root, under
 * the store's exclusive gc lock (store_gc_begin: waits for builds, which
 * hold the store open for their whole run). Always removes dangling state:
 * cache entries whose layer blob is gone or that do not parse, inputs/ and
 * last/ files of removed keys, snapshots no image in index.json and no cache
 * entry needs, dead work dirs, interrupted extractions. Then, with o->all,
 * every record; with o->until / o->keep_storage, the records they select
 * (build_prune_select). Cache entries that stay are GC roots for their layer
 * blobs. Snapshots leased by a running `strata run` and cache mounts locked
 * by a running RUN are never removed. Nothing is changed when o->dry_run.
 * @return 0 with *out filled (release it), or -1.
 */
int build_prune(const char *root, struct store *s, const struct build_prune_options *o,
		struct build_prune_result *out, struct strata_error **err);

/* One record for build_prune_select. */
struct build_prune_item {
	time_t last_used;
	int64_t size;
	bool remove; /* in: already removed (dangling); out: selected */
};
/*
 * Select records: those unused for at least `until` seconds (until > 0),
 * then the least recently used until the others' sizes sum to at most
 * keep_storage (keep_storage >= 0). Items already marked remove stay so and
 * do not count. Pure; ties broken by position (earlier first).
 */
void build_prune_select(struct build_prune_item *v, size_t n, time_t now, int64_t until, int64_t keep_storage);

/*
 * "500MB", "10GB", "1.5g", "2048", "64KiB": a size in bytes; units are
 * binary (k = 1024, as docker's --keep-storage) and case-insensitive, with
 * or without B / iB. @return 0, or -1 (STRATA_E_USAGE naming the value).
 */
int build_prune_parse_size(const char *s, int64_t *out, struct strata_error **err);
/*
 * "24h", "90m", "1h30m", "3600s", "7d": a duration in seconds (units s, m,
 * h, d; each number followed by a unit). @return 0, or -1 (STRATA_E_USAGE).
 */
int build_prune_parse_duration(const char *s, int64_t *out, struct strata_error **err);
/*
 * One --filter value; only "until=DURATION" is known.
 * @return 0 with o->until set, or -1 (STRATA_E_USAGE naming the filter).
 */
int build_prune_parse_filter(const char *s, struct build_prune_options *o, struct strata_error **err);

#endif
