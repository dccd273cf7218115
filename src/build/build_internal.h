/*
 * build_internal.h — shared between the engine's files (not a boundary).
 */
#ifndef STRATA_BUILD_INTERNAL_H
#define STRATA_BUILD_INTERNAL_H

#include "build/build.h"

#include <pthread.h>
#include "store/store.h"

/* copy_apply.c: ownership and mode for copied files */
struct copy_attrs {
	uid_t uid;
	gid_t gid;
	int chmod;          /* -1 = keep the source's mode */
};

/*
 * Copy a resolved plan from the source tree at src_root into the rootfs
 * whose directory fd is rootfd (paths resolved with RESOLVE_IN_ROOT, so
 * symlinks in the image never lead out of it). heredocs: the step's.
 */
int copy_apply(int rootfd, const char *src_root, struct build_context *src, const struct build_copy_plan *p,
	       const struct dockerfile_step *st, const struct copy_attrs *a, struct strata_error **err);

/* Resolve --chown against the rootfs (its /etc/passwd and /etc/group). */
int copy_chown_resolve(int rootfd, const char *spec, uid_t *uid, gid_t *gid, struct strata_error **err);

/* fetch.c: ADD <url> into <root>/build/downloads (checksum: "sha256:<hex>" or
 * NULL) through hooks->fetch_url; no lock needed (the file is named by content) */
int fetch_url(const char *root, const struct build_hooks *hooks, const char *url, const char *checksum, char **path,
	      struct oci_digest *digest, struct strata_error **err);

/* cache.c: the cache index under <root>/build/cache */
/* the entry of key ({"layer": descriptor, "diff_id": ...}), or NULL */
json_t *cache_lookup(const char *root, const struct oci_digest *key);
int cache_put(const char *root, const struct oci_digest *key, const json_t *entry, const json_t *inputs,
	      struct strata_error **err);
json_t *cache_inputs_get(const char *root, const struct oci_digest *key);
/* Tighten the cache index of a store made by an older strata: 0700 dirs, 0600 files. */
void cache_make_private(const char *root);
/* the key the previous build of step stepid made: 0 with *key, or -1 (none, or unreadable) */
int cache_last_get(const char *root, const char *stepid, struct oci_digest *key);
int cache_last_set(const char *root, const char *stepid, const struct oci_digest *key, struct strata_error **err);

/* image.c: the final config + manifest into the store, tagged (untagged: kept alive) */
/*
 * annotations: the manifest's ("K=V" each; NULL/0 none); created: the time
 * to stamp when no tag names the same config (0: now; created_fixed: always,
 * --source-date-epoch), see image.c; mdigest: the manifest's digest (NULL: not wanted).
 * The config's rootfs.diff_ids are set from layers (whatever config said).
 */
int image_write(struct store *s, json_t *config, const struct build_layers *layers, const char *const *annotations,
		size_t nannotations,
		const char *const *tags, size_t ntags, time_t created, bool created_fixed, struct oci_digest *id,
		struct oci_digest *mdigest, struct strata_error **err);

/* layers.c: snapshots named by diff_id, layer blobs in the store */
char *snapshot_dir(const char *root, const char *diff_id);
/* upper -> gzip layer blob (*out: its descriptor and diff_id, release it) and
 * snapshots/<diff_id hex>; mtime_clamp >= 0: every mtime in the layer clamped
 * to it (SOURCE_DATE_EPOCH) */
int layer_commit(struct store *s, const char *root, const char *upper, int64_t mtime_clamp, struct build_layer *out,
		 struct strata_error **err);
/* the snapshot dirs of a chain of layers, bottom first, NULL-terminated (free each + array) */
char **snapshot_paths(const char *root, const struct build_layers *ls);
/* lowerdirs (top first, duplicates dropped) from snapshot dirs bottom first; free each + array */
char **snapshot_lowers(const char *const *bottom_first, size_t n, size_t *nout);
/* extract a stored layer as its snapshot unless there already */
int snapshot_ensure(struct store *s, const char *root, const struct build_layer *l, struct strata_error **err);
/*
 * Mark the snapshot of diff_id as used now: the mtime of build/used/<hex>
 * (created when missing). Best effort and cheap: one utimensat, no fsync
 * (it runs on every cache hit); garbage collection reads it for LRU.
 */
void snapshot_touch(const char *root, const char *diff_id);

/* prune_tree.c: a tree's disk usage and its removal, never following symlinks
 * nor crossing into other file systems (docs/internals/build.md) */
int prune_tree_usage(const char *path, int64_t *bytes, struct strata_error **err);
int prune_tree_remove(const char *path, struct strata_error **err);

#endif

/* ---- progress.c: the event stream (events.h) and its terminal view ---- */
struct progress_vertex {
	char *name;
	double t0;                       /* when it started */
	bool running;
};
struct progress {
	FILE *out;
	enum build_progress_mode mode;   /* resolved: PLAIN, TTY or QUIET */
	struct progress_vertex *v;       /* vertex n at [n - 1] */
	size_t nv;
	double origin;                   /* when the stream began */
	struct build_listener listener;  /* event NULL: none */
	bool tty_pending;                /* a live line is on screen (tty) */
	bool ticking, stop;              /* the tty's elapsed-time ticker */
	pthread_t tick;
	pthread_cond_t wake;
	pthread_mutex_t lock;            /* stages may print from several threads */
};
double progress_now(void);
void progress_init(struct progress *pr, FILE *out, enum build_progress_mode mode, const struct build_listener *l);
void progress_release(struct progress *pr);
int progress_start(struct progress *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a Dockerfile step: stage index and line go to the event */
int progress_start_step(struct progress *pr, int stage, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void progress_line(struct progress *pr, int n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void progress_miss(struct progress *pr, int n, const char *why);
/* one line a RUN printed (stream 1 stdout, 2 stderr) */
void progress_output(struct progress *pr, int n, int stream, const char *line, size_t len);
/* bytes vertex n moved (digest: the blob, or NULL) */
void progress_bytes(struct progress *pr, int n, const char *digest, uint64_t pulled, uint64_t pushed);
/* the layer vertex n made or reused */
void progress_layer(struct progress *pr, int n, const char *digest, uint64_t size);
void progress_done(struct progress *pr, int n);
/* note: NULL, or a detail ("linked layer reused") */
void progress_cached(struct progress *pr, int n, const char *note);
void progress_error(struct progress *pr, int n, const char *msg);

/* ---- the engine's state ---- */

/* a layer only in a registry: a remote cache hit (key: its step's cache key)
 * or a layer of a lazily pulled base (key.str empty) */
struct engine_remote {
	struct build_layer layer;
	struct oci_digest key;
};

/* the read-only view of an image, mounted once per build */
struct engine_view {
	struct oci_digest id;   /* the image's config digest */
	char *rootfs;           /* the mount point (owned) */
};
struct stage_state {
	bool built;
	json_t *image;          /* the OCI image config being built (its rootfs is set
				 * from layers when the image is written) */
	struct build_layers layers; /* bottom first; their diff_ids name the snapshots */
	struct oci_digest key;  /* the key of the last layer step (or the base's) */
	bool missed;            /* a layer step of this stage (or its base) missed */
	bool shell_set;         /* SHELL appeared in this stage (else the base's Shell applies) */
	char **env;             /* the final env ("K=V", NULL-terminated) for child stages */
	char *rootfs;           /* mounted read-only view for COPY --from / mounts, or NULL */
	struct build_context *tree;
};

struct engine {
	const struct build_options *o;
	const char *root;
	struct store *store;
	struct dockerfile *df;
	struct dockerfile_build *b;
	struct dockerfile_ignore *ig;
	struct build_ignore bign;
	struct build_context *ctx;
	char *context_dir;      /* absolute */
	char *dfname;           /* "Dockerfile" as used in messages */
	char *dfid;             /* identity of this Dockerfile for cache/last */
	struct stage_state *st;
	char *tmp;              /* <root>/build/tmp/build-XXXXXX */
	int lockfd;             /* flock on <tmp>/lock while the build lives */
	char *empty;            /* an empty dir (bottom lower) */
	char *run_dir, *cache_root, *snapdir;
	char **mounted;
	size_t nmounted;
	struct progress pr;
	size_t cached, run, tmpseq;
	/* stages without a dependency between them run in parallel threads:
	 * lock guards the engine's shared lists and counters, the hooks'
	 * session and lazy stage views; the contexts' digests have their own
	 * lock (build_context_digest), so hashing runs outside this one */
	pthread_mutex_t lock;
	struct build_context **trees; /* scanned image roots (COPY --from=<image>) */
	size_t ntrees;
	struct build_image **images;  /* bases and --from images looked up */
	size_t nimages;
	struct engine_view *views;    /* images' mounted read-only views (engine_image_view) */
	size_t nviews;
	struct engine_remote *remote; /* layers not extracted yet, only in a registry,
				       * one per diff_id; under xlock, not lock */
	size_t nremote;
	/* extraction (and fetch) of one snapshot at a time per id, without
	 * the engine lock: ids in progress, waited on with xcond (engine.c).
	 * Lock order: lock, then xlock; a thread that owns an id takes neither. */
	pthread_mutex_t xlock;
	pthread_cond_t xcond;
	json_t *extracting;
	char **pulled;                /* references pulled by this build (hooks->pull_image) */
	size_t npulled;
	char *ctx_mask;               /* the context's .dockerignore whiteouts (step_run.c), made once */
	bool ctx_mask_done;
};

/* the platform stage si runs on: FROM --platform, else its parent stage's,
 * else the target platform (platform.c) */
void engine_stage_platform(const struct engine *e, size_t si, struct dockerfile_platform *out);

/* engine.c helpers used by the step files (and imagerun.c) */
void engine_clean_stale_tmp(const char *tmproot);
int engine_work_dir(const char *tmproot, const char *prefix, char **out, int *lockfd, struct strata_error **err);
char *engine_snapshot_path(struct engine *e, const char *id);
/* extract the snapshot id when it is still only in a registry (a lazy base
 * layer, a remote cache hit): fetched through the hooks; 0 when it is local */
int engine_snapshot_fetch(struct engine *e, const char *id, struct strata_error **err);
/* an image of the store (pulled through the hooks when missing; --pull
 * refreshes it once per build), kept in e->images until teardown; thread-safe */
struct build_image *engine_find_image(struct engine *e, const char *ref, struct strata_error **err);
/* a read-only view of an image, mounted once per build (kept until teardown);
 * *out (optional) and *rootfs stay valid until teardown; thread-safe */
/* --build-context NAME as a directory (absolute path as given), or NULL */
const char *engine_named_dir(const struct engine *e, const char *name);
int engine_image_view(struct engine *e, const char *ref, struct build_image **out, const char **rootfs,
		      struct strata_error **err);
/* the host path of rel (a path inside the tree at root, absolute or not)
 * resolved with the tree's own symlinks kept inside it; *out: a path under
 * root without symlinks. STRATA_E_NOTFOUND when it does not exist. */
int engine_path_in_root(const char *root, const char *rel, char **out, struct strata_error **err);
/* make sure every snapshot of the chain is extracted (fetching the layers
 * that are only in a registry: remote cache hits, lazily pulled bases) */
int engine_snapshots_fetch(struct engine *e, const struct build_layers *chain, struct strata_error **err);
/* true when some layer of the chain is only in a registry (not extracted) */
bool engine_chain_remote(struct engine *e, const struct build_layers *chain);
int engine_mount_overlay(struct engine *e, const struct build_layers *chain, const char *upper, const char *work,
			 const char *target, struct strata_error **err);
int engine_stage_tree(struct engine *e, size_t stage, struct build_context **tree, const char **rootfs,
		      struct strata_error **err);
char *engine_tmpdir(struct engine *e, const char *prefix, struct strata_error **err);
/* keep a scanned source tree until teardown (e->trees); thread-safe */
void engine_keep_tree(struct engine *e, struct build_context *tree);
void engine_umount(struct engine *e, const char *target);

/* step_run.c / step_copy.c: execute a missed layer step into upper (COPY/ADD
 * --link: straight into the empty upper; inputs hold --chown's resolved ids) */
/* A RUN that hit the cache: its cache mounts to the cache_mount hook (runs = false), for --cache-to. */
void step_run_note_mounts(struct engine *e, const struct dockerfile_step *st, int vertex);
int step_run_exec(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, int vertex,
		  const char *upper, const char *work, struct strata_error **err);
int step_run_inputs(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, json_t *inputs,
		    struct strata_error **err);
/*
 * COPY/ADD inputs (insn, sources, files, config) and the plan. sources_id:
 * the id of a --from source set (str "" for the context or URLs).
 * lazy: when that source has layers only in a registry and the hooks know
 * the digest recorded for the set, the inputs take it and plan and tree stay
 * NULL (nothing fetched); a step that must run then calls again with lazy
 * false. Called without the engine lock: it takes it only around the shared
 * lists and the hooks' session, never while it hashes the source tree
 * (build_context_digest is thread-safe) or downloads a URL.
 */
int step_copy_prepare(struct engine *e, struct stage_state *s, const struct dockerfile_step *st, json_t *inputs,
		      bool lazy, struct oci_digest *sources_id, struct build_copy_plan **plan, struct build_context **tree,
		      const char **tree_root, struct strata_error **err);
int step_copy_exec(struct engine *e, struct stage_state *s, const struct dockerfile_step *st,
		   const json_t *inputs, const struct build_copy_plan *plan, struct build_context *tree,
		   const char *tree_root, const char *upper, const char *work, struct strata_error **err);
